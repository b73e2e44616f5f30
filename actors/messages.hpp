#pragma once

// Every message that travels between sluice actors, with the `inspect`
// overloads that make it serializable, so any edge can cross a process
// boundary unchanged. `register_message_types` adds them all to a config;
// every node calls it (a type registered on one side only arrives empty).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "core/record.hpp"
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

/// Data, downstream: `seq` counts from 1 per edge.
struct batch_msg {
  edge_id edge = 0;
  uint64_t seq = 0;
  std::vector<record> records;
};

/// Downstream is done with batch `seq`: it frees one unit of the window.
struct ack_msg {
  edge_id edge = 0;
  uint64_t seq = 0;
};

/// End of stream on an edge, after batch `last_seq`.
struct eos_msg {
  edge_id edge = 0;
  uint64_t last_seq = 0;
};

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

/// Everything an actor needs to know about its neighbours. `outputs` are
/// data edges; `dlq` (if its target is set) takes dead letters.
struct wiring {
  std::vector<out_edge_desc> outputs;
  std::vector<edge_id> inputs;
  out_edge_desc dlq;
  caf::actor coordinator;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wiring& x) {
  return f(caf::meta::type_name("wiring"), x.outputs, x.inputs, x.dlq, x.coordinator);
}

// -- reports (actors -> coordinator) ----------------------------------------------

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
  uint64_t bytes_read = 0;  ///< drivers: input bytes consumed
  uint64_t bytes_total = 0; ///< drivers: input bytes expected (0 unknown)
  std::vector<std::pair<edge_id, uint64_t>> sent;     ///< records per out edge
  std::vector<std::pair<edge_id, uint64_t>> received; ///< records per in edge
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_stats& x) {
  return f(caf::meta::type_name("stage_stats"), x.stage, x.replica, x.driver, x.in, x.out,
           x.passed, x.filtered, x.folded, x.written, x.dropped, x.dead_lettered, x.failed,
           x.unaccounted, x.batches_in, x.batches_out, x.busy_us, x.bytes_read,
           x.bytes_total, x.sent, x.received);
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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_done& x) {
  return f(caf::meta::type_name("stage_done"), x.stats);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_failed& x) {
  return f(caf::meta::type_name("stage_failed"), x.stage, x.replica, x.message);
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

/// Adds every type above to `cfg`. Call on every node before the system starts.
void register_message_types(caf::actor_system_config& cfg);

} // namespace sluice
