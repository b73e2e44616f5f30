#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/pipeline_config.hpp"
#include "core/result.hpp"

namespace sluice {

/// What `sluice dlq replay FILE --into PIPELINE.json --stage ID` asks for.
struct replay_request {
  std::string dlq_path;                   ///< FILE, as the new source's `path` param
  std::string stage;                      ///< ID: the stage the records go back into
  std::optional<std::string> only_stage;  ///< only dead letters of this stage (nullopt: all)
  std::optional<std::string> only_class;  ///< only dead letters of this error class
};

/// A pipeline config rewritten for a replay.
struct replay_config {
  nlohmann::ordered_json config;
  std::string source_id; ///< the id of the added source.dlq stage (first in `stages`)
  /// Per stage of `config`: its index in the original `stages`; -1 for the
  /// added source. Maps diagnostics back to the file the user wrote.
  std::vector<int> original_index;
  /// The sink.file stages switched to `"mode": "append"` (they had no mode).
  std::vector<std::string> appending;
};

/// The replay surgery, on the config JSON (before `--set` and `${ENV}`):
/// 1. a `source.dlq` stage reading `req.dlq_path` (filtered by only_stage /
///    only_class) is added first, with the `on_error` of stage ID (a bad line
///    in the dead-letter file is handled like a record failing in ID);
/// 2. ID's `inputs` become that source alone;
/// 3. every stage not reachable from the new source is removed (the original
///    sources and everything upstream of ID: nothing re-reads the original
///    input, which would duplicate records), and the remaining stages'
///    `inputs` lose their references to removed stages (fan-in);
/// 4. every remaining `sink.file` without a `mode` gets `"mode": "append"`, so
///    the replayed records join the first run's output instead of replacing
///    it (listed in `appending`).
/// Everything else (top-level keys, stage keys, key order) stays as written.
///
/// Errors: `invalid_config` when the config is not shaped like a pipeline
/// (not an object, no `stages` list): let the loader report it with JSON
/// paths; `runtime_error` when the request cannot be honoured: ID unknown
/// (with a "did you mean"), or ID a source.
result<replay_config> make_replay_config(const nlohmann::ordered_json& pipeline,
                                         const replay_request& req);

/// A diagnostic's JSON path in the replay config ("/stages/1/params/when")
/// as a path in the original file ("/stages/3/params/when"); paths in the
/// added source read "(replay source 'dlq_replay')/params/path".
std::string original_json_path(const replay_config& rc, const std::string& path);

/// Refuses a replay that would dead-letter into the file being replayed:
/// `dlq_file` is the pipeline's own dead-letter file (after `--set`). The
/// run truncates that file when it starts, so the records would be lost.
status check_replay_file(const pipeline_config& cfg, const std::string& dlq_file);

} // namespace sluice
