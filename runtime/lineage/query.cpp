#include "lineage/query.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>

#include "lineage/query_render.hpp"
#include "lineage/sqlite_db.hpp"

namespace sluice {

namespace {

using lineage_db::connection;
using lineage_db::statement;

/// The names a run's indexes refer to, loaded once per run.
struct run_names {
  struct stage {
    std::string id, type, role, output;
  };
  std::map<int64_t, stage> stages;
  std::map<std::pair<int64_t, int64_t>, std::string> files; // (stage, file) -> path
  std::vector<std::tuple<int64_t, std::string, int64_t>> edges; // from, port, to

  std::string stage_id(int64_t index) const {
    auto i = stages.find(index);
    return i != stages.end() ? i->second.id : "#" + std::to_string(index);
  }

  lineage_origin origin(const lineage_key& key) const {
    lineage_origin o;
    o.key = key;
    o.stage = stage_id(key.source);
    auto s = stages.find(key.source);
    o.derived = s != stages.end() && s->second.role != "source";
    if (!o.derived) {
      auto f = files.find({key.source, key.file});
      o.file = f != files.end() ? f->second : o.stage + ":file" + std::to_string(key.file);
    }
    return o;
  }

  std::string stage_list() const {
    std::string out;
    for (auto& [i, s] : stages)
      out += (out.empty() ? "" : ", ") + s.id;
    return out;
  }
};

lineage_key key_of(const statement& s, int first_col) {
  return lineage_key{static_cast<stage_index>(s.int64(first_col)),
                     static_cast<uint32_t>(s.int64(first_col + 1)),
                     static_cast<uint64_t>(s.int64(first_col + 2))};
}

// Columns stage, outcome, attempt, replica, time_us, detail from `first_col`.
lineage_step step_of(const statement& s, int first_col, const run_names& names) {
  lineage_step st;
  st.stage = names.stage_id(s.int64(first_col));
  st.outcome = static_cast<lineage_outcome>(s.int64(first_col + 1));
  st.attempt = static_cast<uint32_t>(s.int64(first_col + 2));
  st.replica = static_cast<uint32_t>(s.int64(first_col + 3));
  st.time_us = s.int64(first_col + 4);
  st.detail = s.text(first_col + 5);
  return st;
}

bool outcome_goes_on(lineage_outcome o) {
  return o == lineage_outcome::read || o == lineage_outcome::passed
         || o == lineage_outcome::changed || o == lineage_outcome::derived;
}

// Whether a routed event's detail ("a, b") names `port`.
bool names_route(const std::string& detail, const std::string& port) {
  size_t start = 0;
  while (start <= detail.size()) {
    auto comma = std::min(detail.find(',', start), detail.size());
    auto item = detail.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item == port)
      return true;
    start = comma + 1;
  }
  return false;
}

} // namespace

struct lineage_query::impl {
  connection db;
  std::map<int64_t, run_names> names;

  error fail(const statement& s) const {
    return db.fail(s.message());
  }

  result<const run_names*> names_of(int64_t run) {
    if (auto i = names.find(run); i != names.end())
      return &i->second;
    run_names n;
    SLUICE_TRY(st, db.prepare("SELECT stage, id, type, role, output FROM stages WHERE run = ?"));
    st.bind(1, run);
    while (st.step())
      n.stages[st.int64(0)] = {st.text(1), st.text(2), st.text(3), st.text(4)};
    if (!st.ok())
      return fail(st);
    SLUICE_TRY(fs, db.prepare("SELECT stage, file, path FROM files WHERE run = ?"));
    fs.bind(1, run);
    while (fs.step())
      n.files[{fs.int64(0), fs.int64(1)}] = fs.text(2);
    if (!fs.ok())
      return fail(fs);
    SLUICE_TRY(es, db.prepare("SELECT from_stage, port, to_stage FROM edges WHERE run = ?"));
    es.bind(1, run);
    while (es.step())
      n.edges.emplace_back(es.int64(0), es.text(1), es.int64(2));
    if (!es.ok())
      return fail(es);
    return &(names[run] = std::move(n));
  }

  result<std::vector<int64_t>> run_numbers() {
    SLUICE_TRY(st, db.prepare("SELECT run FROM runs ORDER BY run"));
    std::vector<int64_t> out;
    while (st.step())
      out.push_back(st.int64(0));
    if (!st.ok())
      return fail(st);
    return out;
  }

