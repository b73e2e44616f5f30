#include "top/console.hpp"

#include <algorithm>
#include <cstdio>

#include "top/format.hpp"

namespace sluice::top {

namespace {

const std::vector<std::optional<column>> sort_cycle = {
  std::nullopt,      column::stage,     column::state,  column::in_rate,  column::out_rate,
  column::in_total,  column::out_total, column::errors, column::dlq,      column::restarts,
  column::in_flight, column::util,      column::p95,    column::trend};

constexpr int page = 10;

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (auto& p : parts) {
    if (p.empty())
      continue;
    if (!out.empty())
      out += sep;
    out += p;
  }
  return out;
}

/// Left text, and right text at the right edge when both fit.
std::string left_right(const std::string& left, const std::string& right, int width) {
  int gap = width - display_width(left) - display_width(right);
  if (gap < 2)
    return clip(left, width);
  return left + std::string(static_cast<size_t>(gap), ' ') + right;
}

} // namespace

const std::vector<std::string>& help_text() {
  static const std::vector<std::string> text = {
    "keys",
    "  q           quit",
    "  up/down j k select a stage (PgUp PgDn Home End too)",
    "  e  Enter    expand / collapse the selected stage into its replicas",
    "  s  >        sort by the next column (< the previous one)",
    "  S  r        reverse the sort",
    "  /           filter by stage id: type, Enter keeps it, Esc clears it",
    "  Esc         clear the filter",
    "  d           toggle the DAG view (edges per stage pair, with rates)",
    "  v           toggle the events pane",
    "  p           pause (keep this picture; p again resumes)",
    "  ?  h        this help (any key closes it)",
    "",
    "colours: yellow = backpressured (its output window is full),",
    "         red = failing (state failing/failed or errors rising), dim = done",
  };
  return text;
}

console::console(std::string address, bool utf8) : address_(std::move(address)), utf8_(utf8) {
  opts_.utf8 = utf8;
}

void console::update(metrics_snapshot s, int64_t now_us) {
  link_ = link_state::live;
  link_note_.clear();
  if (paused_)
    return;
  // "Errors rising" compares with the previous picture the run took, not the
  // previous answer: polling faster than the run samples repeats a picture.
  bool same_picture = snap_ && s.sequence != 0 && s.sequence == snap_->sequence;
  if (!same_picture) {
    errors_before_.clear();
    if (snap_)
      for (auto& v : snap_->stages)
        errors_before_[v.id] = v.totals.errors;
  }
  snap_ = std::move(s);
  last_update_us_ = now_us;
}

void console::set_link(link_state st, std::string note) {
  link_ = st;
  link_note_ = std::move(note);
}

std::vector<table_row> console::rows() const {
  if (!snap_)
    return {};
  return table_rows(*snap_, opts_, errors_before_);
}

int console::selected_index(const std::vector<table_row>& rows) const {
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i].stage == sel_stage_ && rows[i].replica == sel_replica_)
      return static_cast<int>(i);
  for (size_t i = 0; i < rows.size(); ++i) // its replica row went away (collapsed)
    if (rows[i].stage == sel_stage_ && !rows[i].replica)
      return static_cast<int>(i);
  return 0;
}

void console::select(const std::vector<table_row>& rows, int index) {
  if (rows.empty())
    return;
  index = std::clamp(index, 0, static_cast<int>(rows.size()) - 1);
  sel_stage_ = rows[static_cast<size_t>(index)].stage;
  sel_replica_ = rows[static_cast<size_t>(index)].replica;
}

