#pragma once

#include <cstdint>
#include <memory>

#include <caf/event_based_actor.hpp>

#include "config/loader.hpp"

namespace sluice {

struct collector_options {
  uint32_t interval_ms = 1000; ///< how often every actor is sampled
  uint32_t history = 60;       ///< samples of throughput kept per stage (sparklines)
  uint32_t latency_window_ms = 10'000; ///< the window of the p50/p95/p99 summaries
  uint32_t scheduler_threads = 0;
  size_t max_events = 200;     ///< run events kept for the console's event pane
};

/// The metrics collector of one process (docs/observability.md). Samples
/// every actor the coordinator names (run_topology) on an interval by
/// asking it for its replica_metrics (a copy of its own counters: no state
/// is shared between actors), computes rates, utilisation and windowed
/// latency quantiles, keeps a short history per stage and the recent run
/// events, and answers (snapshot_atom) with the latest metrics_snapshot as
/// JSON text. Published on the console port for `sluice top`; the HTTP
/// endpoint asks it too.
///
/// Messages: run_topology (start sampling), run_event_msg (from the
/// coordinator: kept for the event pane; pipeline_started, _stopping and
/// _finished also set the status), snapshot_atom -> std::string.
caf::behavior metrics_collector(caf::event_based_actor* self,
                                std::shared_ptr<const pipeline_plan> plan,
                                collector_options opts);

} // namespace sluice
