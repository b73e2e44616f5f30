#pragma once

#include <memory>

#include <caf/event_based_actor.hpp>

#include "config/loader.hpp"

namespace sluice {

/// Drives a source stage's reader: reads a batch only while the edges to the
/// stage's decode replicas have window room (so memory stays bounded whatever
/// the input size), sends partial batches after `linger_ms`, and sends end of
/// stream when the input ends or `halt_atom` arrives (Ctrl-C). Runs detached:
/// reading stdin or a file may block, and must not stall a scheduler thread.
///
/// Protocol: `wiring` (opens the reader; reply: empty text or the error) ->
/// `start_atom` -> batches out, acks in -> `stage_done` (stats.driver = true).
/// Progress goes to the coordinator as (progress_atom, stage_stats).
caf::behavior source_driver(caf::event_based_actor* self,
                            std::shared_ptr<const pipeline_plan> plan, stage_index stage);

} // namespace sluice
