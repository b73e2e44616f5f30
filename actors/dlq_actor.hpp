#pragma once

#include <memory>

#include <caf/event_based_actor.hpp>

#include "config/loader.hpp"

namespace sluice {

/// The pipeline's dead-letter sink: every stage replica with `on_error: dlq`
/// has an edge to it (same protocol as data edges, so a flood of dead letters
/// slows the stages instead of filling memory). Each record arrives with
/// meta()["dlq"] = {stage, class, message, attempts, first_failure_us,
/// last_failure_us} (dead_letter::from_meta) and is written as one JSON
/// line with its original content, origin and lineage trail. Writes go to the
/// final path directly and are flushed per batch: dead letters survive a
/// failed run. Reports `stage_done` (stage = dlq_stage) when all edges ended.
caf::behavior dlq_actor(caf::event_based_actor* self,
                        std::shared_ptr<const pipeline_plan> plan);

/// The stage index the dead-letter sink reports as.
constexpr stage_index dlq_stage = 0xFFFF;

} // namespace sluice
