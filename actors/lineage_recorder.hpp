#pragma once

#include <memory>

#include <caf/event_based_actor.hpp>

#include "config/loader.hpp"

namespace sluice {

/// The pipeline's lineage recorder (docs/lineage.md): one per run when the
/// config has a `lineage` section. Runs detached (SQLite blocks). Every
/// stage replica sends it one lineage_batch_msg per unit of work and never
/// waits for it: it keeps at most its `window` of batches unacknowledged,
/// so a recorder that falls behind slows the pipeline by credit instead of
/// dropping events. A batch is acknowledged on receipt and stored with the
/// others gathered (every 100 ms or 8192 events, one transaction, one block
/// per replica); a batch a replica sends again (the same seq, after its
/// worker restarted) is acknowledged again and dropped.
///
/// Protocol: `wiring` (inputs: one per stage replica) opens the store,
/// registers the run and prunes old runs per `lineage.retention` (an error
/// there refuses the run before it starts); lineage_batch_msg -> stored,
/// lineage_ack_msg to the sender; lineage_eos_msg from every replica ->
/// stage_done (stage = lineage_stage, `written` = events stored) to the
/// coordinator; (commit_atom, status) / abort_atom end the run in the store.
caf::behavior lineage_recorder(caf::event_based_actor* self,
                               std::shared_ptr<const pipeline_plan> plan);

/// The stage index the lineage recorder reports as.
constexpr stage_index lineage_stage = 0xFFFE;

} // namespace sluice
