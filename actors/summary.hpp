#pragma once

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "messages.hpp"

namespace sluice {

/// Builds the run summary (what `sluice run` prints and `--summary-json`
/// writes): per stage totals over its replicas, pipeline totals, and the
/// conservation check:
/// - every stage accounted for each record it received
///   (in = passed + filtered + folded + written + dropped + dead_lettered + failed);
/// - every edge delivered what was sent on it (sent = received);
/// - the dead-letter file holds every record a stage dead-lettered.
/// A failed run skips the edge check (in-flight batches were abandoned).
json build_summary(const pipeline_plan& plan, const std::vector<stage_stats>& stats,
                   const std::string& status, const std::string& failure,
                   const std::vector<std::string>& commit_errors, int64_t elapsed_us);

/// The summary as a table for a terminal.
std::string render_summary(const json& summary);

} // namespace sluice