bool console::press(int k) {
  if (help_) { // any key closes the help, q still quits
    help_ = false;
    return k != 'q' && k != 'Q';
  }
  if (editing_) {
    if (k == key_enter) {
      editing_ = false;
    } else if (k == key_escape) {
      editing_ = false;
      opts_.filter.clear();
    } else if (k == key_backspace) {
      if (!opts_.filter.empty()) {
        opts_.filter.pop_back();
        while (!opts_.filter.empty() && (opts_.filter.back() & 0xC0) == 0x80)
          opts_.filter.pop_back();
      }
    } else if (k >= 0x20 && k < 0x100 && k != 0x7f) {
      opts_.filter += static_cast<char>(k);
    }
    return true;
  }
  auto all = rows();
  int at = selected_index(all);
  switch (k) {
    case 'q':
    case 'Q':
      return false;
    case key_up:
    case 'k':
      select(all, at - 1);
      break;
    case key_down:
    case 'j':
      select(all, at + 1);
      break;
    case key_page_up:
      select(all, at - page);
      break;
    case key_page_down:
      select(all, at + page);
      break;
    case key_home:
    case 'g':
      select(all, 0);
      break;
    case key_end:
    case 'G':
      select(all, static_cast<int>(all.size()) - 1);
      break;
    case 'e':
    case key_enter:
      if (!all.empty()) {
        select(all, at);
        auto stage = sel_stage_;
        if (opts_.expanded.erase(stage) == 0)
          opts_.expanded.insert(stage);
        sel_replica_.reset(); // stay on the stage row
      }
      break;
    case 's':
    case '>':
    case '<': {
      auto it = std::find(sort_cycle.begin(), sort_cycle.end(), opts_.sort);
      auto i = static_cast<size_t>(it - sort_cycle.begin());
      auto n = sort_cycle.size();
      opts_.sort = sort_cycle[k == '<' ? (i + n - 1) % n : (i + 1) % n];
      opts_.reverse = false;
      break;
    }
    case 'S':
    case 'r':
      opts_.reverse = !opts_.reverse;
      break;
    case '/':
      editing_ = true;
      break;
    case key_escape:
      opts_.filter.clear();
      break;
    case 'd':
      dag_ = !dag_;
      break;
    case 'v':
      events_ = !events_;
      break;
    case 'p':
      paused_ = !paused_;
      break;
    case '?':
    case 'h':
      help_ = true;
      break;
    default:
      break;
  }
  return true;
}

std::vector<std::string> console::header_lines(int width) const {
  if (!snap_)
    return {clip("sluice top  " + address_ + (paused_ ? "  PAUSED" : ""), width), ""};
  auto& s = *snap_;
  double read_rate = 0;
  for (auto& v : s.stages)
    if (v.role == "source")
      read_rate += v.out_per_s;
  std::string first = join({s.pipeline.empty() ? "(unnamed)" : s.pipeline, s.status,
                            "up " + format_uptime(s.node.uptime_s),
                            "read " + format_count(static_cast<double>(s.records_read)) + " ("
                              + format_rate(read_rate) + "/s)",
                            "in flight " + format_count(static_cast<double>(s.in_flight))},
                           "  ");
  std::string second = join({"cpu " + std::to_string(static_cast<int>(s.node.cpu_percent + 0.5)) + "%",
                             "rss " + format_bytes(s.node.rss_bytes),
                             "pid " + std::to_string(s.node.pid),
                             "actors " + std::to_string(s.node.actors),
                             "threads " + std::to_string(s.node.threads)},
                            "  ");
  std::vector<std::string> out{left_right(first, paused_ ? "PAUSED" : "", width),
                               left_right(second, address_, width)};
  // Calling stages and their limits (docs/rate-limits.md): what the calls
  // cost so far and which limit holds them back.
  uint64_t calls = 0, failures = 0, tokens = 0;
  double cost = 0;
  for (auto& v : s.stages) {
    calls += v.totals.calls;
    failures += v.totals.call_failures;
    tokens += v.totals.prompt_tokens + v.totals.completion_tokens;
    cost += v.totals.cost_usd;
  }
  if (calls > 0 || !s.rate_limits.empty()) {
    std::vector<std::string> parts{"calls " + format_count(static_cast<double>(calls)) + " ("
                                   + format_count(static_cast<double>(failures)) + " failed)"};
    if (tokens > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "$%.2f", cost);
      parts.push_back("tokens " + format_count(static_cast<double>(tokens)) + "  cost " + buf);
    }
    for (auto& r : s.rate_limits) {
      auto slots = r.max_concurrency > 0 ? "/" + std::to_string(r.max_concurrency) : std::string{};
      parts.push_back("limit " + r.name + ": " + std::to_string(r.in_use) + slots + " in use, "
                      + std::to_string(r.waiting) + " waiting");
    }
    out.push_back(clip(join(parts, "  "), width));
  }
  return out;
}

