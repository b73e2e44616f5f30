#include "lineage/query.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <ostream>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "lineage/block.hpp"
#include "lineage/query_render.hpp"
#include "lineage/sqlite_db.hpp"

namespace sluice {

namespace {

using lineage_db::connection;
using lineage_db::statement;

/// Column 0 of every row `st` gives, as integers; an error names the store.
result<std::vector<int64_t>> int64_rows(const connection& db, statement& st) {
  std::vector<int64_t> out;
  while (st.step())
    out.push_back(st.int64(0));
  if (!st.ok())
    return db.fail(st.message());
  return out;
}

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

using block_events = std::vector<lineage_event>;

bool key_less(const lineage_key& a, const lineage_key& b) {
  return std::tie(a.source, a.file, a.line) < std::tie(b.source, b.file, b.line);
}

lineage_block::bucket bucket_of(const lineage_key& key) {
  return {key.source, key.file, lineage_block::bucket_of(key.line)};
}

bool in_bucket(const lineage_key& key, const lineage_block::bucket& b) {
  return key.source == b.source && key.file == b.file
         && lineage_block::bucket_of(key.line) == b.index;
}

lineage_step step_of(const lineage_event& ev, const run_names& names) {
  return {names.stage_id(ev.stage), ev.replica, ev.time_us, ev.outcome, ev.attempt, ev.detail};
}

// find's order: by time, then by record and stage (the rest only makes it total).
bool row_before(const lineage_event& a, const lineage_event& b) {
  return std::tie(a.time_us, a.key.source, a.key.file, a.key.line, a.stage, a.outcome, a.attempt,
                  a.replica)
         < std::tie(b.time_us, b.key.source, b.key.file, b.key.line, b.stage, b.outcome, b.attempt,
                    b.replica);
}

// The store holds each event once (the recorder drops batches delivered
// again); should one be there twice all the same (record, stage, outcome,
// attempt), it is shown once, at its earliest time. `evs` is one record's
// events in time order.
void drop_repeats(std::vector<const lineage_event*>& evs) {
  size_t kept = 0;
  for (size_t i = 0; i < evs.size(); ++i) {
    auto* ev = evs[i];
    bool seen = std::any_of(evs.begin(), evs.begin() + static_cast<ptrdiff_t>(kept),
                            [&](const lineage_event* k) {
                              return k->stage == ev->stage && k->outcome == ev->outcome
                                     && k->attempt == ev->attempt;
                            });
    if (!seen)
      evs[kept++] = ev;
  }
  evs.resize(kept);
}

/// One query's reader of one run's event blocks. A query meets the same
/// blocks again and again (a record's events and the ids of the rows it
/// shows share a few blocks), so blocks asked for by `events` are decoded
/// once per query, and record ids are indexed by key bucket once looked up.
/// Scans that see a block once decode it without keeping it.
class block_reader {
public:
  static result<block_reader> open(connection& db, int64_t run) {
    block_reader r{db, run};
    SLUICE_TRY(load, db.prepare("SELECT stage, replica, data FROM blocks WHERE block = ?"));
    SLUICE_TRY(bucket, db.prepare("SELECT block FROM block_keys"
                                  " WHERE run = ?1 AND src = ?2 AND file = ?3 AND bucket = ?4"));
    SLUICE_TRY(origin, db.prepare(
      "SELECT k.block FROM block_keys k JOIN blocks b ON b.block = k.block"
      " WHERE k.run = ?1 AND k.src = ?2 AND k.file = ?3 AND k.bucket = ?4 AND b.stage = ?2"
      " ORDER BY k.block"));
    // Only blocks of origin stages keep ids: read just those rows (the
    // counts say which stages have events of their own records).
    SLUICE_TRY(named, db.prepare(
      "SELECT block, ids FROM blocks WHERE run = ?1 AND stage IN (SELECT stage FROM flows"
      " WHERE run = ?1 AND src = stage AND (?2 < 0 OR stage = ?2)) AND ids IS NOT NULL"));
    r.load_ = std::move(load);
    r.bucket_blocks_ = std::move(bucket);
    r.origin_blocks_ = std::move(origin);
    r.named_ = std::move(named);
    return r;
  }

