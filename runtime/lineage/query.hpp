#pragma once

// Reading the lineage store (docs/lineage.md): the runs, a record's
// trace, events matching filters, the dataset-level graph and an export as
// JSON lines. `sluice lineage ...` (apps/sluice/cmd_lineage.cpp) is a thin
// layer over this; renderings are in query_render.cpp.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "lineage/event.hpp"

namespace sluice {

/// One run as `runs()` lists it; `records` counts source and derived
/// records that produced at least one event, `events` every stored event.
struct lineage_run_summary {
  int64_t run = 0;
  std::string pipeline;
  std::string config_path;
  int64_t started_us = 0;
  std::optional<int64_t> ended_us;
  std::string status;                 ///< "running" until end_run
  std::string mode;
  double sample_rate = 1.0;
  int64_t records = 0;
  int64_t events = 0;
};

/// Where a record entered the pipeline, with names resolved.
struct lineage_origin {
  lineage_key key;
  std::string stage;                  ///< the source stage, or the deriving stage
  bool derived = false;
  std::string file;                   ///< source records: the input file's path
  /// "data/orders.csv:6"; a derived record: "totals#0:1" (stage#replica:output).
  std::string to_string() const;
};

/// One event of a record, names resolved.
struct lineage_step {
  std::string stage;
  uint32_t replica = 0;
  int64_t time_us = 0;
  lineage_outcome outcome = lineage_outcome::passed;
  uint32_t attempt = 0;
  std::string detail;
};

/// A record related to a traced one: a parent folded into it, or the
/// aggregate output it was folded into (a child).
struct lineage_link {
  std::string record_id;
  lineage_origin origin;
  std::string stage;                  ///< where the fold happened
};

struct lineage_record_trace {
  std::string record_id;
  lineage_origin origin;
  std::vector<lineage_step> steps;    ///< in time order
  size_t parent_count = 0;            ///< derived records: how many were folded in
  std::vector<lineage_link> parents;  ///< the first `max_parents` of them
  std::vector<lineage_link> children; ///< the outputs it was folded into
};

/// Every record with one id in one run (ids from the data may repeat).
struct lineage_trace {
  int64_t run = 0;
  std::string record_id;
  std::vector<lineage_record_trace> records; ///< empty: no such record in the run
  std::vector<int64_t> other_runs;           ///< other runs holding the id
};

/// `find`'s filters; empty/unset ones match everything.
struct lineage_find_filter {
  std::optional<int64_t> run;         ///< default: the latest run
  std::string stage;                  ///< a stage id
  std::optional<lineage_outcome> outcome;
  std::optional<int64_t> since_us;    ///< events at or after
  std::optional<int64_t> until_us;    ///< events before
  std::string file;                   ///< an input file: its exact path, else a substring
  size_t limit = 100;
};

struct lineage_find_row {
  std::string record_id;
  lineage_origin origin;
  lineage_step step;
};

struct lineage_find_result {
  int64_t run = 0;
  int64_t total = 0;                  ///< all matches; `rows` holds the first `limit`
  std::vector<lineage_find_row> rows; ///< by time
};

/// The dataset-level graph: input files -> sources -> ... -> sinks -> output
/// files (and a "dead letters" node), edges counting the records that took them.
struct lineage_graph {
  struct node {
    std::string name;                 ///< unique: "file:PATH", "stage:ID", "output:PATH", "dead letters"
    std::string kind;                 ///< "file", "stage", "output" or "dead_letters"
    std::string label;
  };
  struct edge {
    std::string from, to, port;
    int64_t records = 0;
  };
  std::vector<int64_t> runs;
  std::vector<node> nodes;
  std::vector<edge> edges;
};

/// A read-only view of one store file. Not thread-safe: one per thread.
class lineage_query {
public:
  /// Opens `path` read-only; a missing file or one that is not a sluice
  /// lineage store is an error saying so.
  static result<lineage_query> open(const std::string& path);

  lineage_query(lineage_query&&) noexcept;
  lineage_query& operator=(lineage_query&&) noexcept;
  ~lineage_query();

  /// Every run, oldest first.
  result<std::vector<lineage_run_summary>> runs();
  /// The records with `record_id` in `run` (default: the latest run).
  result<lineage_trace> trace(const std::string& record_id, std::optional<int64_t> run = {},
                              size_t max_parents = 10);
  /// Events matching `f`, by time, with their total count.
  result<lineage_find_result> find(const lineage_find_filter& f);
  /// The graph of one run (default: the latest), or of every run merged.
  result<lineage_graph> graph(std::optional<int64_t> run = {}, bool all_runs = false);
  /// Writes one JSON object per event of `run` (all runs when unset),
  /// grouped by record, in time order within a record; returns the count.
  result<int64_t> export_jsonl(std::ostream& out, std::optional<int64_t> run = {});

private:
  struct impl;
  explicit lineage_query(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// -- times --------------------------------------------------------------------

/// "2026-12-06T04:00:00.123456Z" (UTC, microseconds).
std::string format_lineage_time(int64_t us);
/// ISO-8601 UTC ("2026-12-06T04:00:00Z", fractions and a date alone
/// accepted) or an age before `now_us` ("30s", "10m", "2h", "7d").
result<int64_t> parse_lineage_time(const std::string& text, int64_t now_us);

} // namespace sluice
