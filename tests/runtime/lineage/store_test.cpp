#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <set>
#include <string>

#include "lineage/query.hpp"
#include "lineage/store.hpp"
#include "runtime/io/temp_dir.hpp"
#include "runtime/lineage/lineage_fixture.hpp"

using namespace sluice;

namespace {

// A number from the store file, read with plain SQLite.
int64_t count_rows(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  auto n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

std::string pragma_text(const std::string& path, const std::string& pragma) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, ("PRAGMA " + pragma).c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  std::string out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

} // namespace

SCENARIO("a run written through the store is kept in blocks of events", "[lineage][store]") {
  test::temp_dir dir;
  auto path = dir / "lineage.db";
  GIVEN("a new store") {
    auto store = lineage_store::open(path);
    REQUIRE(store);
    WHEN("the orders run is written") {
      auto run = test::write_orders_run(**store);
      THEN("it is run 1, one block per stage replica per append, every event in one") {
        CHECK(run == 1);
        // The fixture appends 8 batches, each from one stage replica.
        CHECK(count_rows(path, "SELECT count(*) FROM blocks") == 8);
        CHECK(count_rows(path, "SELECT sum(events) FROM blocks") == 19);
        // Ids are kept where records begin: the source's reads and the
        // aggregate's derived output; the other blocks name none.
        CHECK(count_rows(path, "SELECT count(*) FROM blocks WHERE ids IS NOT NULL") == 2);
        CHECK(count_rows(path, "SELECT count(*) FROM blocks WHERE stage = 3 AND outcomes = 1 << 6") == 1);
        // Every block touches one bucket here: lines 2..6 of the source,
        // output 1 of the aggregate.
        CHECK(count_rows(path, "SELECT count(*) FROM block_keys") == 8);
        CHECK(count_rows(path, "SELECT count(DISTINCT bucket) FROM block_keys") == 1);
        CHECK(count_rows(path, "SELECT count(*) FROM stages") == 6);
        CHECK(count_rows(path, "SELECT count(*) FROM ports") == 2);
        CHECK(count_rows(path, "SELECT count(*) FROM files") == 1);
        CHECK(count_rows(path, "SELECT count(*) FROM edges") == 5);
        CHECK(count_rows(path, "SELECT sum(n) FROM flows") == 19);
        CHECK(count_rows(path, "SELECT ended_us FROM runs WHERE run = 1") == test::lineage_t0 + 70'000);
      }
      THEN("the file is a WAL-mode SQLite database with sluice's application id") {
        CHECK(pragma_text(path, "journal_mode") == "wal");
        CHECK(pragma_text(path, "application_id") == "1397509198");
        CHECK(pragma_text(path, "user_version") == "2");
      }
      AND_WHEN("the next run begins") {
        auto next = (*store)->begin_run(test::orders_run_info());
        THEN("it is run 2") {
          REQUIRE(next);
          CHECK(*next == 2);
        }
      }
    }
  }
}

SCENARIO("the store keeps what it is given, repeats are the recorder's to drop", "[lineage][store]") {
  test::temp_dir dir;
  auto path = dir / "lineage.db";
  auto store = lineage_store::open(path);
  REQUIRE(store);
  auto run = test::write_orders_run(**store);
  REQUIRE(run == 1);
  WHEN("a second attempt of a retry arrives") {
    auto again = test::lineage_ev(5, "1004", 5, lineage_outcome::retried, 40, "transient: busy", 2);
    REQUIRE((*store)->append(run, {again}));
    THEN("it is stored, and counted in the flows") {
      CHECK(count_rows(path, "SELECT sum(events) FROM blocks") == 20);
      CHECK(count_rows(path, "SELECT sum(n) FROM flows WHERE outcome = 12") == 2);
    }
  }
  WHEN("a reopened store appends to the same run") {
    store->reset();
    auto reopened = lineage_store::open(path);
    REQUIRE(reopened);
    REQUIRE((*reopened)->append(run, {test::lineage_ev(5, "1004", 5, lineage_outcome::written, 45)}));
    THEN("the run has the new block") {
      CHECK(count_rows(path, "SELECT count(*) FROM blocks WHERE run = 1") == 9);
    }
  }
}

TEST_CASE("a store written by the row-per-event sluice is refused, saying what to do", "[lineage][store]") {
  test::temp_dir dir;
  auto path = dir / "old.db";
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA application_id = 1397509198; PRAGMA user_version = 1;"
                           "CREATE TABLE runs(run INTEGER PRIMARY KEY)", nullptr, nullptr, nullptr)
          == SQLITE_OK);
  sqlite3_close(db);
  auto store = lineage_store::open(path);
  REQUIRE_FALSE(store);
  CHECK_THAT(store.err().message, Catch::Contains("schema version 1, written by an older sluice"));
  CHECK_THAT(store.err().message, Catch::Contains("move it aside"));
  auto q = lineage_query::open(path);
  REQUIRE_FALSE(q);
  CHECK_THAT(q.err().message, Catch::Contains("written by an older sluice"));
}

