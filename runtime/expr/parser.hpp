#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/result.hpp"
#include "expr/node.hpp"

namespace sluice::expr {

/// How deep an expression may nest: parentheses, arrays, calls, prefix
/// operators and operators applied to other operators' results each add a
/// level. Keeps a pathological config from exhausting the stack when it is
/// parsed or evaluated.
constexpr uint32_t max_depth = 256;

/// Parses `text` into a compiled tree: resolves function names, checks
/// arities, compiles regexes and folds constant arrays. Errors are
/// errc::invalid_config with "column N: ..." messages. Never throws for bad
/// input. `names` resolve `lineage.*`; without them `lineage.*` is an error.
result<std::shared_ptr<const node>> parse(std::string_view text,
                                          std::shared_ptr<const trail_names> names = nullptr);

} // namespace sluice::expr