  /// Block `block`'s events, decoded once per reader; none when the block
  /// is gone (a run pruned while the query reads it).
  result<const block_events*> events(int64_t block) {
    if (auto i = decoded_.find(block); i != decoded_.end())
      return &i->second;
    SLUICE_TRY(evs, decode(block));
    return &(decoded_[block] = std::move(evs));
  }

  /// Block `block`'s events without keeping them.
  result<block_events> decode(int64_t block) {
    load_.reset().bind(1, block);
    if (!load_.step()) {
      if (!load_.ok())
        return fail(load_);
      return block_events{};
    }
    auto evs = lineage_block::decode(load_.blob(2), static_cast<stage_index>(load_.int64(0)),
                                     static_cast<uint32_t>(load_.int64(1)));
    load_.reset();
    if (!evs)
      return db_->fail(evs.err().message);
    return std::move(*evs);
  }

  /// Forgets the decoded blocks not in `keep` (sorted).
  void keep_only(const std::vector<int64_t>& keep) {
    for (auto i = decoded_.begin(); i != decoded_.end();)
      i = std::binary_search(keep.begin(), keep.end(), i->first) ? std::next(i) : decoded_.erase(i);
  }

  /// The blocks holding events of records in bucket `b` (only those of the
  /// records' origin stage, which name them, with `origin_only`), in order.
  result<std::vector<int64_t>> blocks_of(const lineage_block::bucket& b, bool origin_only) {
    auto& st = origin_only ? origin_blocks_ : bucket_blocks_;
    st.reset().bind(1, run_).bind(2, int64_t{b.source}).bind(3, int64_t{b.file}).bind(4, b.index);
    return int64_rows(*db_, st);
  }

  /// Record `key`'s events, in no particular order.
  result<std::vector<const lineage_event*>> events_of(const lineage_key& key) {
    SLUICE_TRY(blocks, blocks_of(bucket_of(key), false));
    std::vector<const lineage_event*> out;
    for (auto block : blocks) {
      SLUICE_TRY(evs, events(block));
      for (auto& ev : *evs)
        if (ev.key == key)
          out.push_back(&ev);
    }
    return out;
  }

  /// Record `key`'s id ("" if none was stored): events name their record
  /// only at its origin stage, in the blocks of its bucket. The whole
  /// bucket is indexed at once, as rows looked up together are neighbours.
  result<std::string> id_of(const lineage_key& key) {
    auto b = bucket_of(key);
    auto i = ids_.find(b);
    if (i == ids_.end()) {
      std::unordered_map<uint64_t, std::string> lines;
      SLUICE_TRY(blocks, blocks_of(b, true));
      block_events scratch;
      for (auto block : blocks) {
        SLUICE_TRY(evs, peek(block, scratch));
        for (auto& ev : *evs) // the first id stored wins
          if (!ev.record_id.empty() && in_bucket(ev.key, b))
            lines.try_emplace(ev.key.line, ev.record_id);
      }
      i = ids_.emplace(b, std::move(lines)).first;
    }
    auto l = i->second.find(key.line);
    return l != i->second.end() ? l->second : std::string{};
  }

  /// The keys of the records named `id` whose origin is `stage` (any stage
  /// when < 0), sorted, each once.
  result<std::vector<lineage_key>> keys_named(const std::string& id, int64_t stage = -1) {
    SLUICE_TRY(candidates, blocks_naming(run_, id, stage));
    std::vector<lineage_key> keys;
    for (auto block : candidates) { // kept: a trace reads the record's events next
      SLUICE_TRY(evs, events(block));
      for (auto& ev : *evs)
        if (ev.record_id == id)
          keys.push_back(ev.key);
    }
    std::sort(keys.begin(), keys.end(), key_less);
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
  }

  /// Which of `runs` hold a record named `id`.
  result<std::vector<int64_t>> runs_naming(const std::string& id, const std::vector<int64_t>& runs) {
    std::vector<int64_t> out;
    for (auto run : runs) {
      SLUICE_TRY(candidates, blocks_naming(run, id, -1));
      for (auto block : candidates) {
        SLUICE_TRY(evs, decode(block));
        if (std::any_of(evs.begin(), evs.end(), [&](auto& ev) { return ev.record_id == id; })) {
          out.push_back(run);
          break;
        }
      }
    }
    return out;
  }