  /// `run`, checked, or the latest run.
  result<int64_t> resolve_run(std::optional<int64_t> run) {
    SLUICE_TRY(all, run_numbers());
    if (all.empty())
      return error{errc::runtime_error,
                   "lineage store '" + db.path() + "' holds no runs yet"};
    if (!run)
      return all.back();
    if (std::find(all.begin(), all.end(), *run) == all.end()) {
      std::string list;
      for (auto r : all)
        list += (list.empty() ? "" : ", ") + std::to_string(r);
      return error{errc::runtime_error, "no run " + std::to_string(*run)
                                          + " in lineage store '" + db.path()
                                          + "' (its runs: " + list + ")"};
    }
    return *run;
  }

  /// Records with `id` in `run` deriving at `stage` (any stage when < 0).
  result<std::vector<lineage_key>> keys_of(const std::string& id, int64_t run,
                                           int64_t stage = -1) {
    SLUICE_TRY(st, db.prepare("SELECT src, file, line FROM records WHERE record_id = ? "
                              "AND run = ? AND (?3 < 0 OR src = ?3) ORDER BY src, file, line"));
    st.bind(1, id).bind(2, run).bind(3, stage);
    std::vector<lineage_key> out;
    while (st.step())
      out.push_back(key_of(st, 0));
    if (!st.ok())
      return fail(st);
    return out;
  }
};

lineage_query::lineage_query(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
lineage_query::lineage_query(lineage_query&&) noexcept = default;
lineage_query& lineage_query::operator=(lineage_query&&) noexcept = default;
lineage_query::~lineage_query() = default;

result<lineage_query> lineage_query::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return error{errc::io_error, "lineage store '" + path
                                   + "' does not exist (a pipeline with lineage enabled "
                                     "creates it at lineage.path)"};
  if (std::filesystem::is_directory(path, ec))
    return error{errc::io_error, "lineage store '" + path + "' is a directory, not a store file"};
  SLUICE_TRY(db, connection::open(path, connection::mode::read_only));
  if (auto s = lineage_db::verify_store(db); !s)
    return s.err();
  // A store with our id but without the tables (created, never written).
  SLUICE_TRY(tables, db.scalar("SELECT count(*) FROM sqlite_schema WHERE name IN "
                               "('runs','stages','files','edges','records','events','folds','flows')"));
  if (tables != 8)
    return error{errc::io_error, "'" + path + "' is not a complete sluice lineage store "
                                   "(tables are missing)"};
  auto p = std::make_unique<impl>();
  p->db = std::move(db);
  return lineage_query{std::move(p)};
}

result<std::vector<lineage_run_summary>> lineage_query::runs() {
  auto& db = impl_->db;
  SLUICE_TRY(st, db.prepare(
    "SELECT r.run, pipeline, config_path, started_us, ended_us, status, mode, sample_rate,"
    " (SELECT coalesce(sum(n), 0) FROM flows f WHERE f.run = r.run"
    "   AND outcome IN (1, 7)),"   // read, derived: a record's first event
    " (SELECT coalesce(sum(n), 0) FROM flows f WHERE f.run = r.run)"
    " FROM runs r ORDER BY r.run"));
  std::vector<lineage_run_summary> out;
  while (st.step()) {
    lineage_run_summary s;
    s.run = st.int64(0);
    s.pipeline = st.text(1);
    s.config_path = st.text(2);
    s.started_us = st.int64(3);
    if (!st.is_null(4))
      s.ended_us = st.int64(4);
    s.status = st.text(5);
    s.mode = st.text(6);
    s.sample_rate = st.real(7);
    s.records = st.int64(8);
    s.events = st.int64(9);
    out.push_back(std::move(s));
  }
  if (!st.ok())
    return impl_->fail(st);
  return out;
}

