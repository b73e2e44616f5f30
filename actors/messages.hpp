#pragma once

// Every message that travels between sluice actors, with the `inspect`
// overloads that make it serializable, so any edge can cross a process
// boundary unchanged. `register_message_types` adds them all to a config;
// every node calls it (a type registered on one side only arrives empty).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "core/record.hpp"
#include "lineage/event.hpp"
#include "metrics/histogram.hpp"
#include "ops/operator.hpp"

namespace nlohmann {

/// json crosses processes as its compact text; locally it is moved, never
/// dumped. Malformed text (which a sluice peer never sends) loads as null.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, json& x) {
  std::string text;
  auto save = caf::meta::save_callback([&]() -> caf::error {
    text = x.dump(-1, ' ', false, json::error_handler_t::replace);
    return caf::none;
  });
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = json::parse(text, nullptr, false);
    if (x.is_discarded())
      x = nullptr;
    return caf::none;
  });
  return f(caf::meta::type_name("json"), save, text, load);
}

} // namespace nlohmann

namespace sluice {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, source_position& x) {
  return f(caf::meta::type_name("source_position"), x.source, x.file, x.line);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lineage_hop& x) {
  return f(caf::meta::type_name("lineage_hop"), x.stage, x.at_us);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lineage_trail& x) {
  return f(caf::meta::type_name("lineage_trail"), x.origin, x.hops);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record& x) {
  return f(caf::meta::type_name("record"), x.id_, x.content_, x.meta_, x.trail_);
}

/// Identifies one edge of the running pipeline (one upstream replica to one
/// downstream replica); assigned by the coordinator.
using edge_id = uint32_t;

// -- the edge protocol (docs/architecture.md) ---------------------------------

/// The records of one batch, shared between the sender (which keeps it until
/// the receiver acknowledges it) and the receiver. Locally both hold the same
/// vector and nothing is copied: the receiver takes the records out when it
/// processes them, and from then on its replica cell (which outlives the
/// receiver's actor) is responsible for them, so the sender's reference is
/// only a placeholder. Across processes the receiver gets its own copy and
/// the sender's stays whole until the ack, for a resend.
using batch_payload = std::shared_ptr<std::vector<record>>;

/// Data, downstream: `seq` counts from 1 per edge.
struct batch_msg {
  edge_id edge = 0;
  uint64_t seq = 0;
  batch_payload records;
};

/// Downstream is done with batch `seq`: it frees one unit of the window.
/// Idempotent: an ack for a seq the sender no longer holds is a no-op.
struct ack_msg {
  edge_id edge = 0;
  uint64_t seq = 0;
};

/// End of stream on an edge, after batch `last_seq`.
struct eos_msg {
  edge_id edge = 0;
  uint64_t last_seq = 0;
};