  /// The keys of the records folded into `id` at `stage` (a derived
  /// record's parents: the stage's folded events name their output's id),
  /// sorted, each once.
  result<std::vector<lineage_key>> folded_into(const std::string& id, stage_index stage) {
    SLUICE_TRY(st, db_->prepare("SELECT block FROM blocks WHERE run = ? AND stage = ?"
                                " AND (outcomes & ?) != 0 ORDER BY block"));
    st.bind(1, run_).bind(2, int64_t{stage});
    st.bind(3, int64_t{1} << static_cast<int>(lineage_outcome::folded));
    SLUICE_TRY(blocks, int64_rows(*db_, st));
    std::vector<lineage_key> keys;
    block_events scratch;
    for (auto block : blocks) {
      SLUICE_TRY(evs, peek(block, scratch));
      for (auto& ev : *evs)
        if (ev.outcome == lineage_outcome::folded && ev.detail == id)
          keys.push_back(ev.key);
    }
    std::sort(keys.begin(), keys.end(), key_less);
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
  }

private:
  block_reader(connection& db, int64_t run) : db_(&db), run_(run) {}

  error fail(const statement& s) const {
    return db_->fail(s.message());
  }

  // The blocks of `run` that may name `id` (its origin at `stage`, any when
  // < 0), by their Bloom filters: decode them to see.
  result<std::vector<int64_t>> blocks_naming(int64_t run, const std::string& id, int64_t stage) {
    named_.reset().bind(1, run).bind(2, stage);
    std::vector<int64_t> out;
    while (named_.step())
      if (lineage_block::may_name(named_.blob(1), id))
        out.push_back(named_.int64(0));
    if (!named_.ok())
      return fail(named_);
    return out;
  }

  // The block's kept events if it was decoded before, else decoded into `scratch`.
  result<const block_events*> peek(int64_t block, block_events& scratch) {
    if (auto i = decoded_.find(block); i != decoded_.end())
      return &i->second;
    SLUICE_TRY(evs, decode(block));
    scratch = std::move(evs);
    return &scratch;
  }

