#pragma once

#include "core/record.hpp"
#include "core/result.hpp"
#include "expr/node.hpp"
#include "expr/value.hpp"

namespace sluice::expr {

/// Evaluates the subtree `n` against `rec` by walking it. Pure: reads the
/// tree and the record, touches nothing else, never throws for bad data
/// (type errors come back as errc::type_error).
result<value> eval_node(const node& n, const record& rec);

} // namespace sluice::expr