result<lineage_trace> lineage_query::trace(const std::string& record_id,
                                           std::optional<int64_t> run, size_t max_parents) {
  auto& db = impl_->db;
  lineage_trace t;
  t.record_id = record_id;
  SLUICE_TRY(r, impl_->resolve_run(run));
  t.run = r;
  SLUICE_TRY(names, impl_->names_of(r));
  SLUICE_TRY(keys, impl_->keys_of(record_id, r));
  if (keys.empty()) {
    SLUICE_TRY(others, db.prepare("SELECT DISTINCT run FROM records WHERE record_id = ? "
                                  "ORDER BY run"));
    others.bind(1, record_id);
    while (others.step())
      t.other_runs.push_back(others.int64(0));
    if (!others.ok())
      return impl_->fail(others);
    return t;
  }
  SLUICE_TRY(events, db.prepare(
    "SELECT stage, outcome, attempt, replica, time_us, detail FROM events"
    " WHERE run = ? AND src = ? AND file = ? AND line = ? ORDER BY time_us, stage, attempt"));
  SLUICE_TRY(parent_count, db.prepare(
    "SELECT count(*) FROM folds WHERE run = ? AND stage = ? AND into_id = ?"));
  SLUICE_TRY(parents, db.prepare(
    "SELECT f.src, f.file, f.line, r.record_id FROM folds f JOIN records r"
    " ON r.run = f.run AND r.src = f.src AND r.file = f.file AND r.line = f.line"
    " WHERE f.run = ? AND f.stage = ? AND f.into_id = ? ORDER BY f.src, f.file, f.line LIMIT ?"));
  for (auto& key : keys) {
    lineage_record_trace rt;
    rt.record_id = record_id;
    rt.origin = names->origin(key);
    events.reset().bind(1, r).bind(2, int64_t{key.source}).bind(3, int64_t{key.file});
    events.bind(4, static_cast<int64_t>(key.line));
    std::vector<std::pair<int64_t, std::string>> folds; // (stage, into)
    while (events.step()) {
      rt.steps.push_back(step_of(events, 0, *names));
      if (rt.steps.back().outcome == lineage_outcome::folded)
        folds.emplace_back(events.int64(0), rt.steps.back().detail);
    }
    if (!events.ok())
      return impl_->fail(events);
    if (rt.origin.derived) {
      parent_count.reset().bind(1, r).bind(2, int64_t{key.source}).bind(3, record_id);
      if (parent_count.step())
        rt.parent_count = static_cast<size_t>(parent_count.int64(0));
      parents.reset().bind(1, r).bind(2, int64_t{key.source}).bind(3, record_id);
      parents.bind(4, static_cast<int64_t>(max_parents));
      while (parents.step())
        rt.parents.push_back({parents.text(3), names->origin(key_of(parents, 0)), rt.origin.stage});
      if (!parents.ok())
        return impl_->fail(parents);
    }
    for (auto& [stage, into] : folds) {
      SLUICE_TRY(outs, impl_->keys_of(into, r, stage));
      for (auto& k : outs)
        rt.children.push_back({into, names->origin(k), names->stage_id(stage)});
      if (outs.empty()) // folded, but its output was not recorded (yet)
        rt.children.push_back({into, {}, names->stage_id(stage)});
    }
    t.records.push_back(std::move(rt));
  }
  return t;
}

