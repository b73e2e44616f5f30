#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/pipeline_config.hpp"
#include "core/diagnostic.hpp"
#include "graph/pipeline_graph.hpp"

namespace sluice {

struct stage_kind;

/// A pipeline config that passed validation, with what the runtime needs to
/// start it. Built only by `load_pipeline`; not movable (the graph refers to
/// the stages).
struct pipeline_plan {
  pipeline_config config;
  std::vector<const stage_kind*> kinds;         ///< per stage
  std::vector<std::vector<std::string>> ports;  ///< per stage: named outputs
  std::vector<bool> is_sink;                    ///< per stage
  std::unique_ptr<pipeline_graph> graph;
  std::vector<stage_index> order;               ///< topological order
  /// Per source stage: the names of the files it reads, by file index (for
  /// rendering record origins as "data/orders.csv:12").
  std::vector<std::vector<std::string>> source_files;
  /// Stage ids and source files as one table for rendering trails; every
  /// stage_spec::names points to it.
  std::shared_ptr<const trail_names> names;

  pipeline_plan() = default;
  pipeline_plan(const pipeline_plan&) = delete;
  pipeline_plan& operator=(const pipeline_plan&) = delete;

  const stage_spec& stage(stage_index i) const { return config.stages[i]; }
};

/// Options of `sluice run/validate/graph` that change the config.
struct load_options {
  /// `--set` overrides, "path=value": stages.<id>.params.when=.amount > 10,
  /// defaults.batch_size=500. The value is JSON if it parses as JSON, else a
  /// string.
  std::vector<std::string> overrides;
};

/// Reads a pipeline config file, applies `--set` overrides, substitutes
/// `${VAR}` / `${VAR:-default}` in every string, parses it and validates it
/// completely: every problem goes to `diags` with its JSON path; returns
/// nullptr if there was any error. Validation builds every stage's operator
/// once (compiling expressions and schemas) and checks the graph (unknown or
/// duplicate ids, unknown ports, cycles, stages from which no sink is
/// reachable, route outputs nobody consumes, `on_error: dlq` without a
/// dead-letter path, parallelism on kinds that can't have replicas).
std::unique_ptr<pipeline_plan> load_pipeline(const std::string& file,
                                             const load_options& opts,
                                             diagnostics& diags);

/// The same, from text; `file` names it in messages and `base_dir` is where
/// relative paths resolve.
std::unique_ptr<pipeline_plan> load_pipeline_text(const std::string& text,
                                                  const std::string& file,
                                                  const std::string& base_dir,
                                                  const load_options& opts,
                                                  diagnostics& diags);

} // namespace sluice
