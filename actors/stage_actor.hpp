#pragma once

#include <memory>

#include <caf/event_based_actor.hpp>

#include "config/loader.hpp"

namespace sluice {

/// Hosts one replica of one stage's operator (docs/architecture.md, "Stage
/// actor"). It receives batches on its input edges, runs the operator on
/// each record, batches what comes out per output port, applies the stage's
/// error policy, acknowledges input batches, and reports counts and
/// completion to the coordinator.
///
/// Protocol: `wiring` (reply: ok or an error text) -> batches/eos in, acks
/// out -> `stage_done` to the coordinator when every input edge ended ->
/// `commit_atom` / `abort_atom` (reply: empty text or an error text).
/// `stats_atom` replies the current stage_stats at any time.
caf::behavior stage_actor(caf::event_based_actor* self,
                          std::shared_ptr<const pipeline_plan> plan, stage_index stage,
                          uint32_t replica);

/// The error text of a record failure for messages: "record <id> (<origin>)".
std::string describe_record(const pipeline_plan& plan, const record& rec);

} // namespace sluice
