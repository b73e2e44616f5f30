#pragma once

// Renderings of the lineage queries (runtime/lineage/query.hpp): text for
// people, JSON for tools, DOT for the graph. Used by `sluice lineage`.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineage/query.hpp"

namespace sluice {

std::string render_runs(const std::vector<lineage_run_summary>& runs);
nlohmann::json runs_json(const std::vector<lineage_run_summary>& runs);

/// "record 1005 (data/orders.csv:6), run 3" then one line per event.
std::string render_trace(const lineage_trace& t);
nlohmann::json trace_json(const lineage_trace& t);

std::string render_find(const lineage_find_result& r);
nlohmann::json find_json(const lineage_find_result& r);

/// Graphviz DOT, left to right, edges labelled with record counts.
std::string render_graph_dot(const lineage_graph& g);
nlohmann::json graph_json(const lineage_graph& g);

/// One exported event: run, record_id, origin, stage, replica, time,
/// time_us, outcome, attempt, detail.
nlohmann::json event_json(int64_t run, const std::string& record_id,
                          const lineage_origin& origin, const lineage_step& step);

} // namespace sluice