std::vector<frame_line> console::dag_lines(int width) const {
  std::vector<frame_line> out;
  std::string arrow = utf8_ ? " → " : " -> ";
  struct item {
    std::string label;
    edge_view e;
  };
  std::vector<item> items;
  int label_w = 4;
  std::vector<edge_view> edges;
  if (snap_) {
    // Pipeline order: by the sending stage, then the receiving one (dlq last).
    std::map<std::string, size_t> rank;
    for (size_t i = 0; i < snap_->stages.size(); ++i)
      rank.emplace(snap_->stages[i].id, i);
    auto rank_of = [&](const std::string& id) {
      auto it = rank.find(id);
      return it == rank.end() ? rank.size() : it->second;
    };
    edges = stage_edges(snap_->edges);
    std::stable_sort(edges.begin(), edges.end(), [&](const edge_view& a, const edge_view& b) {
      return std::make_pair(rank_of(a.from), rank_of(a.to))
             < std::make_pair(rank_of(b.from), rank_of(b.to));
    });
  }
  for (auto& e : edges) {
    if (!opts_.filter.empty() && e.from.find(opts_.filter) == std::string::npos
        && e.to.find(opts_.filter) == std::string::npos)
      continue;
    auto label = e.from + (e.port.empty() ? "" : "." + e.port) + arrow + e.to;
    label_w = std::max(label_w, display_width(label));
    items.push_back({std::move(label), e});
  }
  label_w = std::max(4, std::min(label_w, width - 21));
  auto line = [&](const std::string& label, const std::string& rate, const std::string& total,
                  const std::string& flight) {
    return clip(fit(label, label_w, align::left, utf8_) + " " + fit(rate, 5, align::right, utf8_)
                  + " " + fit(total, 7, align::right, utf8_) + " "
                  + fit(flight, 6, align::right, utf8_),
                width);
  };
  out.push_back({line("EDGE", "REC/S", "RECORDS", "INFLT"), style::title});
  for (auto& it : items) {
    frame_line fl{line(it.label, format_rate(it.e.per_s), format_count(static_cast<double>(it.e.records)),
                       std::to_string(it.e.in_flight) + "/" + std::to_string(it.e.window)),
                  style::normal};
    if (it.e.window > 0 && it.e.in_flight >= it.e.window)
      fl.st = style::backpressured;
    out.push_back(std::move(fl));
  }
  if (items.empty())
    out.push_back({clip(snap_ ? "(no edges)" : "", width), style::normal});
  return out;
}

std::vector<std::string> console::event_lines(int width, size_t max) const {
  std::vector<std::string> out;
  if (!snap_)
    return out;
  auto& ev = snap_->events;
  auto first = ev.size() > max ? ev.size() - max : 0;
  for (size_t i = first; i < ev.size(); ++i) {
    auto& e = ev[i];
    std::string text = format_clock(e.time_us) + " " + e.kind;
    if (!e.stage.empty())
      text += " " + e.stage;
    if (!e.message.empty())
      text += ": " + e.message;
    out.push_back(clip(text, width));
  }
  return out;
}

std::vector<std::string> console::status_lines(int width) const {
  std::vector<std::string> parts;
  auto last = last_update_us_ > 0 ? format_clock(last_update_us_) : std::string{"never"};
  if (editing_) {
    parts.push_back("filter: " + opts_.filter + (utf8_ ? "▏" : "_"));
    parts.push_back("Enter keeps it, Esc clears it");
  } else if (link_ == link_state::gone) {
    parts.push_back("pipeline process at " + address_ + " is gone (last update " + last + ")");
    parts.push_back("press q to quit");
  } else if (link_ == link_state::not_answering) {
    parts.push_back("pipeline process at " + address_ + " is not answering (last update " + last
                    + ")");
  } else if (link_ == link_state::connecting) {
    parts.push_back("waiting for the first snapshot from " + address_);
  } else {
    std::string state = paused_ ? "PAUSED at " + last : "updated " + last;
    std::string sort = "sort ";
    if (opts_.sort) {
      bool down = *opts_.sort == column::stage ? opts_.reverse : !opts_.reverse;
      sort += std::string{column_name(*opts_.sort)} + (utf8_ ? (down ? " ▼" : " ▲") : (down ? " v" : " ^"));
    } else {
      sort += opts_.reverse ? "pipeline order, reversed" : "pipeline order";
    }
    parts.push_back(join({state, sort, opts_.filter.empty() ? "" : "filter '" + opts_.filter + "'"},
                         "  "));
  }
  if (!link_note_.empty())
    parts.push_back(link_note_);
  std::string help = "? help  q quit";
  std::string one = join(parts, "; ");
  bool alert = link_ == link_state::gone || link_ == link_state::not_answering;
  if (display_width(one) + (alert ? 0 : 2 + display_width(help)) <= width)
    return {alert ? one : left_right(one, help, width)};
  // Two lines: the first part, then the rest.
  std::string rest = join(std::vector<std::string>(parts.begin() + 1, parts.end()), "; ");
  if (parts.size() < 2)
    return {clip(one, width)};
  return {clip(parts[0] + ";", width), clip(rest, width)};
}