/// Upstream: "from now on send `edge` to `reply_to`, and send me again
/// every batch of it I have not acknowledged, and the end of stream if you
/// sent it". Every new worker asks this of every upstream (through the
/// upstream's keeper, its stable address): the first one to route batches
/// to itself directly instead of through its keeper, a restarted one also
/// because its dead actor's mailbox is gone.
struct resend_msg {
  edge_id edge = 0;
  caf::actor reply_to;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_payload& x) {
  // Saved as the plain vector; loads into a fresh one (the receiving process
  // owns its copy).
  std::vector<record> tmp;
  auto save = caf::meta::save_callback([&]() -> caf::error {
    if (x)
      tmp = *x;
    return caf::none;
  });
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = std::make_shared<std::vector<record>>(std::move(tmp));
    return caf::none;
  });
  return f(caf::meta::type_name("batch_payload"), save, tmp, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_msg& x) {
  return f(caf::meta::type_name("batch_msg"), x.edge, x.seq, x.records);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack_msg& x) {
  return f(caf::meta::type_name("ack_msg"), x.edge, x.seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, eos_msg& x) {
  return f(caf::meta::type_name("eos_msg"), x.edge, x.last_seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resend_msg& x) {
  return f(caf::meta::type_name("resend_msg"), x.edge, x.reply_to);
}

// -- wiring (coordinator -> stage actors and drivers) --------------------------

/// One outgoing edge: to replica `replica` of stage `to_stage`.
struct out_edge_desc {
  edge_id edge = 0;
  port_index port = 0;      ///< the sender's output port
  stage_index to_stage = 0; ///< for a dead-letter edge: the sender itself
  uint32_t replica = 0;
  uint32_t window = 8;      ///< batches in flight at most
  caf::actor target;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, out_edge_desc& x) {
  return f(caf::meta::type_name("out_edge_desc"), x.edge, x.port, x.to_stage, x.replica,
           x.window, x.target);
}

/// One incoming edge: where acks and resend requests for it go (the
/// upstream replica's keeper, or a source driver).
struct in_edge_desc {
  edge_id edge = 0;
  caf::actor upstream;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, in_edge_desc& x) {
  return f(caf::meta::type_name("in_edge_desc"), x.edge, x.upstream);
}

/// Everything an actor needs to know about its neighbours. `outputs` are
/// data edges; `dlq` (if its target is set) takes dead letters.
struct wiring {
  std::vector<out_edge_desc> outputs;
  std::vector<in_edge_desc> inputs;
  out_edge_desc dlq;
  caf::actor coordinator;
  caf::actor lineage; ///< the lineage recorder, when the run records lineage
  /// The limiters of the stage's `rate_limit` names, in the (sorted) order
  /// of stage_spec::rate_limits (docs/rate-limits.md).
  std::vector<caf::actor> rate_limiters;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wiring& x) {
  return f(caf::meta::type_name("wiring"), x.outputs, x.inputs, x.dlq, x.coordinator,
           x.lineage, x.rate_limiters);
}

// -- reports (actors -> coordinator) ----------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, latency_histogram& x) {
  std::vector<uint64_t> tmp; // the buckets, then the sum
  auto save = caf::meta::save_callback([&]() -> caf::error {
    tmp.assign(x.buckets().begin(), x.buckets().end());
    tmp.push_back(x.sum_us());
    return caf::none;
  });
  auto load = caf::meta::load_callback([&]() -> caf::error {
    std::array<uint64_t, latency_histogram::bucket_count> b{};
    for (size_t i = 0; i < b.size() && i < tmp.size(); ++i)
      b[i] = tmp[i];
    x.assign(b, tmp.size() > b.size() ? tmp[b.size()] : 0);
    return caf::none;
  });
  return f(caf::meta::type_name("latency_histogram"), save, tmp, load);
}

/// What one replica of a stage (or a source driver) counted. For a stage:
/// in = passed + filtered + folded + written + dropped + dead_lettered
///      + failed + unaccounted
/// (unaccounted is always 0 unless an operator has a bug).
struct stage_stats {
  stage_index stage = 0;
  uint32_t replica = 0;
  bool driver = false; ///< the source driver, not a stage replica
  uint64_t in = 0;
  uint64_t out = 0;
  uint64_t passed = 0;
  uint64_t filtered = 0;
  uint64_t folded = 0;
  uint64_t written = 0;
  uint64_t dropped = 0;
  uint64_t dead_lettered = 0;
  uint64_t failed = 0;
  uint64_t unaccounted = 0;
  uint64_t batches_in = 0;
  uint64_t batches_out = 0;
  uint64_t busy_us = 0;
  uint64_t retries = 0;     ///< record and batch attempts after a transient failure
  uint64_t restarts = 0;    ///< times the replica's actor was restarted
  uint64_t duplicates = 0;  ///< resent batches discarded (already processed)
  uint64_t breaker_opened = 0; ///< times the circuit breaker opened
  uint64_t errors = 0;      ///< failed attempts at records, transient or not
  latency_histogram batch_latency; ///< processing time per batch
  latency_histogram end_to_end;    ///< sinks: read -> written, per record
  uint64_t bytes_read = 0;  ///< drivers: input bytes consumed
  uint64_t bytes_total = 0; ///< drivers: input bytes expected (0 unknown)
  // Calling stages (http, classify; docs/rate-limits.md):
  uint64_t calls = 0;         ///< calls answered (each attempt counts)
  uint64_t call_failures = 0; ///< of those, calls that failed as a whole
  uint64_t permit_wait_us = 0; ///< time calls waited for rate-limit permits
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  double cost_usd = 0;        ///< estimated, from the stage's prices
  latency_histogram call_latency; ///< launch -> answer, per call
  std::vector<std::pair<edge_id, uint64_t>> sent;     ///< records per out edge
  std::vector<std::pair<edge_id, uint64_t>> received; ///< records per in edge
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_stats& x) {
  return f(caf::meta::type_name("stage_stats"), x.stage, x.replica, x.driver, x.in, x.out,
           x.passed, x.filtered, x.folded, x.written, x.dropped, x.dead_lettered, x.failed,
           x.unaccounted, x.batches_in, x.batches_out, x.busy_us, x.retries, x.restarts,
           x.duplicates, x.breaker_opened, x.errors, x.batch_latency, x.end_to_end,
           x.bytes_read, x.bytes_total, x.calls, x.call_failures, x.permit_wait_us,
           x.prompt_tokens, x.completion_tokens, x.cost_usd, x.call_latency, x.sent,
           x.received);
}

/// A replica (or driver) finished: every input complete, end of stream sent.
struct stage_done {
  stage_stats stats;
};

/// A replica cannot go on: a record failed under `on_error: fail`, an I/O
/// error, or a bug. The run stops.
struct stage_failed {
  stage_index stage = 0;
  uint32_t replica = 0;
  std::string message;
};

/// A replica's actor died and its keeper started a new one (for the
/// coordinator's log and report; the run goes on).
struct stage_restarted {
  stage_index stage = 0;
  uint32_t replica = 0;
  uint32_t restarts = 0; ///< so far, this replica
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_restarted& x) {
  return f(caf::meta::type_name("stage_restarted"), x.stage, x.replica, x.restarts, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_done& x) {
  return f(caf::meta::type_name("stage_done"), x.stats);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_failed& x) {
  return f(caf::meta::type_name("stage_failed"), x.stage, x.replica, x.message);
}

// -- lineage (stage replicas -> the lineage recorder; docs/lineage.md) ------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lineage_key& x) {
  return f(caf::meta::type_name("lineage_key"), x.source, x.file, x.line);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lineage_event& x) {
  return f(caf::meta::type_name("lineage_event"), x.key, x.record_id, x.stage, x.replica,
           x.time_us, x.outcome, x.attempt, x.detail);
}

using lineage_payload = std::shared_ptr<std::vector<lineage_event>>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lineage_payload& x) {
  std::vector<lineage_event> tmp;
  auto save = caf::meta::save_callback([&]() -> caf::error {
    if (x)
      tmp = *x;
    return caf::none;
  });
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = std::make_shared<std::vector<lineage_event>>(std::move(tmp));
    return caf::none;
  });
  return f(caf::meta::type_name("lineage_payload"), save, tmp, load);
}

