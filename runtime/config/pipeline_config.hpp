#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/fault.hpp"
#include "core/record.hpp"
#include "limits/rate_limit.hpp"
#include "ops/chaos.hpp"

namespace sluice {

struct trail_names; // core/trail_names.hpp

/// What a stage does with a record that fails in it (`on_error`).
enum class error_policy : uint8_t {
  fail, ///< stop the run with a message naming stage, record and error (default)
  drop, ///< count it and go on
  dlq,  ///< write it to the pipeline's dead-letter file with the reason
};

const char* to_string(error_policy p);

/// Batching and flow control of one stage's outputs and inputs.
struct flow_settings {
  uint32_t batch_size = 1024; ///< records per batch the stage sends
  uint32_t linger_ms = 50;    ///< longest wait before a partial batch is sent
  uint32_t window = 8;        ///< batches in flight per input edge
};

/// The top-level `metrics` section (docs/observability.md).
struct metrics_settings {
  uint32_t interval_ms = 1000; ///< how often the collector samples every actor
  uint32_t history = 60;       ///< samples of throughput kept per stage (sparklines)
  bool console = true;         ///< open the console port for `sluice top`
  /// Where the console listens; empty: 127.0.0.1:7464, or a free port if
  /// that one is taken (the run announces it).
  std::string console_addr;
  std::string http_addr;       ///< the HTTP endpoint's address; empty: off
};

/// The top-level `lineage` section (docs/lineage.md).
struct lineage_settings {
  enum class mode_t : uint8_t { off, full, sampled };
  mode_t mode = mode_t::off;   ///< off unless the config has a `lineage` section
  double sample_rate = 0.01;   ///< sampled: the share of records traced
  std::string path;            ///< the SQLite store (resolved against the config's folder)
  uint32_t max_runs = 0;       ///< retention: runs kept (0: all)
  uint32_t max_age_days = 0;   ///< retention: days kept (0: no limit)

  bool on() const { return mode != mode_t::off; }
  double rate() const { return mode == mode_t::full ? 1.0 : sample_rate; }
};

/// An upstream reference in `inputs`: "check" or "split.food".
struct input_ref {
  std::string stage;
  std::string port; ///< empty: the stage's only output
  std::string str() const { return port.empty() ? stage : stage + "." + port; }
};

/// One entry of `stages`, after parsing (types checked, defaults applied).
struct stage_spec {
  std::string id;
  std::string type;
  stage_index index = 0;       ///< position in `stages`
  std::string json_path;       ///< "/stages/3", for diagnostics
  std::vector<input_ref> inputs;
  nlohmann::json params = nlohmann::json::object();
  nlohmann::ordered_json params_ordered; ///< the same, keys in the order written
  error_policy on_error = error_policy::fail;
  flow_settings flow;
  uint32_t parallelism = 1;
  std::string partition_by;    ///< expression text; empty: round-robin
  std::string base_dir;        ///< directory relative paths in params resolve against
  bool streaming = false;      ///< the run has an unbounded source (stdin, an
                               ///< endless generator): sinks write in place and
                               ///< flush every batch instead of renaming at the end
  // -- fault tolerance (docs/fault-tolerance.md) --
  retry_settings retry;              ///< `retry`, key by key over `defaults.retry`
  circuit_settings circuit;          ///< `circuit_breaker`, likewise
  supervision_settings supervision;  ///< `supervision`, likewise
  chaos_settings chaos;              ///< the stage's `chaos` key, or a `chaos`
                                     ///< stage's params; never on a source
  // -- external calls (docs/rate-limits.md) --
  std::vector<std::string> rate_limits; ///< `rate_limit`: resource names, sorted, unique
  std::string cost;                     ///< `cost`: expression text; empty: 1 per call
  /// The pipeline's stage ids and source file names, for operators that
  /// render or read records' lineage (`include_lineage`, `lineage.*`). Set
  /// by the loader before any operator is built, the same table for every
  /// stage; null for a spec built by hand (unit tests).
  std::shared_ptr<const trail_names> names;
};

/// The whole pipeline config, parsed.
struct pipeline_config {
  std::string name;
  std::string file;            ///< the config file it came from
  std::string base_dir;        ///< the config file's directory
  flow_settings defaults;
  retry_settings retry_defaults;            ///< `defaults.retry` over the built-ins
  circuit_settings circuit_defaults;        ///< `defaults.circuit_breaker`
  supervision_settings supervision_defaults; ///< `defaults.supervision`
  std::string dlq_path;        ///< empty: no dead-letter file configured
  metrics_settings metrics;
  lineage_settings lineage;
  /// `resources.rate_limits`, in the order written (docs/rate-limits.md).
  std::vector<rate_limit_settings> rate_limits;
  std::vector<stage_spec> stages;

  const stage_spec* find(const std::string& id) const;
  const rate_limit_settings* find_rate_limit(const std::string& resource) const;
};

/// Resolves `path` against `base_dir` unless it is absolute or "-".
std::string resolve_path(const std::string& base_dir, const std::string& path);

} // namespace sluice
