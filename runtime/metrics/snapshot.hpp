#pragma once

// The picture of a running pipeline that every observer reads: `sluice top`
// (over the console port), the HTTP endpoint (/metrics, /api/v1/...) and
// `sluice top --once --json`. Built by the metrics collector actor
// (actors/metrics_collector) from what each stage replica reports when it
// is sampled; plain values here, no actors (docs/observability.md).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/histogram.hpp"

namespace sluice {

/// Counters of one replica (or, summed, one stage) since the run started.
struct stage_counters {
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  uint64_t batches_in = 0;
  uint64_t batches_out = 0;
  uint64_t filtered = 0;
  uint64_t written = 0;      ///< sinks: records written
  uint64_t folded = 0;       ///< aggregates, dedupe: records folded into state
  uint64_t dropped = 0;
  uint64_t dead_lettered = 0;
  uint64_t failed = 0;       ///< records that failed the run (on_error: fail)
  uint64_t errors = 0;       ///< failed attempts, transient or not (each retry counts)
  uint64_t retries = 0;
  uint64_t restarts = 0;
  uint64_t duplicates = 0;   ///< resent batches discarded
  uint64_t breaker_opened = 0;
  uint64_t busy_us = 0;      ///< time spent processing
  // Calling stages (http, classify; docs/rate-limits.md); 0 for others.
  uint64_t calls = 0;        ///< calls answered, each attempt counts
  uint64_t call_failures = 0; ///< calls that failed as a whole
  uint64_t permit_wait_us = 0; ///< time calls waited for rate-limit permits
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  double cost_usd = 0;       ///< estimated from the stage's prices

  void add(const stage_counters& o);
};

/// A quantile summary of a latency histogram, in milliseconds.
struct latency_summary {
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  uint64_t count = 0; ///< observations in the window it summarises
};

/// One replica of a stage (or a source's reader), as sampled.
struct replica_view {
  uint32_t replica = 0;
  /// "starting", "running", "backpressured" (every output edge is out of
  /// credit), "failing" (errors in the last interval, or the circuit
  /// breaker is open), "restarting", "done", "failed".
  std::string state = "starting";
  stage_counters totals;
  double in_per_s = 0;       ///< over the last interval
  double out_per_s = 0;
  double utilization = 0;    ///< busy share of the last interval, 0..1
  uint64_t mailbox = 0;      ///< messages waiting in the actor's mailbox
  uint32_t in_flight = 0;    ///< batches sent and not yet acknowledged, all out edges
  uint32_t window = 0;       ///< the sum of those edges' windows (credit = window - in_flight)
  bool breaker_open = false;
  latency_summary latency;   ///< per-batch processing time, last 10 s
  latency_summary end_to_end; ///< sinks: read -> written, per record, last 10 s
  latency_histogram latency_hist;    ///< cumulative, for Prometheus
  latency_histogram end_to_end_hist; ///< cumulative, sinks only
};

/// One stage: its replicas summed (rates, in-flight) or merged (histograms).
struct stage_view {
  std::string id;
  std::string type;          ///< the stage kind, e.g. "map", "sink.file"
  std::string role;          ///< "source", "transform" or "sink"
  uint32_t parallelism = 1;
  std::string state = "starting"; ///< the worst of its replicas' states
  stage_counters totals;
  double in_per_s = 0;
  double out_per_s = 0;
  double utilization = 0;    ///< mean over replicas, 0..1
  uint64_t mailbox = 0;
  uint32_t in_flight = 0;
  uint32_t window = 0;
  latency_summary latency;
  latency_summary end_to_end;
  latency_histogram latency_hist;
  latency_histogram end_to_end_hist;
  std::vector<double> history; ///< records out per second, oldest first (sparkline)
  std::vector<replica_view> replicas;
  /// Sources: input bytes read and expected (0: unknown, e.g. stdin).
  uint64_t bytes_read = 0;
  uint64_t bytes_total = 0;
};

/// One edge between two stage replicas.
struct edge_view {
  std::string from;
  uint32_t from_replica = 0;
  std::string port;          ///< the sender's output port ("" for the main output)
  std::string to;            ///< a stage id, or "dlq" for the dead-letter sink
  uint32_t to_replica = 0;
  uint64_t records = 0;      ///< records sent so far
  double per_s = 0;          ///< records per second over the last interval
  uint32_t in_flight = 0;    ///< batches not yet acknowledged
  uint32_t window = 0;
};

/// The process.
struct node_view {
  int64_t pid = 0;
  std::string host;
  double uptime_s = 0;
  double cpu_seconds = 0;    ///< user + system since the process started
  double cpu_percent = 0;    ///< over the last interval; 100 = one core
  uint64_t rss_bytes = 0;
  uint64_t actors = 0;       ///< actors running in the process
  uint32_t threads = 0;      ///< scheduler threads
};

/// A run event (docs/observability.md, "Run events").
struct run_event {
  int64_t time_us = 0;       ///< since the epoch
  /// "pipeline_started", "stage_started", "stage_finished", "stage_failed",
  /// "stage_restarted", "pipeline_stopping", "pipeline_finished".
  std::string kind;
  std::string stage;         ///< "" for pipeline events
  std::string message;
};

/// One rate limit (`resources.rate_limits`) as its limiter reported it
/// (docs/rate-limits.md).
struct rate_limit_view {
  std::string name;
  double rate = 0;
  double per_s = 1;
  double burst = 0;
  uint32_t max_concurrency = 0; ///< 0: no limit
  double tokens = 0;            ///< in the bucket now; negative while in debt
  uint32_t in_use = 0;          ///< permits held (calls on the wire)
  uint32_t waiting = 0;         ///< calls queued for a permit
  uint64_t granted = 0;
  uint64_t released_by_monitor = 0; ///< permits taken back from holders that died
  double wait_s_total = 0;      ///< summed time calls waited for a permit
  double max_wait_s = 0;
};

struct metrics_snapshot {
  std::string pipeline;
  /// "starting", "running", "stopping", then the run's end status
  /// ("ok", "stopped", "failed").
  std::string status = "starting";
  int64_t started_us = 0;    ///< since the epoch
  int64_t taken_us = 0;      ///< when this picture was taken
  uint32_t interval_ms = 1000;
  uint64_t sequence = 0;     ///< counts snapshots (1, 2, ...)
  uint64_t records_read = 0;
  uint64_t records_accounted = 0; ///< written, filtered, folded, dropped, dead-lettered, failed
  uint64_t in_flight = 0;    ///< read and not yet accounted for (how far behind)
  node_view node;
  std::vector<stage_view> stages;   ///< in topological order
  std::vector<edge_view> edges;
  std::vector<rate_limit_view> rate_limits; ///< in the order the config declares them
  std::vector<run_event> events;    ///< the most recent ones, oldest first
};

/// The JSON form served by /api/v1/pipeline and printed by
/// `sluice top --once --json` (docs/observability.md shows it).
nlohmann::json to_json(const metrics_snapshot& s);
/// Parses what to_json wrote; missing fields take their defaults. Throws
/// nlohmann::json::exception on a value of the wrong type.
metrics_snapshot snapshot_from_json(const nlohmann::json& j);

/// One stage as JSON (an element of /api/v1/stages), with its replicas.
nlohmann::json to_json(const stage_view& s);

/// Edges summed per (from stage, port, to stage), for the DAG view.
std::vector<edge_view> stage_edges(const std::vector<edge_view>& edges);

} // namespace sluice
