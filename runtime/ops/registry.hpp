#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/pipeline_config.hpp"
#include "config/params.hpp"
#include "core/diagnostic.hpp"
#include "io/source_reader.hpp"
#include "ops/operator.hpp"

namespace sluice {

enum class stage_role : uint8_t { source, transform, sink };

/// What the registry knows about one stage kind (`"type": "map"`).
///
/// Adding a kind: write ops/<kind>.{hpp,cpp} with a `stage_kind describe_<kind>()`,
/// add one line to registry.cpp's table, a section to docs/stages.md and tests
/// under tests/runtime/ops/. Nothing else changes.
struct stage_kind {
  std::string name;
  stage_role role = stage_role::transform;
  std::string summary; ///< one line, for `sluice validate --list-kinds` and docs

  /// Parses and validates `params` (every problem to `p.diags()` with its JSON
  /// path) and builds one operator instance. Called once at validation and
  /// once per replica at start; must be deterministic. Returns nullptr when
  /// the params have errors. The registry's copy first hands `p` the
  /// pipeline's names (`stage_spec::names`), for `lineage.*` in expressions.
  std::function<op_ptr(const stage_spec&, params_reader& p)> make_op;

  /// Sources only: builds the reader for the source driver (same rules).
  std::function<reader_ptr(const stage_spec&, params_reader& p)> make_reader;

  /// Names of the output ports (empty: one unnamed output). A route's are
  /// its route names plus its default; downstream stages name them as
  /// "stage.port". Called only on params that make_op accepted.
  std::function<std::vector<std::string>(const stage_spec&)> outputs;

  /// Whether replicas (parallelism > 1) are allowed, and for stateful kinds,
  /// the `partition_by` expression to use when the user gives none (e.g. the
  /// group_by keys), so that a key always meets the same replica.
  bool allows_parallelism = true;
  std::function<std::string(const stage_spec&)> default_partition;

  /// Whether the kind calls something outside the process (its make_op
  /// returns a `calling_op`, ops/call.hpp): only such stages may name
  /// `rate_limit` and `cost` (docs/rate-limits.md).
  bool calls = false;
};

/// All stage kinds, by name.
class stage_registry {
public:
  static const stage_registry& instance();

  const stage_kind* find(const std::string& name) const;
  const std::vector<stage_kind>& kinds() const noexcept { return kinds_; }

private:
  stage_registry();
  std::vector<stage_kind> kinds_;
};

} // namespace sluice
