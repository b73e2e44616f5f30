#pragma once

// The stage table of the console: its columns, one row per stage (and per
// replica of an expanded stage), sorting, filtering, highlighting, and a
// column layout that fits any terminal width without wrapping.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "metrics/snapshot.hpp"

namespace sluice::top {

/// The table's columns, left to right.
enum class column : uint8_t {
  stage,     ///< the stage id (replicas: "#N" under their stage)
  state,     ///< running, backpressured, failing, ...
  in_rate,   ///< records in per second, last interval
  out_rate,  ///< records out per second, last interval
  in_total,  ///< records in since the start
  out_total, ///< records out since the start; a sink's writes count (as in out/s)
  errors,    ///< failed attempts (each retry counts)
  dlq,       ///< records dead-lettered
  restarts,  ///< replica restarts
  in_flight, ///< batches unacknowledged / the edges' window
  util,      ///< busy share of the last interval
  p95,       ///< per-batch processing time, 95th percentile, last 10 s
  trend,     ///< sparkline of records out per second
};
constexpr size_t column_count = 13;

/// The title shown in the column header ("OUT/S").
const char* column_title(column c);
/// A lower-case name for the status line and docs ("out/s").
const char* column_name(column c);

/// How a row is drawn; the front end maps each to a colour.
enum class highlight : uint8_t {
  normal,
  backpressured, ///< state "backpressured", or every batch of the window in flight
  failing,       ///< state "failing"/"failed", or errors grew since the last picture
  done,          ///< state "done"
};

struct table_row {
  std::string stage;               ///< the stage id (also on replica rows)
  std::optional<uint32_t> replica; ///< set on replica rows
  highlight hl = highlight::normal;
  bool expanded = false;           ///< stage rows: its replicas follow
  std::array<std::string, column_count> cells; ///< the trend cell stays empty
  std::vector<double> history;     ///< stage rows: out/s, oldest first (the trend)
};

/// What the user chose to see; the console keeps one.
struct table_options {
  std::optional<column> sort; ///< nullopt: pipeline (topological) order
  bool reverse = false;       ///< flips the column's natural order
  std::string filter;         ///< substring of the stage id; "" shows all
  std::set<std::string> expanded;
  bool utf8 = true;
};

/// Sorting puts numbers largest first and states worst first (failed,
/// failing, backpressured, restarting, running, starting, done); the stage
/// id sorts A to Z. `reverse` flips that. Ties keep pipeline order.
/// `errors_before` holds each stage's error total of the previous picture
/// (for "errors rising"); missing stages count as not rising.
std::vector<table_row> table_rows(const metrics_snapshot& s, const table_options& o,
                                  const std::map<std::string, uint64_t>& errors_before = {});

/// The highlight of one stage (see `highlight`).
highlight stage_highlight(const stage_view& v, std::optional<uint64_t> errors_before);

/// The columns shown and their widths at one terminal width.
struct table_layout {
  struct slot {
    column col;
    int width;
  };
  std::vector<slot> slots;
};

/// Drops low-priority columns (total in, restarts, p95, DLQ, utilisation,
/// trend, in-flight, in/s, total out, errors, in that order) until the rest
/// fit `width`, then gives spare room to the stage id, then to the trend.
/// Stage, state and out/s always stay; below about 20 columns the stage id
/// narrows and render_row cuts the line.
table_layout layout_table(int width, const std::vector<table_row>& rows);

/// One row, or the header (`titles`), as a line of at most `width` columns.
std::string render_row(const table_row& row, const table_layout& l, int width, bool utf8);
std::string render_header(const table_layout& l, const table_options& o, int width, bool utf8);

/// The state shown in a cell ("backpr" for "backpressured").
std::string short_state(const std::string& state);

} // namespace sluice::top