result<lineage_find_result> lineage_query::find(const lineage_find_filter& f) {
  auto& db = impl_->db;
  lineage_find_result out;
  SLUICE_TRY(r, impl_->resolve_run(f.run));
  out.run = r;
  SLUICE_TRY(names, impl_->names_of(r));
  int64_t stage = -1;
  if (!f.stage.empty()) {
    for (auto& [i, s] : names->stages)
      if (s.id == f.stage)
        stage = i;
    if (stage < 0)
      return error{errc::runtime_error, "no stage '" + f.stage + "' in run " + std::to_string(r)
                                          + "; its stages: " + names->stage_list()};
  }
  // An input file: its exact path if one is, else every path containing it.
  std::vector<std::pair<int64_t, int64_t>> files;
  if (!f.file.empty()) {
    for (auto& [k, path] : names->files)
      if (path == f.file)
        files.push_back(k);
    if (files.empty())
      for (auto& [k, path] : names->files)
        if (path.find(f.file) != std::string::npos)
          files.push_back(k);
    if (files.empty()) {
      std::string list;
      for (auto& [k, path] : names->files)
        list += (list.empty() ? "" : ", ") + path;
      return error{errc::runtime_error, "no input file of run " + std::to_string(r)
                                          + " matches '" + f.file + "'; its files: "
                                          + (list.empty() ? "(none)" : list)};
    }
  }
  // Filters other than stage and outcome, on events `e`.
  std::string more;
  if (f.since_us)
    more += " AND e.time_us >= ?4";
  if (f.until_us)
    more += " AND e.time_us < ?5";
  if (!files.empty()) {
    more += " AND (e.src, e.file) IN (VALUES ";
    for (size_t i = 0; i < files.size(); ++i)
      more += (i ? ",(" : "(") + std::to_string(files[i].first) + ","
              + std::to_string(files[i].second) + ")";
    more += ")";
  }
  auto bind_all = [&](statement& s) {
    s.bind(1, r);
    if (f.since_us)
      s.bind(4, *f.since_us);
    if (f.until_us)
      s.bind(5, *f.until_us);
    s.bind(6, static_cast<int64_t>(f.limit));
  };
  // The (stage, outcome) pairs of the run that match, from the counts.
  std::string pair_where = " WHERE e.run = ?1";
  if (stage >= 0)
    pair_where += " AND e.stage = " + std::to_string(stage);
  if (f.outcome)
    pair_where += " AND e.outcome = " + std::to_string(static_cast<int>(*f.outcome));
  std::vector<std::pair<int64_t, int64_t>> pairs;
  {
    SLUICE_TRY(ps, db.prepare("SELECT DISTINCT stage, outcome FROM flows e" + pair_where));
    ps.bind(1, r);
    while (ps.step())
      pairs.emplace_back(ps.int64(0), ps.int64(1));
    if (!ps.ok())
      return impl_->fail(ps);
  }
  if (pairs.empty())
    return out;
  // Without a time filter the counts answer the total (files included).
  bool counted = !f.since_us && !f.until_us;
  std::string file_only = more.substr(more.find(" AND (e.src") == std::string::npos
                                        ? more.size() : more.find(" AND (e.src"));
  // Else a count over events_by_stage: every matching stage and outcome
  // (pairs that do not occur hold no rows), then the time range.
  std::set<int64_t> stage_set, outcome_set;
  for (auto& [s, o] : pairs) {
    stage_set.insert(s);
    outcome_set.insert(o);
  }
  auto in_list = [](const std::set<int64_t>& values) {
    std::string list;
    for (auto v : values)
      list += (list.empty() ? "" : ",") + std::to_string(v);
    return "(" + list + ")";
  };
  SLUICE_TRY(count, db.prepare(
    counted ? "SELECT coalesce(sum(n), 0) FROM flows e" + pair_where + file_only
            : "SELECT count(*) FROM events e INDEXED BY events_by_stage WHERE e.run = ?1"
              " AND e.stage IN " + in_list(stage_set) + " AND e.outcome IN "
              + in_list(outcome_set) + more));
  bind_all(count);
  if (count.step())
    out.total = count.int64(0);
  if (!count.ok())
    return impl_->fail(count);
  // Each (stage, outcome) is one range of events_by_stage already in time
  // order: take the first `limit` of each, merge, then name only those.
  std::string arms;
  for (auto& [s, o] : pairs)
    arms += std::string{arms.empty() ? "" : " UNION ALL "}
            + "SELECT * FROM (SELECT e.src, e.file, e.line, e.stage, e.outcome, e.attempt,"
              " e.replica, e.time_us, e.detail FROM events e INDEXED BY events_by_stage"
              " WHERE e.run = ?1 AND e.stage = "
            + std::to_string(s) + " AND e.outcome = " + std::to_string(o) + more
            + " ORDER BY e.time_us, e.src, e.file, e.line LIMIT ?6)";
  SLUICE_TRY(rows, db.prepare(
    "SELECT m.src, m.file, m.line, m.stage, m.outcome, m.attempt, m.replica, m.time_us,"
    " m.detail, r.record_id FROM (SELECT * FROM (" + arms
    + ") ORDER BY time_us, src, file, line LIMIT ?6) m JOIN records r ON r.run = ?1"
      " AND r.src = m.src AND r.file = m.file AND r.line = m.line"
      " ORDER BY m.time_us, m.src, m.file, m.line, m.stage"));
  bind_all(rows);
  while (rows.step())
    out.rows.push_back({rows.text(9), names->origin(key_of(rows, 0)), step_of(rows, 3, *names)});
  if (!rows.ok())
    return impl_->fail(rows);
  return out;
}

