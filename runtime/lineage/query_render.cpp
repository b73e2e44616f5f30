#include "lineage/query_render.hpp"

#include <cstdio>
#include <ctime>
#include <sstream>

namespace sluice {

using nlohmann::json;

// -- times --------------------------------------------------------------------

std::string format_lineage_time(int64_t us) {
  auto secs = static_cast<time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
  auto frac = us - static_cast<int64_t>(secs) * 1'000'000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

result<int64_t> parse_lineage_time(const std::string& text, int64_t now_us) {
  auto bad = [&] {
    return error{errc::invalid_config,
                 "bad time '" + text + "': use ISO-8601 UTC (2026-12-06T04:00:00Z or 2026-12-06)"
                   " or an age (30s, 10m, 2h, 7d)"};
  };
  if (text.empty())
    return bad();
  // An age: digits and one unit.
  if (auto unit = text.back(); text.size() >= 2 && std::string{"smhd"}.find(unit) != std::string::npos
                               && text.find_first_not_of("0123456789") == text.size() - 1) {
    int64_t n = 0;
    try {
      n = std::stoll(text.substr(0, text.size() - 1));
    } catch (const std::exception&) {
      return bad();
    }
    int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
    return now_us - n * scale * 1'000'000;
  }
  std::tm tm{};
  int consumed = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double s = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10)
    return bad();
  std::string rest = text.substr(10);
  if (!rest.empty()) {
    int used = 0;
    if (rest.size() < 7 || (rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ')
        || rest.back() != 'Z')
      return bad();
    auto body = rest.substr(1, rest.size() - 2); // HH:MM[:SS[.frac]]
    int fields = std::sscanf(body.c_str(), "%2d:%2d%n", &h, &mi, &used);
    if (fields != 2)
      return bad();
    if (static_cast<size_t>(used) < body.size()) {
      if (body[static_cast<size_t>(used)] != ':')
        return bad();
      auto sec = body.substr(static_cast<size_t>(used) + 1);
      if (sec.empty() || sec.find_first_not_of("0123456789.") != std::string::npos)
        return bad();
      try {
        s = std::stod(sec);
      } catch (const std::exception&) {
        return bad();
      }
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s >= 61)
    return bad();
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  auto secs = static_cast<int64_t>(timegm(&tm));
  return secs * 1'000'000 + static_cast<int64_t>(s * 1e6 + 0.5);
}

// -- runs ---------------------------------------------------------------------

namespace {

std::string pad(std::string s, size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

std::string short_time(int64_t us) {
  // Milliseconds are enough for people; JSON keeps microseconds.
  auto t = format_lineage_time(us);
  return t.substr(0, 23) + "Z";
}

json origin_json(const lineage_origin& o) {
  json j{{"text", o.to_string()}, {"stage", o.stage}, {"derived", o.derived}};
  if (o.derived) {
    j["replica"] = o.key.file;
    j["output"] = o.key.line;
  } else {
    j["file"] = o.file;
    j["line"] = o.key.line;
  }
  return j;
}

json step_json(const lineage_step& s) {
  json j{{"stage", s.stage},   {"replica", s.replica},       {"time", format_lineage_time(s.time_us)},
         {"time_us", s.time_us}, {"outcome", to_string(s.outcome)}, {"detail", s.detail}};
  if (s.attempt)
    j["attempt"] = s.attempt;
  return j;
}

std::string outcome_text(const lineage_step& s) {
  std::string o = to_string(s.outcome);
  if (s.attempt)
    o += " (attempt " + std::to_string(s.attempt) + ")";
  return o;
}

} // namespace

std::string lineage_origin::to_string() const {
  if (derived)
    return stage + "#" + std::to_string(key.file) + ":" + std::to_string(key.line);
  return file + ":" + std::to_string(key.line);
}

std::string render_runs(const std::vector<lineage_run_summary>& runs) {
  if (runs.empty())
    return "no runs\n";
  std::ostringstream out;
  out << pad("run", 5) << pad("started", 26) << pad("status", 9) << pad("mode", 13)
      << pad("records", 10) << pad("events", 10) << "pipeline\n";
  for (auto& r : runs) {
    std::string mode = r.mode;
    if (r.mode == "sampled") {
      char rate[64];
      std::snprintf(rate, sizeof rate, " %g", r.sample_rate);
      mode += rate;
    }
    out << pad(std::to_string(r.run), 5) << pad(short_time(r.started_us), 26)
        << pad(r.status, 9) << pad(mode, 13) << pad(std::to_string(r.records), 10)
        << pad(std::to_string(r.events), 10) << r.pipeline;
    if (!r.config_path.empty())
      out << " (" << r.config_path << ")";
    out << '\n';
  }
  return out.str();
}

json runs_json(const std::vector<lineage_run_summary>& runs) {
  json out = json::array();
  for (auto& r : runs)
    out.push_back({{"run", r.run},
                   {"pipeline", r.pipeline},
                   {"config_path", r.config_path},
                   {"started", format_lineage_time(r.started_us)},
                   {"started_us", r.started_us},
                   {"ended", r.ended_us ? json(format_lineage_time(*r.ended_us)) : json()},
                   {"ended_us", r.ended_us ? json(*r.ended_us) : json()},
                   {"status", r.status},
                   {"mode", r.mode},
                   {"sample_rate", r.sample_rate},
                   {"records", r.records},
                   {"events", r.events}});
  return out;
}

// -- trace --------------------------------------------------------------------

std::string render_trace(const lineage_trace& t) {
  std::ostringstream out;
  if (t.records.empty()) {
    out << "no record with id '" << t.record_id << "' in run " << t.run;
    if (!t.other_runs.empty()) {
      out << " (it is in run";
      out << (t.other_runs.size() > 1 ? "s " : " ");
      for (size_t i = 0; i < t.other_runs.size(); ++i)
        out << (i ? ", " : "") << t.other_runs[i];
      out << ": use --run)";
    }
    out << '\n';
    return out.str();
  }
  for (size_t i = 0; i < t.records.size(); ++i) {
    auto& r = t.records[i];
    if (i)
      out << '\n';
    out << "record " << r.record_id << " (";
    if (r.origin.derived)
      out << "derived by " << r.origin.stage << ", replica " << r.origin.key.file << ", output "
          << r.origin.key.line;
    else
      out << r.origin.to_string();
    out << "), run " << t.run << '\n';
    size_t stage_w = 5;
    for (auto& s : r.steps)
      stage_w = std::max(stage_w, s.stage.size() + 4);
    for (auto& s : r.steps) {
      out << "  " << short_time(s.time_us) << "  "
          << pad(s.stage + "/" + std::to_string(s.replica), stage_w) << "  ";
      if (s.detail.empty())
        out << outcome_text(s) << '\n';
      else
        out << pad(outcome_text(s), 14) << "  " << s.detail << '\n';
    }
    if (r.origin.derived) {
      out << "  parents: " << r.parent_count << " record" << (r.parent_count == 1 ? "" : "s")
          << " folded in at " << r.origin.stage;
      for (size_t p = 0; p < r.parents.size(); ++p)
        out << (p ? ", " : ": ") << r.parents[p].record_id << " (" << r.parents[p].origin.to_string()
            << ")";
      if (r.parents.size() < r.parent_count)
        out << ", ...";
      out << '\n';
    }
    for (auto& c : r.children) {
      out << "  folded into " << c.record_id << " at " << c.stage;
      if (!c.origin.stage.empty())
        out << " (" << c.origin.to_string() << ")";
      out << '\n';
    }
  }
  return out.str();
}

json trace_json(const lineage_trace& t) {
  json records = json::array();
  for (auto& r : t.records) {
    json steps = json::array();
    for (auto& s : r.steps)
      steps.push_back(step_json(s));
    auto link = [](const lineage_link& l) {
      json j{{"record_id", l.record_id}, {"stage", l.stage}};
      j["origin"] = l.origin.stage.empty() ? json() : origin_json(l.origin);
      return j;
    };
    json parents = json::array(), children = json::array();
    for (auto& p : r.parents)
      parents.push_back(link(p));
    for (auto& c : r.children)
      children.push_back(link(c));
    json jr{{"record_id", r.record_id}, {"origin", origin_json(r.origin)}, {"events", steps},
            {"children", children}};
    if (r.origin.derived) {
      jr["parent_count"] = r.parent_count;
      jr["parents"] = parents;
    }
    records.push_back(std::move(jr));
  }
  return {{"run", t.run}, {"record_id", t.record_id}, {"records", records},
          {"other_runs", t.other_runs}};
}

// -- find ---------------------------------------------------------------------

std::string render_find(const lineage_find_result& r) {
  std::ostringstream out;
  out << r.total << " event" << (r.total == 1 ? "" : "s") << " in run " << r.run;
  if (static_cast<int64_t>(r.rows.size()) < r.total)
    out << ", the first " << r.rows.size() << " by time (raise --limit for more)";
  out << '\n';
  if (r.rows.empty())
    return out.str();
  size_t id_w = 6, origin_w = 6, stage_w = 5;
  for (auto& row : r.rows) {
    id_w = std::max(id_w, row.record_id.size());
    origin_w = std::max(origin_w, row.origin.to_string().size());
    stage_w = std::max(stage_w, row.step.stage.size() + 4);
  }
  out << pad("time", 26) << pad("record", id_w + 2) << pad("origin", origin_w + 2)
      << pad("stage", stage_w + 2) << pad("outcome", 16) << "detail\n";
  for (auto& row : r.rows) {
    out << pad(short_time(row.step.time_us), 26) << pad(row.record_id, id_w + 2)
        << pad(row.origin.to_string(), origin_w + 2)
        << pad(row.step.stage + "/" + std::to_string(row.step.replica), stage_w + 2);
    if (row.step.detail.empty())
      out << outcome_text(row.step) << '\n';
    else
      out << pad(outcome_text(row.step), 16) << row.step.detail << '\n';
  }
  return out.str();
}

json find_json(const lineage_find_result& r) {
  json rows = json::array();
  for (auto& row : r.rows) {
    auto j = step_json(row.step);
    j["record_id"] = row.record_id;
    j["origin"] = origin_json(row.origin);
    rows.push_back(std::move(j));
  }
  return {{"run", r.run}, {"total", r.total}, {"events", rows}};
}

// -- graph --------------------------------------------------------------------

namespace {

std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

} // namespace

std::string render_graph_dot(const lineage_graph& g) {
  std::ostringstream out;
  out << "// lineage of run" << (g.runs.size() == 1 ? " " : "s ");
  for (size_t i = 0; i < g.runs.size(); ++i)
    out << (i ? ", " : "") << g.runs[i];
  out << "; edges count records\ndigraph lineage {\n  rankdir=LR;\n";
  for (auto& n : g.nodes) {
    auto shape = n.kind == "stage" ? "box" : n.kind == "dead_letters" ? "octagon" : "note";
    out << "  " << dot_quote(n.name) << " [label=" << dot_quote(n.label) << ", shape=" << shape
        << "];\n";
  }
  for (auto& e : g.edges) {
    auto label = e.port.empty() ? std::to_string(e.records)
                                : e.port + ": " + std::to_string(e.records);
    out << "  " << dot_quote(e.from) << " -> " << dot_quote(e.to) << " [label=" << dot_quote(label)
        << "];\n";
  }
  out << "}\n";
  return out.str();
}

json graph_json(const lineage_graph& g) {
  json nodes = json::array(), edges = json::array();
  for (auto& n : g.nodes)
    nodes.push_back({{"name", n.name}, {"kind", n.kind}, {"label", n.label}});
  for (auto& e : g.edges)
    edges.push_back({{"from", e.from}, {"to", e.to}, {"port", e.port}, {"records", e.records}});
  return {{"runs", g.runs}, {"nodes", nodes}, {"edges", edges}};
}

json event_json(int64_t run, const std::string& record_id, const lineage_origin& origin,
                const lineage_step& step) {
  json j{{"run", run},
         {"record_id", record_id},
         {"origin", origin.to_string()},
         {"stage", step.stage},
         {"replica", step.replica},
         {"time", format_lineage_time(step.time_us)},
         {"time_us", step.time_us},
         {"outcome", to_string(step.outcome)},
         {"detail", step.detail}};
  if (step.attempt)
    j["attempt"] = step.attempt;
  return j;
}

} // namespace sluice
