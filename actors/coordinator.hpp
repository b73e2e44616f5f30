#pragma once

#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include "config/loader.hpp"

namespace sluice {

using run_atom = caf::atom_constant<caf::atom("run")>;
using inflight_atom = caf::atom_constant<caf::atom("inflight")>;

/// Where a stage replica runs. The default spawns it in this process; a test
/// (and later, node placement) returns an actor in another process.
using placement_fn = std::function<caf::actor(stage_index stage, uint32_t replica)>;

struct run_options {
  bool progress = false;       ///< print a progress line on stderr
  placement_fn placement;      ///< empty: every stage replica runs locally
  /// The process's metrics collector (actors/metrics_collector), if any:
  /// it gets the run's topology once every actor is wired, and every run
  /// event (which are also logged at info level).
  caf::actor collector;
};

/// Runs one pipeline: spawns a stage actor per replica, a source driver per
/// source and the dead-letter sink; wires every edge (docs/architecture.md);
/// starts the sources once every actor reported ready; waits for every actor
/// to finish; then commits (sinks make their output visible) or, when a
/// stage failed, aborts (sinks remove partial output). It monitors every
/// actor: one that dies fails the run.
///
/// Protocol: (run_atom) replies with the run summary as JSON text once the
/// run is over (docs/config.md, "The summary"); (halt_atom) stops the sources
/// gracefully: what was read drains, sinks commit, status "stopped";
/// (inflight_atom) replies a summary of the counts so far with status
/// "forced" (for the message of a forced stop).
caf::behavior coordinator(caf::event_based_actor* self,
                          std::shared_ptr<const pipeline_plan> plan, run_options opts);

} // namespace sluice
