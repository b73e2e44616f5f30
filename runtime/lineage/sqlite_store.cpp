// lineage_store on SQLite (docs/lineage.md has the schema and why).
// Writing only: reading is runtime/lineage/query.*.

#include <map>
#include <tuple>

#include "lineage/block.hpp"
#include "lineage/sqlite_db.hpp"
#include "lineage/store.hpp"

namespace sluice {

namespace {

using lineage_db::connection;
using lineage_db::statement;

// Every table is keyed by run first, so a run's rows are one contiguous
// range of each B-tree: appends touch the end of it, prune deletes ranges.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS runs(
  run INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, config_path TEXT NOT NULL,
  started_us INTEGER NOT NULL, ended_us INTEGER, status TEXT NOT NULL,
  mode TEXT NOT NULL, sample_rate REAL NOT NULL);
CREATE TABLE IF NOT EXISTS stages(
  run INTEGER NOT NULL, stage INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
  role TEXT NOT NULL, output TEXT NOT NULL, PRIMARY KEY(run, stage)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ports(
  run INTEGER NOT NULL, stage INTEGER NOT NULL, port INTEGER NOT NULL, name TEXT NOT NULL,
  PRIMARY KEY(run, stage, port)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files(
  run INTEGER NOT NULL, stage INTEGER NOT NULL, file INTEGER NOT NULL, path TEXT NOT NULL,
  PRIMARY KEY(run, stage, file)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS edges(
  run INTEGER NOT NULL, from_stage INTEGER NOT NULL, port TEXT NOT NULL, to_stage INTEGER NOT NULL,
  PRIMARY KEY(run, from_stage, port, to_stage)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks(
  block INTEGER PRIMARY KEY, run INTEGER NOT NULL, stage INTEGER NOT NULL,
  replica INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,
  outcomes INTEGER NOT NULL, events INTEGER NOT NULL, ids BLOB, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS blocks_by_stage ON blocks(run, stage, first_us);
CREATE TABLE IF NOT EXISTS block_keys(
  run INTEGER NOT NULL, src INTEGER NOT NULL, file INTEGER NOT NULL, bucket INTEGER NOT NULL,
  block INTEGER NOT NULL, PRIMARY KEY(run, src, file, bucket, block)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flows(
  run INTEGER NOT NULL, stage INTEGER NOT NULL, outcome INTEGER NOT NULL,
  src INTEGER NOT NULL, file INTEGER NOT NULL, detail TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY(run, stage, outcome, src, file, detail)) WITHOUT ROWID;
)sql";

// The tables holding a run's rows, for prune.
constexpr const char* run_tables[] = {"block_keys", "blocks", "flows", "edges",
                                      "files", "ports", "stages", "runs"};

/// A transaction that rolls back unless committed.
class transaction {
public:
  explicit transaction(connection& c) : c_(c) {}
  ~transaction() {
    if (open_)
      (void) c_.exec("ROLLBACK");
  }
  status begin() {
    auto s = c_.exec("BEGIN IMMEDIATE");
    open_ = static_cast<bool>(s);
    return s;
  }
  status commit() {
    auto s = c_.exec("COMMIT");
    if (s)
      open_ = false;
    return s;
  }

private:
  connection& c_;
  bool open_ = false;
};

class sqlite_store final : public lineage_store {
public:
  explicit sqlite_store(connection c) : db_(std::move(c)) {}

  status prepare_statements() {
    auto prep = [&](statement& s, const char* sql) -> status {
      auto r = db_.prepare(sql);
      if (!r)
        return r.err();
      s = std::move(*r);
      return status::ok();
    };
    for (auto& [s, sql] : std::initializer_list<std::pair<statement*, const char*>>{
           {&insert_block_, "INSERT INTO blocks(run, stage, replica, first_us, last_us, "
                            "outcomes, events, ids, data) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"},
           {&insert_key_, "INSERT OR IGNORE INTO block_keys VALUES(?1,?2,?3,?4,?5)"},
           {&add_flow_, "INSERT INTO flows VALUES(?1,?2,?3,?4,?5,?6,?7) "
                        "ON CONFLICT DO UPDATE SET n = n + excluded.n"},
         })
      if (auto st = prep(*s, sql); !st)
        return st;
    return status::ok();
  }

  result<int64_t> begin_run(const lineage_run_info& info) override {
    transaction tx{db_};
    if (auto s = tx.begin(); !s)
      return s.err();
    SLUICE_TRY(run_stmt, db_.prepare("INSERT INTO runs(pipeline, config_path, started_us, "
                                     "status, mode, sample_rate) VALUES(?,?,?,'running',?,?)"));
    run_stmt.bind(1, info.pipeline).bind(2, info.config_path).bind(3, int64_t{info.started_us});
    run_stmt.bind(4, info.mode).bind(5, info.sample_rate);
    if (run_stmt.step(), !run_stmt.ok())
      return db_.fail(run_stmt.message());
    SLUICE_TRY(run, db_.scalar("SELECT last_insert_rowid()"));
    SLUICE_TRY(stage_stmt, db_.prepare("INSERT INTO stages VALUES(?,?,?,?,?,?)"));
    SLUICE_TRY(port_stmt, db_.prepare("INSERT INTO ports VALUES(?,?,?,?)"));
    SLUICE_TRY(file_stmt, db_.prepare("INSERT INTO files VALUES(?,?,?,?)"));
    SLUICE_TRY(edge_stmt, db_.prepare("INSERT OR IGNORE INTO edges VALUES(?,?,?,?)"));
    auto run_ok = [&](statement& s) { return s.step(), s.ok(); };
    for (auto& st : info.stages) {
      stage_stmt.reset().bind(1, run).bind(2, int64_t{st.index}).bind(3, st.id);
      stage_stmt.bind(4, st.type).bind(5, st.role).bind(6, st.output);
      if (!run_ok(stage_stmt))
        return db_.fail("stage '" + st.id + "': " + stage_stmt.message());
      for (size_t i = 0; i < st.ports.size(); ++i) {
        port_stmt.reset().bind(1, run).bind(2, int64_t{st.index});
        port_stmt.bind(3, static_cast<int64_t>(i)).bind(4, st.ports[i]);
        if (!run_ok(port_stmt))
          return db_.fail(port_stmt.message());
      }
      for (size_t i = 0; i < st.files.size(); ++i) {
        file_stmt.reset().bind(1, run).bind(2, int64_t{st.index});
        file_stmt.bind(3, static_cast<int64_t>(i)).bind(4, st.files[i]);
        if (!run_ok(file_stmt))
          return db_.fail(file_stmt.message());
      }
    }
    for (auto& e : info.edges) {
      edge_stmt.reset().bind(1, run).bind(2, int64_t{e.from}).bind(3, e.port);
      edge_stmt.bind(4, int64_t{e.to});
      if (!run_ok(edge_stmt))
        return db_.fail(edge_stmt.message());
    }
    if (auto s = tx.commit(); !s)
      return s.err();
    return run;
  }

  using lineage_store::append;

  status append(int64_t run, const std::vector<const lineage_event*>& events) override {
    if (events.empty())
      return status::ok();
    // One block per stage replica in this append, its events in arrival
    // order: a replica's events are mostly consecutive lines of a few
    // buckets, which keeps blocks small and block_keys short.
    groups_.clear();
    std::vector<const lineage_event*>* current = nullptr;
    std::pair<stage_index, uint32_t> group_of{};
    for (auto* ev : events) {
      // Events come in a replica's batches: the previous group mostly fits.
      if (!current || group_of != std::make_pair(ev->stage, ev->replica)) {
        group_of = {ev->stage, ev->replica};
        current = &groups_[group_of];
      }
      current->push_back(ev);
    }
    transaction tx{db_};
    if (auto s = tx.begin(); !s)
      return s;
    for (auto& [who, group] : groups_) {
      auto block = lineage_block::encode(who.first, group);
      insert_block_.reset().bind(1, run).bind(2, int64_t{who.first}).bind(3, int64_t{who.second});
      insert_block_.bind(4, block.first_us).bind(5, block.last_us);
      insert_block_.bind(6, int64_t{block.outcomes}).bind(7, static_cast<int64_t>(block.events));
      if (block.ids.empty())
        insert_block_.bind_null(8);
      else
        insert_block_.bind_blob(8, block.ids);
      insert_block_.bind_blob(9, block.data);
      if (insert_block_.step(), !insert_block_.ok())
        return db_.fail(insert_block_.message());
      SLUICE_TRY(number, db_.scalar("SELECT last_insert_rowid()"));
      for (auto& b : block.buckets) {
        insert_key_.reset().bind(1, run).bind(2, int64_t{b.source}).bind(3, int64_t{b.file});
        insert_key_.bind(4, b.index).bind(5, number);
        if (insert_key_.step(), !insert_key_.ok())
          return db_.fail(insert_key_.message());
      }
    }
    // Per-stage outcome counts, kept in `flows` so graph, runs and find's
    // totals never decode blocks: by stage, outcome and where the records
    // came from (the graph's file -> source edges, totals by file); routes
    // by their names.
    // Runs of events with the same counting key are counted first and added
    // to the map once per run.
    flow_counts_.clear();
    const lineage_event* run_first = nullptr;
    int64_t run_length = 0;
    auto same_flow = [&](const lineage_event& a, const lineage_event& b) {
      return a.stage == b.stage && a.outcome == b.outcome && a.key.source == b.key.source
             && a.key.file == b.key.file
             && (a.outcome != lineage_outcome::routed || a.detail == b.detail);
    };
    auto count_run = [&] {
      if (!run_first)
        return;
      auto& ev = *run_first;
      auto& flow_detail = ev.outcome == lineage_outcome::routed ? ev.detail : no_detail_;
      flow_counts_[{ev.stage, static_cast<int64_t>(ev.outcome), int64_t{ev.key.source},
                    int64_t{ev.key.file}, flow_detail}] += run_length;
    };
    for (auto* ev : events) {
      if (run_first && same_flow(*run_first, *ev)) {
        ++run_length;
        continue;
      }
      count_run();
      run_first = ev;
      run_length = 1;
    }
    count_run();
    for (auto& [k, n] : flow_counts_) {
      auto& [stage, outcome, src, file, detail] = k;
      add_flow_.reset().bind(1, run).bind(2, int64_t{stage}).bind(3, outcome).bind(4, src);
      add_flow_.bind(5, file).bind(6, detail).bind(7, n);
      if (add_flow_.step(), !add_flow_.ok())
        return db_.fail(add_flow_.message());
    }
    return tx.commit();
  }

  status end_run(int64_t run, const std::string& run_status, int64_t ended_us) override {
    SLUICE_TRY(stmt, db_.prepare("UPDATE runs SET status = ?, ended_us = ? WHERE run = ?"));
    stmt.bind(1, run_status).bind(2, ended_us).bind(3, run);
    if (stmt.step(), !stmt.ok())
      return db_.fail(stmt.message());
    if (db_.changes() == 0)
      return db_.fail("no run " + std::to_string(run) + " to end");
    return status::ok();
  }

  result<size_t> prune(const lineage_retention& r, int64_t now_us, int64_t keep) override {
    if (r.max_runs == 0 && r.max_age_days == 0)
      return size_t{0};
    SLUICE_TRY(select, db_.prepare(
      "SELECT run FROM runs WHERE run != ?1 AND ("
      " (?2 > 0 AND started_us < ?3) OR"
      " (?4 > 0 AND run NOT IN (SELECT run FROM runs ORDER BY run DESC LIMIT ?4)))"));
    int64_t age_us = int64_t{r.max_age_days} * 86'400'000'000;
    select.bind(1, keep).bind(2, int64_t{r.max_age_days}).bind(3, now_us - age_us);
    select.bind(4, int64_t{r.max_runs});
    std::vector<int64_t> doomed;
    while (select.step())
      doomed.push_back(select.int64(0));
    if (!select.ok())
      return db_.fail(select.message());
    if (doomed.empty())
      return size_t{0};
    transaction tx{db_};
    if (auto s = tx.begin(); !s)
      return s.err();
    for (auto* table : run_tables) {
      SLUICE_TRY(del, db_.prepare(std::string{"DELETE FROM "} + table + " WHERE run = ?"));
      for (auto run : doomed) {
        del.reset().bind(1, run);
        if (del.step(), !del.ok())
          return db_.fail(del.message());
      }
    }
    if (auto s = tx.commit(); !s)
      return s.err();
    return doomed.size();
  }

private:
  connection db_;
  statement insert_block_;
  statement insert_key_;
  statement add_flow_;
  std::map<std::pair<stage_index, uint32_t>, std::vector<const lineage_event*>> groups_;
  std::map<std::tuple<stage_index, int64_t, int64_t, int64_t, std::string>, int64_t> flow_counts_;
  const std::string no_detail_;
};

} // namespace

status lineage_store::append(int64_t run, const std::vector<lineage_event>& events) {
  std::vector<const lineage_event*> all;
  all.reserve(events.size());
  for (auto& ev : events)
    all.push_back(&ev);
  return append(run, all);
}

result<std::unique_ptr<lineage_store>> lineage_store::open(const std::string& path) {
  SLUICE_TRY(db, lineage_db::connection::open(path, lineage_db::connection::mode::read_write_create));
  auto tables = db.scalar("SELECT count(*) FROM sqlite_schema");
  if (!tables) // not a database at all: verify_store says so in words
    return lineage_db::verify_store(db).err();
  if (*tables > 0) // an existing store, or someone else's database
    if (auto s = lineage_db::verify_store(db); !s)
      return s.err();
  // WAL: the recorder appends while `sluice lineage` reads. NORMAL: a
  // power cut may lose the last transactions, never corrupt the file.
  auto pragmas = std::string{"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                             "PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;"
                             "PRAGMA application_id = "}
                 + std::to_string(lineage_db::application_id) + "; PRAGMA user_version = "
                 + std::to_string(lineage_db::schema_version) + ";";
  if (auto s = db.exec(pragmas); !s)
    return s.err();
  if (auto s = db.exec(schema_sql); !s)
    return s.err();
  auto store = std::make_unique<sqlite_store>(std::move(db));
  if (auto s = store->prepare_statements(); !s)
    return s.err();
  return std::unique_ptr<lineage_store>{std::move(store)};
}

} // namespace sluice
