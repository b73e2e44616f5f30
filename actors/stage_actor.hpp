#pragma once

#include <memory>

#include <caf/event_based_actor.hpp>

#include "config/loader.hpp"

namespace sluice {

/// Hosts one replica of one stage (docs/architecture.md, "Stage replicas"
/// and docs/fault-tolerance.md). Two actors per replica:
///
/// - the **keeper** (this function) is the replica's stable address: the
///   coordinator and the neighbours only ever talk to it. It owns the
///   replica's cell (operator and its state, input marks, pending and
///   unacknowledged batches, retry queue, counters), spawns a worker actor
///   on it and forwards data messages (batches, end of stream, acks, resend
///   requests) to the worker. When the worker dies (an exception escaped
///   the operator, or the actor was killed) the keeper starts a new worker
///   on the same cell, within the stage's restart intensity
///   (`supervision`); past it, it reports `stage_failed` with the restarts
///   and the last error, and the run stops.
/// - the **worker** runs the operator: it processes pending batches, batches
///   what comes out per output port, applies retries, the circuit breaker
///   and the error policy, acknowledges input batches once processed, and
///   reports completion. A new worker first asks every upstream to resend
///   what it has not acknowledged and resends its own unacknowledged
///   output; receivers discard batches they already hold by seq.
///
/// Protocol towards the coordinator: `wiring` (reply: "" or an error text)
/// -> `stage_done` once every input ended -> `commit_atom`/`abort_atom`
/// (reply: "" or an error text); `stats_atom` replies the current
/// stage_stats at any time; `stage_restarted` and `stage_failed` are sent
/// as they happen.
caf::behavior stage_actor(caf::event_based_actor* self,
                          std::shared_ptr<const pipeline_plan> plan, stage_index stage,
                          uint32_t replica);

/// The error text of a record failure for messages: "record <id> (<origin>)".
std::string describe_record(const pipeline_plan& plan, const record& rec);

} // namespace sluice