result<lineage_graph> lineage_query::graph(std::optional<int64_t> run, bool all_runs) {
  auto& db = impl_->db;
  lineage_graph g;
  if (all_runs) {
    SLUICE_TRY(all, impl_->run_numbers());
    g.runs = all;
  } else {
    SLUICE_TRY(r, impl_->resolve_run(run));
    g.runs = {r};
  }
  std::map<std::string, size_t> node_at;
  auto add_node = [&](std::string name, std::string kind, std::string label) {
    if (!node_at.count(name)) {
      node_at[name] = g.nodes.size();
      g.nodes.push_back({std::move(name), std::move(kind), std::move(label)});
    }
  };
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> edge_counts;
  std::vector<std::tuple<std::string, std::string, std::string>> edge_order;
  auto add_edge = [&](const std::string& from, const std::string& to, const std::string& port,
                      int64_t n) {
    auto k = std::make_tuple(from, to, port);
    if (!edge_counts.count(k))
      edge_order.push_back(k);
    edge_counts[k] += n;
  };
  SLUICE_TRY(flows, db.prepare("SELECT stage, outcome, file, detail, n FROM flows WHERE run = ?"
                               " AND (outcome != 1 OR src = stage)"));
  for (auto r : g.runs) {
    SLUICE_TRY(names, impl_->names_of(r));
    // Per stage: records sent on, written, dead-lettered; per route; per file read.
    std::map<int64_t, int64_t> on, written, dead;
    std::map<int64_t, std::vector<std::pair<std::string, int64_t>>> routed;
    std::map<std::pair<int64_t, int64_t>, int64_t> read;
    flows.reset().bind(1, r);
    while (flows.step()) {
      auto stage = flows.int64(0);
      auto o = static_cast<lineage_outcome>(flows.int64(1));
      auto n = flows.int64(4);
      if (o == lineage_outcome::read)
        read[{stage, flows.int64(2)}] += n;
      if (outcome_goes_on(o))
        on[stage] += n;
      else if (o == lineage_outcome::written)
        written[stage] += n;
      else if (o == lineage_outcome::dead_lettered)
        dead[stage] += n;
      else if (o == lineage_outcome::routed)
        routed[stage].emplace_back(flows.text(3), n);
    }
    if (!flows.ok())
      return impl_->fail(flows);
    auto stage_node = [&](int64_t i) { return "stage:" + names->stage_id(i); };
    for (auto& [i, s] : names->stages)
      add_node(stage_node(i), "stage", s.id + "\n" + s.type);
    for (auto& [k, path] : names->files) {
      add_node("file:" + path, "file", path);
      auto n = read.find(k);
      add_edge("file:" + path, stage_node(k.first), "", n != read.end() ? n->second : 0);
    }
    for (auto& [from, port, to] : names->edges) {
      int64_t n = 0;
      if (port.empty())
        n = on[from];
      else
        for (auto& [detail, count] : routed[from])
          if (names_route(detail, port))
            n += count;
      add_edge(stage_node(from), stage_node(to), port, n);
    }
    for (auto& [i, s] : names->stages)
      if (s.role == "sink" && !s.output.empty()) {
        add_node("output:" + s.output, "output", s.output);
        add_edge(stage_node(i), "output:" + s.output, "", written[i]);
      }
    for (auto& [i, n] : dead)
      if (n > 0) {
        add_node("dead letters", "dead_letters", "dead letters");
        add_edge(stage_node(i), "dead letters", "", n);
      }
  }
  for (auto& k : edge_order)
    g.edges.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), edge_counts[k]});
  return g;
}

result<int64_t> lineage_query::export_jsonl(std::ostream& out, std::optional<int64_t> run) {
  auto& db = impl_->db;
  std::vector<int64_t> which;
  if (run) {
    SLUICE_TRY(r, impl_->resolve_run(run));
    which = {r};
  } else {
    SLUICE_TRY(all, impl_->run_numbers());
    which = all;
  }
  SLUICE_TRY(st, db.prepare(
    "SELECT e.src, e.file, e.line, e.stage, e.outcome, e.attempt, e.replica, e.time_us,"
    " e.detail, r.record_id FROM events e JOIN records r ON r.run = e.run AND r.src = e.src"
    " AND r.file = e.file AND r.line = e.line WHERE e.run = ?"
    " ORDER BY e.src, e.file, e.line, e.stage, e.outcome, e.attempt"));
  int64_t count = 0;
  for (auto r : which) {
    SLUICE_TRY(names, impl_->names_of(r));
    // One record's events come together (key order); sort them by time.
    std::vector<std::pair<int64_t, nlohmann::json>> pending;
    lineage_key pending_key;
    auto flush = [&] {
      std::stable_sort(pending.begin(), pending.end(),
                       [](auto& a, auto& b) { return a.first < b.first; });
      for (auto& [t, j] : pending)
        out << j.dump() << '\n';
      count += static_cast<int64_t>(pending.size());
      pending.clear();
    };
    st.reset().bind(1, r);
    while (st.step()) {
      auto key = key_of(st, 0);
      if (!pending.empty() && !(key == pending_key))
        flush();
      pending_key = key;
      auto step = step_of(st, 3, *names);
      pending.emplace_back(step.time_us, event_json(r, st.text(9), names->origin(key), step));
    }
    if (!st.ok())
      return impl_->fail(st);
    flush();
  }
  if (!out)
    return error{errc::io_error, "cannot write the export"};
  return count;
}

} // namespace sluice