  connection* db_;
  int64_t run_;
  statement load_, bucket_blocks_, origin_blocks_, named_;
  std::unordered_map<int64_t, block_events> decoded_;
  std::map<lineage_block::bucket, std::unordered_map<uint64_t, std::string>> ids_;
};

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
    return int64_rows(db, st);
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
                               "('runs','stages','files','edges','blocks','block_keys','flows')"));
  if (tables != 7)
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
  lineage_trace t;
  t.record_id = record_id;
  SLUICE_TRY(r, impl_->resolve_run(run));
  t.run = r;
  SLUICE_TRY(names, impl_->names_of(r));
  SLUICE_TRY(blocks, block_reader::open(impl_->db, r));
  SLUICE_TRY(keys, blocks.keys_named(record_id));
  if (keys.empty()) {
    SLUICE_TRY(all, impl_->run_numbers());
    all.erase(std::remove(all.begin(), all.end(), r), all.end());
    SLUICE_TRY(others, blocks.runs_naming(record_id, all));
    t.other_runs = std::move(others);
    return t;
  }
  for (auto& key : keys) {
    lineage_record_trace rt;
    rt.record_id = record_id;
    rt.origin = names->origin(key);
    SLUICE_TRY(events, blocks.events_of(key));
    std::sort(events.begin(), events.end(), [](auto* a, auto* b) {
      return std::tie(a->time_us, a->stage, a->attempt, a->outcome)
             < std::tie(b->time_us, b->stage, b->attempt, b->outcome);
    });
    drop_repeats(events);
    std::vector<std::pair<stage_index, std::string>> folds; // (stage, into)
    for (auto* ev : events) {
      rt.steps.push_back(step_of(*ev, *names));
      if (ev->outcome == lineage_outcome::folded)
        folds.emplace_back(ev->stage, ev->detail);
    }
    if (rt.origin.derived) {
      SLUICE_TRY(parents, blocks.folded_into(record_id, key.source));
      rt.parent_count = parents.size();
      for (size_t i = 0; i < parents.size() && i < max_parents; ++i) {
        SLUICE_TRY(id, blocks.id_of(parents[i]));
        rt.parents.push_back({id, names->origin(parents[i]), rt.origin.stage});
      }
    }
    for (auto& [stage, into] : folds) {
      SLUICE_TRY(outs, blocks.keys_named(into, stage));
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
  std::string file_list;
  for (auto& [src, file] : files)
    file_list += (file_list.empty() ? "(" : ",(") + std::to_string(src) + ","
                 + std::to_string(file) + ")";
  // The counts say which stages hold matches (files included) and, without
  // a time filter, how many.
  std::string flow_where = " WHERE run = ?1";
  if (stage >= 0)
    flow_where += " AND stage = ?2";
  if (f.outcome)
    flow_where += " AND outcome = ?3";
  if (!files.empty())
    flow_where += " AND (src, file) IN (VALUES " + file_list + ")";
  SLUICE_TRY(flows, db.prepare("SELECT stage, sum(n) FROM flows" + flow_where + " GROUP BY stage"));
  flows.bind(1, r);
  if (stage >= 0)
    flows.bind(2, stage);
  if (f.outcome)
    flows.bind(3, static_cast<int64_t>(*f.outcome));
  std::vector<int64_t> stages;
  int64_t counted_total = 0;
  while (flows.step()) {
    stages.push_back(flows.int64(0));
    counted_total += flows.int64(1);
  }
  if (!flows.ok())
    return impl_->fail(flows);
  bool counted = !f.since_us && !f.until_us;
  if (counted)
    out.total = counted_total;
  if (stages.empty())
    return out;
  // With files, only the blocks holding their records.
  std::unordered_set<int64_t> file_blocks;
  if (!files.empty()) {
    SLUICE_TRY(fb, db.prepare("SELECT block FROM block_keys WHERE run = ?1"
                              " AND (src, file) IN (VALUES " + file_list + ")"));
    fb.bind(1, r);
    while (fb.step())
      file_blocks.insert(fb.int64(0));
    if (!fb.ok())
      return impl_->fail(fb);
  }
  // The candidate blocks of each stage, earliest first (blocks_by_stage),
  // merged by first_us: with a limit, reading stops once no later block can
  // add a row.
  std::string where = " WHERE run = ?1 AND stage = ?2";
  if (f.outcome)
    where += " AND (outcomes & ?3) != 0";
  if (f.since_us)
    where += " AND last_us >= ?4";
  if (f.until_us)
    where += " AND first_us < ?5";
  struct candidate {
    statement st;
    bool live = false;
    int64_t block = 0, first_us = 0, last_us = 0, outcomes = 0, events = 0;
    bool next() {
      live = st.step();
      if (live)
        std::tie(block, first_us, last_us, outcomes, events) =
          std::make_tuple(st.int64(0), st.int64(1), st.int64(2), st.int64(3), st.int64(4));
      return st.ok();
    }
  };
  int64_t bit = f.outcome ? int64_t{1} << static_cast<int>(*f.outcome) : 0;
  std::vector<candidate> streams;
  for (auto s : stages) {
    SLUICE_TRY(st, db.prepare("SELECT block, first_us, last_us, outcomes, events FROM blocks"
                              + where + " ORDER BY first_us"));
    st.bind(1, r).bind(2, s);
    if (f.outcome)
      st.bind(3, bit);
    if (f.since_us)
      st.bind(4, *f.since_us);
    if (f.until_us)
      st.bind(5, *f.until_us);
    streams.push_back({std::move(st)});
    if (!streams.back().next())
      return impl_->fail(streams.back().st);
  }
  auto matches = [&](const lineage_event& ev) {
    return (!f.outcome || ev.outcome == *f.outcome) && (!f.since_us || ev.time_us >= *f.since_us)
           && (!f.until_us || ev.time_us < *f.until_us)
           && (files.empty()
               || std::find(files.begin(), files.end(),
                            std::pair<int64_t, int64_t>{ev.key.source, ev.key.file})
                    != files.end());
  };
  // The first `limit` matches, as a heap whose front is the last of them.
  std::vector<lineage_event> kept;
  auto keep = [&](const lineage_event& ev) {
    if (kept.size() < f.limit) {
      kept.push_back(ev);
      std::push_heap(kept.begin(), kept.end(), row_before);
    } else if (row_before(ev, kept.front())) {
      std::pop_heap(kept.begin(), kept.end(), row_before);
      kept.back() = ev;
      std::push_heap(kept.begin(), kept.end(), row_before);
    }
  };
  SLUICE_TRY(blocks, block_reader::open(db, r));
  int64_t seen = 0; // matches met so far
  while (true) {
    candidate* c = nullptr;
    for (auto& s : streams)
      if (s.live && (!c || s.first_us < c->first_us))
        c = &s;
    if (!c)
      break;
    if (files.empty() || file_blocks.count(c->block)) {
      // A block inside the time range holding nothing but the outcome asked
      // for (and no file asked for) matches whole: counted without decoding.
      bool whole = !counted && files.empty() && (!f.since_us || c->first_us >= *f.since_us)
                   && (!f.until_us || c->last_us < *f.until_us) && (!f.outcome || c->outcomes == bit);
      if (whole)
        out.total += c->events;
      // No event of a block is earlier than its first_us: once `limit` rows
      // are kept, a block starting after the last of them adds none.
      bool may_add = f.limit > 0 && (kept.size() < f.limit || c->first_us <= kept.front().time_us);
      bool to_count = !counted && !whole;
      // Counted: done when no later block adds a row, or every match is met.
      if (counted && (!may_add || seen >= out.total))
        break;
      if (may_add || to_count) {
        SLUICE_TRY(events, blocks.decode(c->block));
        for (auto& ev : events)
          if (matches(ev)) {
            ++seen;
            if (to_count)
              ++out.total;
            if (may_add)
              keep(ev);
          }
      }
    }
    if (!c->next())
      return impl_->fail(c->st);
  }
  std::sort_heap(kept.begin(), kept.end(), row_before);
  for (auto& ev : kept) {
    SLUICE_TRY(id, blocks.id_of(ev.key));
    out.rows.push_back({id, names->origin(ev.key), step_of(ev, *names)});
  }
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
  // Bucket by bucket in key order, so memory holds one bucket's blocks
  // whatever the run's size.
  SLUICE_TRY(st, db.prepare("SELECT src, file, bucket, block FROM block_keys WHERE run = ?"
                            " ORDER BY src, file, bucket, block"));
  int64_t count = 0;
  for (auto r : which) {
    SLUICE_TRY(names, impl_->names_of(r));
    SLUICE_TRY(blocks, block_reader::open(db, r));
    // The bucket's records in key order, each one's events in time order.
    auto write_bucket = [&](const lineage_block::bucket& b,
                            const std::vector<int64_t>& in_bucket_blocks) -> status {
      blocks.keep_only(in_bucket_blocks);
      std::vector<const lineage_event*> events;
      for (auto block : in_bucket_blocks) {
        SLUICE_TRY(evs, blocks.events(block));
        for (auto& ev : *evs)
          if (in_bucket(ev.key, b))
            events.push_back(&ev);
      }
      std::sort(events.begin(), events.end(), [](auto* x, auto* y) {
        return std::tie(x->key.line, x->time_us, x->stage, x->outcome, x->attempt)
               < std::tie(y->key.line, y->time_us, y->stage, y->outcome, y->attempt);
      });
      std::vector<const lineage_event*> record;
      for (size_t i = 0; i < events.size();) {
        auto key = events[i]->key;
        record.clear();
        for (; i < events.size() && events[i]->key == key; ++i)
          record.push_back(events[i]);
        drop_repeats(record);
        // Named by its events at its origin stage (the earliest, should they differ).
        std::string id;
        for (auto* ev : record)
          if (ev->stage == key.source && !ev->record_id.empty()) {
            id = ev->record_id;
            break;
          }
        auto origin = names->origin(key);
        for (auto* ev : record)
          out << event_json(r, id, origin, step_of(*ev, *names)).dump() << '\n';
        count += static_cast<int64_t>(record.size());
      }
      return status::ok();
    };
    std::optional<lineage_block::bucket> current;
    std::vector<int64_t> in_current;
    st.reset().bind(1, r);
    while (st.step()) {
      lineage_block::bucket b{static_cast<stage_index>(st.int64(0)),
                              static_cast<uint32_t>(st.int64(1)), st.int64(2)};
      if (current && !(b == *current)) {
        if (auto s = write_bucket(*current, in_current); !s)
          return s.err();
        in_current.clear();
      }
      current = b;
      in_current.push_back(st.int64(3));
    }
    if (!st.ok())
      return impl_->fail(st);
    if (current)
      if (auto s = write_bucket(*current, in_current); !s)
        return s.err();
  }
  if (!out)
    return error{errc::io_error, "cannot write the export"};
  return count;
}

} // namespace sluice