std::vector<frame_line> console::compose(int width, int height) const {
  std::vector<frame_line> top;
  for (auto& h : header_lines(width))
    top.push_back({h, style::header});
  std::vector<frame_line> bottom;
  bool alert = link_ == link_state::gone || link_ == link_state::not_answering;
  for (auto& s : status_lines(width))
    bottom.push_back({s, alert ? style::alert : style::status});
  std::vector<frame_line> events;
  if (events_ && !help_ && snap_ && !snap_->events.empty() && height >= 16) {
    auto lines = event_lines(width, static_cast<size_t>(std::min(5, height / 5)));
    std::string rule = utf8_ ? "── events " : "-- events ";
    while (display_width(rule) < width)
      rule += utf8_ ? "─" : "-";
    events.push_back({clip(rule, width), style::title});
    for (auto& l : lines)
      events.push_back({l, style::normal});
  }
  int body_h = height - static_cast<int>(top.size() + bottom.size() + events.size());
  if (body_h < 2) { // a tiny terminal: the table first, then the status line
    events.clear();
    top.resize(std::min<size_t>(top.size(), 1));
    body_h = std::max(0, height - static_cast<int>(top.size() + bottom.size()));
  }
  std::vector<frame_line> body;
  if (help_) {
    for (auto& h : help_text())
      body.push_back({clip(h, width), style::normal});
  } else if (!snap_) {
    body.push_back({"", style::normal});
    body.push_back({clip("  waiting for the first snapshot from " + address_ + " ...", width),
                    style::normal});
  } else if (dag_) {
    body = dag_lines(width);
  } else {
    auto all = rows();
    auto l = layout_table(width, all);
    body.push_back({render_header(l, opts_, width, utf8_), style::title});
    int sel = selected_index(all);
    int visible = std::max(0, body_h - 1);
    int offset = sel >= visible ? sel - visible + 1 : 0;
    for (int i = offset; i < static_cast<int>(all.size()) && i - offset < visible; ++i) {
      auto& r = all[static_cast<size_t>(i)];
      style st = r.hl == highlight::backpressured ? style::backpressured
                 : r.hl == highlight::failing     ? style::failing
                 : r.hl == highlight::done        ? style::done
                                                  : style::normal;
      body.push_back({render_row(r, l, width, utf8_), st, i == sel});
    }
    if (all.empty())
      body.push_back({clip("  no stage matches '" + opts_.filter + "' (Esc clears the filter)", width),
                      style::normal});
  }
  body.resize(static_cast<size_t>(std::max(0, body_h)));
  std::vector<frame_line> out = std::move(top);
  out.insert(out.end(), body.begin(), body.end());
  out.insert(out.end(), events.begin(), events.end());
  out.insert(out.end(), bottom.begin(), bottom.end());
  out.resize(static_cast<size_t>(std::max(0, height)));
  return out;
}

std::vector<std::string> console::plain_text(int width) const {
  std::vector<std::string> out = header_lines(width);
  out.push_back("");
  auto all = rows();
  auto l = layout_table(width, all);
  out.push_back(render_header(l, opts_, width, utf8_));
  for (auto& r : all)
    out.push_back(render_row(r, l, width, utf8_));
  out.push_back("");
  for (auto& d : dag_lines(width))
    out.push_back(d.text);
  for (auto& line : out) // a file or a pipe gets no padding
    line.erase(line.find_last_not_of(' ') + 1);
  return out;
}

} // namespace sluice::top