/// A replica's events of one unit of work (an input batch, a tick, its
/// finish), `seq` counting from 1 per replica. Kept by the replica's cell
/// until acknowledged, sent again after a restart (the store ignores
/// events it has); at most the stage's `window` unacknowledged, so a
/// recorder that falls behind slows the pipeline rather than losing events.
struct lineage_batch_msg {
  stage_index stage = 0;
  uint32_t replica = 0;
  uint64_t seq = 0;
  lineage_payload events;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lineage_batch_msg& x) {
  return f(caf::meta::type_name("lineage_batch_msg"), x.stage, x.replica, x.seq, x.events);
}

/// The recorder stored batch `seq` (recorder -> the replica that sent it).
struct lineage_ack_msg {
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lineage_ack_msg& x) {
  return f(caf::meta::type_name("lineage_ack_msg"), x.seq);
}

/// A replica finished: it sends no more events after batch `last_seq`.
struct lineage_eos_msg {
  stage_index stage = 0;
  uint32_t replica = 0;
  uint64_t last_seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lineage_eos_msg& x) {
  return f(caf::meta::type_name("lineage_eos_msg"), x.stage, x.replica, x.last_seq);
}

// -- metrics (the collector samples every actor; docs/observability.md) ---------

/// The load on one outgoing edge at the moment of sampling.
struct edge_load {
  edge_id edge = 0;
  uint32_t in_flight = 0; ///< batches sent, not acknowledged
  uint32_t queued = 0;    ///< batches cut and waiting for window room
  uint32_t window = 0;
  uint64_t records = 0;   ///< records committed to the edge so far
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, edge_load& x) {
  return f(caf::meta::type_name("edge_load"), x.edge, x.in_flight, x.queued, x.window,
           x.records);
}