SCENARIO("prune deletes runs beyond max_runs and older than max_age_days", "[lineage][store]") {
  test::temp_dir dir;
  auto path = dir / "lineage.db";
  auto store = lineage_store::open(path);
  REQUIRE(store);
  constexpr int64_t day = 86'400'000'000;
  // Runs 1..4 started 10, 5, 2 and 0 days before t0.
  for (int64_t days_ago : {10, 5, 2, 0})
    REQUIRE(test::write_orders_run(**store, test::lineage_t0 - days_ago * day) > 0);
  WHEN("retention keeps 2 runs") {
    auto gone = (*store)->prune({2, 0}, test::lineage_t0, 4);
    THEN("runs 1 and 2 go, with all their rows") {
      REQUIRE(gone);
      CHECK(*gone == 2);
      CHECK(count_rows(path, "SELECT count(*) FROM runs") == 2);
      CHECK(count_rows(path, "SELECT min(run) FROM runs") == 3);
      for (auto table : {"blocks", "block_keys", "flows", "stages", "ports", "files", "edges"})
        CHECK(count_rows(path, std::string{"SELECT count(*) FROM "} + table + " WHERE run < 3") == 0);
      CHECK(count_rows(path, "SELECT sum(events) FROM blocks") == 2 * 19);
    }
  }
  WHEN("retention keeps 3 days") {
    auto gone = (*store)->prune({0, 3}, test::lineage_t0, 4);
    THEN("the runs started 10 and 5 days ago go") {
      REQUIRE(gone);
      CHECK(*gone == 2);
      CHECK(count_rows(path, "SELECT min(run) FROM runs") == 3);
    }
  }
  WHEN("retention keeps 1 run but the run to keep is not the newest") {
    auto gone = (*store)->prune({1, 0}, test::lineage_t0, 2);
    THEN("the newest and the kept one stay") {
      REQUIRE(gone);
      CHECK(*gone == 2);
      CHECK(count_rows(path, "SELECT count(*) FROM runs WHERE run IN (2, 4)") == 2);
    }
  }
  WHEN("there is no retention") {
    auto gone = (*store)->prune({0, 0}, test::lineage_t0, 4);
    THEN("nothing goes") {
      REQUIRE(gone);
      CHECK(*gone == 0);
      CHECK(count_rows(path, "SELECT count(*) FROM runs") == 4);
    }
  }
  WHEN("runs were pruned and a new one begins") {
    REQUIRE((*store)->prune({1, 0}, test::lineage_t0, 4));
    auto next = (*store)->begin_run(test::orders_run_info());
    THEN("its number is not reused") {
      REQUIRE(next);
      CHECK(*next == 5);
    }
  }
}

TEST_CASE("a file that is not a lineage store is refused, saying so", "[lineage][store]") {
  test::temp_dir dir;
  SECTION("text") {
    auto path = dir.write("notes.db", "these are not the records you are looking for\n");
    auto store = lineage_store::open(path);
    REQUIRE_FALSE(store);
    CHECK_THAT(store.err().message, Catch::Contains("is not a sluice lineage store"));
    CHECK_THAT(store.err().message, Catch::Contains(path));
    auto q = lineage_query::open(path);
    REQUIRE_FALSE(q);
    CHECK_THAT(q.err().message, Catch::Contains("is not a sluice lineage store"));
  }
  SECTION("another application's SQLite database") {
    auto path = dir / "other.db";
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto store = lineage_store::open(path);
    REQUIRE_FALSE(store);
    CHECK_THAT(store.err().message, Catch::Contains("a SQLite database of another application"));
    auto q = lineage_query::open(path);
    REQUIRE_FALSE(q);
    CHECK_THAT(q.err().message, Catch::Contains("is not a sluice lineage store"));
  }
  SECTION("a missing file, for reading") {
    auto q = lineage_query::open(dir / "missing.db");
    REQUIRE_FALSE(q);
    CHECK_THAT(q.err().message, Catch::Contains("does not exist"));
  }
  SECTION("ending a run that does not exist") {
    auto store = lineage_store::open(dir / "lineage.db");
    REQUIRE(store);
    auto s = (*store)->end_run(7, "ok", 0);
    REQUIRE_FALSE(s);
    CHECK_THAT(s.err().message, Catch::Contains("no run 7"));
  }
}

TEST_CASE("sampling is decided by the key, the same every time, close to the rate", "[lineage][store]") {
  for (double rate : {0.01, 0.1, 0.5}) {
    size_t traced = 0;
    for (uint64_t line = 1; line <= 100'000; ++line) {
      lineage_key k{static_cast<stage_index>(line % 3), static_cast<uint32_t>(line % 7), line};
      bool first = lineage_sampled(k, rate);
      CHECK(first == lineage_sampled(k, rate));
      traced += first ? 1 : 0;
    }
    double share = static_cast<double>(traced) / 100'000.0;
    CHECK(share == Approx(rate).margin(0.005));
  }
  CHECK(lineage_sampled(lineage_key{0, 0, 1}, 1.0));
  CHECK_FALSE(lineage_sampled(lineage_key{0, 0, 1}, 0.0));
}
