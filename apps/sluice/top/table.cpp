#include "top/table.hpp"

#include <algorithm>
#include <numeric>

#include "top/format.hpp"

namespace sluice::top {

namespace {

struct column_spec {
  column col;
  const char* title;
  const char* name;
  int width; ///< fixed width; the stage and trend columns grow
  align al;
};

constexpr std::array<column_spec, column_count> specs = {{
  {column::stage, "STAGE", "stage", 5, align::left},
  {column::state, "STATE", "state", 7, align::left},
  {column::in_rate, "IN/S", "in/s", 5, align::right},
  {column::out_rate, "OUT/S", "out/s", 5, align::right},
  {column::in_total, "IN", "in", 5, align::right},
  {column::out_total, "OUT", "out", 5, align::right},
  {column::errors, "ERR", "errors", 4, align::right},
  {column::dlq, "DLQ", "dlq", 4, align::right},
  {column::restarts, "RST", "restarts", 3, align::right},
  {column::in_flight, "INFLT", "in-flight", 5, align::right},
  {column::util, "UTIL", "util", 4, align::right},
  {column::p95, "P95", "p95", 6, align::right},
  {column::trend, "TREND", "trend", 8, align::left},
}};

const column_spec& spec(column c) { return specs[static_cast<size_t>(c)]; }

constexpr int trend_max = 24;
constexpr int stage_max = 28;
constexpr int stage_preferred_min = 14;

/// Worse states rank higher.
int state_rank(const std::string& state) {
  if (state == "failed")
    return 6;
  if (state == "failing")
    return 5;
  if (state == "backpressured")
    return 4;
  if (state == "restarting")
    return 3;
  if (state == "running")
    return 2;
  if (state == "starting")
    return 1;
  return 0; // done, unknown
}

/// Records out, sinks' writes included, as the run counts out/s.
uint64_t records_out(const stage_counters& c) { return c.records_out + c.written; }

bool window_full(uint32_t in_flight, uint32_t window) { return window > 0 && in_flight >= window; }

template <class View>
void fill_common(std::array<std::string, column_count>& c, const View& v) {
  auto at = [&](column col) -> std::string& { return c[static_cast<size_t>(col)]; };
  at(column::state) = short_state(v.state);
  at(column::in_rate) = format_rate(v.in_per_s);
  at(column::out_rate) = format_rate(v.out_per_s);
  at(column::in_total) = format_count(static_cast<double>(v.totals.records_in));
  at(column::out_total) = format_count(static_cast<double>(records_out(v.totals)));
  at(column::errors) = format_count(static_cast<double>(v.totals.errors));
  at(column::dlq) = format_count(static_cast<double>(v.totals.dead_lettered));
  at(column::restarts) = format_count(static_cast<double>(v.totals.restarts));
  at(column::in_flight) = v.window > 0 || v.in_flight > 0
                            ? std::to_string(v.in_flight) + "/" + std::to_string(v.window)
                            : "-";
  at(column::util) = std::to_string(static_cast<int>(v.utilization * 100 + 0.5)) + "%";
  at(column::p95) = format_latency_ms(v.latency.p95_ms, v.latency.count);
}

double sort_value(const stage_view& v, column c) {
  switch (c) {
    case column::state: return state_rank(v.state);
    case column::in_rate: return v.in_per_s;
    case column::out_rate: return v.out_per_s;
    case column::in_total: return static_cast<double>(v.totals.records_in);
    case column::out_total: return static_cast<double>(records_out(v.totals));
    case column::errors: return static_cast<double>(v.totals.errors);
    case column::dlq: return static_cast<double>(v.totals.dead_lettered);
    case column::restarts: return static_cast<double>(v.totals.restarts);
    case column::in_flight:
      return v.window > 0 ? static_cast<double>(v.in_flight) / v.window : v.in_flight;
    case column::util: return v.utilization;
    case column::p95: return v.latency.count > 0 ? v.latency.p95_ms : -1;
    case column::trend:
      return v.history.empty()
               ? 0
               : std::accumulate(v.history.begin(), v.history.end(), 0.0) / v.history.size();
    case column::stage: break;
  }
  return 0;
}

} // namespace

const char* column_title(column c) { return spec(c).title; }
const char* column_name(column c) { return spec(c).name; }

std::string short_state(const std::string& state) {
  if (state == "backpressured")
    return "backpr";
  if (state == "restarting")
    return "restart";
  if (state == "starting")
    return "start";
  return state;
}

highlight stage_highlight(const stage_view& v, std::optional<uint64_t> errors_before) {
  if (v.state == "failing" || v.state == "failed"
      || (errors_before && v.totals.errors > *errors_before))
    return highlight::failing;
  if (v.state == "backpressured" || window_full(v.in_flight, v.window))
    return highlight::backpressured;
  if (v.state == "done")
    return highlight::done;
  return highlight::normal;
}

std::vector<table_row> table_rows(const metrics_snapshot& s, const table_options& o,
                                  const std::map<std::string, uint64_t>& errors_before) {
  std::vector<size_t> order;
  for (size_t i = 0; i < s.stages.size(); ++i)
    if (o.filter.empty() || s.stages[i].id.find(o.filter) != std::string::npos)
      order.push_back(i);
  if (o.sort) {
    auto col = *o.sort;
    auto less = [&](size_t a, size_t b) {
      auto& x = s.stages[a];
      auto& y = s.stages[b];
      if (col == column::stage)
        return o.reverse ? y.id < x.id : x.id < y.id;
      auto vx = sort_value(x, col);
      auto vy = sort_value(y, col);
      return o.reverse ? vx < vy : vx > vy; // largest / worst first
    };
    std::stable_sort(order.begin(), order.end(), less);
  } else if (o.reverse) {
    std::reverse(order.begin(), order.end());
  }
  std::vector<table_row> rows;
  for (auto i : order) {
    auto& v = s.stages[i];
    table_row row;
    row.stage = v.id;
    std::optional<uint64_t> before;
    if (auto it = errors_before.find(v.id); it != errors_before.end())
      before = it->second;
    row.hl = stage_highlight(v, before);
    bool expandable = !v.replicas.empty();
    row.expanded = expandable && o.expanded.count(v.id) > 0;
    std::string marker = !expandable  ? "  "
                         : row.expanded ? (o.utf8 ? "▾ " : "- ")
                                        : (o.utf8 ? "▸ " : "+ ");
    row.cells[static_cast<size_t>(column::stage)] = marker + v.id;
    fill_common(row.cells, v);
    row.history = v.history; // the trend is drawn at its final width
    bool expanded = row.expanded;
    rows.push_back(std::move(row));
    if (!expanded)
      continue;
    for (size_t r = 0; r < v.replicas.size(); ++r) {
      auto& rep = v.replicas[r];
      table_row rr;
      rr.stage = v.id;
      rr.replica = rep.replica;
      if (rep.state == "failing" || rep.state == "failed")
        rr.hl = highlight::failing;
      else if (rep.state == "backpressured" || window_full(rep.in_flight, rep.window))
        rr.hl = highlight::backpressured;
      else if (rep.state == "done")
        rr.hl = highlight::done;
      bool last = r + 1 == v.replicas.size();
      std::string branch = o.utf8 ? (last ? "  └ #" : "  ├ #") : (last ? "  `-#" : "  |-#");
      rr.cells[static_cast<size_t>(column::stage)] = branch + std::to_string(rep.replica);
      fill_common(rr.cells, rep);
      rows.push_back(std::move(rr));
    }
  }
  return rows;
}

table_layout layout_table(int width, const std::vector<table_row>& rows) {
  int stage_want = display_width(spec(column::stage).title);
  for (auto& r : rows)
    stage_want = std::max(stage_want, display_width(r.cells[0]));
  stage_want = std::min(stage_want, stage_max);
  int stage_min = std::min(stage_want, stage_preferred_min);

  std::vector<bool> shown(column_count, true);
  auto total = [&](int stage_w, int trend_w) {
    int sum = 0;
    int n = 0;
    for (auto& sp : specs) {
      if (!shown[static_cast<size_t>(sp.col)])
        continue;
      sum += sp.col == column::stage ? stage_w : sp.col == column::trend ? trend_w : sp.width;
      ++n;
    }
    return sum + std::max(0, n - 1);
  };
  const column drop_order[] = {column::in_total, column::restarts, column::p95,
                               column::dlq,      column::util,     column::trend,
                               column::in_flight, column::in_rate, column::out_total,
                               column::errors};
  int trend_w = spec(column::trend).width;
  for (auto c : drop_order) {
    if (total(stage_min, trend_w) <= width)
      break;
    shown[static_cast<size_t>(c)] = false;
  }
  int stage_w = stage_min;
  int spare = width - total(stage_w, trend_w);
  if (spare > 0) {
    int grow = std::min(spare, stage_want - stage_w);
    stage_w += grow;
    spare -= grow;
  }
  if (spare > 0 && shown[static_cast<size_t>(column::trend)])
    trend_w += std::min(spare, trend_max - trend_w);
  if (int over = total(stage_w, trend_w) - width; over > 0)
    stage_w = std::max(3, stage_w - over);
  table_layout l;
  for (auto& sp : specs)
    if (shown[static_cast<size_t>(sp.col)])
      l.slots.push_back({sp.col, sp.col == column::stage   ? stage_w
                                 : sp.col == column::trend ? trend_w
                                                           : sp.width});
  return l;
}

std::string render_row(const table_row& row, const table_layout& l, int width, bool utf8) {
  std::string line;
  for (size_t i = 0; i < l.slots.size(); ++i) {
    auto& slot = l.slots[i];
    if (i > 0)
      line += ' ';
    if (slot.col == column::trend)
      line += sparkline(row.history, slot.width, utf8);
    else
      line += fit(row.cells[static_cast<size_t>(slot.col)], slot.width, spec(slot.col).al, utf8);
  }
  return clip(line, width);
}

std::string render_header(const table_layout& l, const table_options& o, int width, bool utf8) {
  std::string line;
  for (size_t i = 0; i < l.slots.size(); ++i) {
    auto& slot = l.slots[i];
    if (i > 0)
      line += ' ';
    std::string title = spec(slot.col).title;
    if (o.sort && *o.sort == slot.col) {
      bool down = slot.col == column::stage ? o.reverse : !o.reverse;
      std::string mark = utf8 ? (down ? "▼" : "▲") : (down ? "v" : "^");
      if (display_width(title) + 1 <= slot.width)
        title = spec(slot.col).al == align::right ? mark + title : title + mark;
      else
        title = mark + title.substr(1);
    }
    line += fit(title, slot.width, spec(slot.col).al, utf8);
  }
  return clip(line, width);
}

} // namespace sluice::top