/// What a replica (or a source's reader, or the dead-letter sink) answers
/// to metrics_atom: its counters and histograms, its mailbox, its edges.
/// Copied out of the actor's own state: no memory is shared with the
/// collector.
struct replica_metrics {
  stage_stats stats;
  uint64_t mailbox = 0;
  bool finished = false;
  bool failed = false;
  bool breaker_open = false;
  std::vector<edge_load> edges;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_metrics& x) {
  return f(caf::meta::type_name("replica_metrics"), x.stats, x.mailbox, x.finished, x.failed,
           x.breaker_open, x.edges);
}

/// Who the collector samples and what each edge connects: sent by the
/// coordinator once every actor is wired. `kind`: 0 a stage replica, 1 a
/// source's reader, 2 the dead-letter sink.
struct topology_member {
  caf::actor handle;
  stage_index stage = 0;
  uint32_t replica = 0;
  uint8_t kind = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topology_member& x) {
  return f(caf::meta::type_name("topology_member"), x.handle, x.stage, x.replica, x.kind);
}

struct topology_edge {
  edge_id edge = 0;
  uint32_t from_member = 0; ///< index into run_topology::members
  port_index port = 0;
  uint32_t to_member = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topology_edge& x) {
  return f(caf::meta::type_name("topology_edge"), x.edge, x.from_member, x.port, x.to_member);
}

struct run_topology {
  std::vector<topology_member> members;
  std::vector<topology_edge> edges;
  std::vector<caf::actor> limiters; ///< one per resources.rate_limits entry, in config order
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_topology& x) {
  return f(caf::meta::type_name("run_topology"), x.members, x.edges, x.limiters);
}

/// A run event, coordinator -> collector (and the log): see
/// runtime/metrics/snapshot.hpp, run_event. On pipeline_finished, `status`
/// is the run's end status and `final_stats` what every actor counted in
/// all (the collector's last picture is exact).
struct run_event_msg {
  int64_t time_us = 0;
  std::string kind;
  std::string stage;
  std::string message;
  std::string status;
  std::vector<stage_stats> final_stats;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_event_msg& x) {
  return f(caf::meta::type_name("run_event_msg"), x.time_us, x.kind, x.stage, x.message,
           x.status, x.final_stats);
}

// -- atoms ---------------------------------------------------------------------------

using start_atom = caf::atom_constant<caf::atom("start")>;   ///< drivers: begin reading
using halt_atom = caf::atom_constant<caf::atom("halt")>;     ///< drivers: stop reading (Ctrl-C)
using pump_atom = caf::atom_constant<caf::atom("pump")>;     ///< drivers: read the next batch
using flush_atom = caf::atom_constant<caf::atom("flush")>;   ///< stages: linger timer fired
using tick_atom_ = caf::atom_constant<caf::atom("optick")>;  ///< stages: operator tick
using commit_atom = caf::atom_constant<caf::atom("commit")>; ///< the run succeeded
using abort_atom = caf::atom_constant<caf::atom("abort")>;   ///< the run failed
using stats_atom = caf::atom_constant<caf::atom("stats")>;   ///< ask for stage_stats
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;   ///< stages: a retry is due
using resume_atom = caf::atom_constant<caf::atom("resume")>; ///< stages: latency/breaker wait over
using calls_atom = caf::atom_constant<caf::atom("calls")>;   ///< stages: a permit or an answer is in
/// The metrics collector: reply with the latest metrics_snapshot as JSON
/// text (runtime/metrics/snapshot.hpp, to_json). `sluice top` and the HTTP
/// endpoint ask this; the collector is published on the console port.
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>; ///< ask for replica_metrics

/// Adds every type above to `cfg`. Call on every node before the system starts.
void register_message_types(caf::actor_system_config& cfg);

} // namespace sluice
