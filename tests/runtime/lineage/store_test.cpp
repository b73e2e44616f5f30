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

SCENARIO("a run written through the store is kept one row per event", "[lineage][store]") {
  test::temp_dir dir;
  auto path = dir / "lineage.db";
  GIVEN("a new store") {
    auto store = lineage_store::open(path);
    REQUIRE(store);
    WHEN("the orders run is written") {
      auto run = test::write_orders_run(**store);
      THEN("it is run 1 with every event, record and fold stored once") {
        CHECK(run == 1);
        CHECK(count_rows(path, "SELECT count(*) FROM events") == 19);
        CHECK(count_rows(path, "SELECT count(*) FROM records") == 6);
        CHECK(count_rows(path, "SELECT count(*) FROM folds") == 2);
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
        CHECK(pragma_text(path, "user_version") == "1");
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

SCENARIO("events delivered again after a restart are stored once", "[lineage][store]") {
  test::temp_dir dir;
  auto path = dir / "lineage.db";
  auto store = lineage_store::open(path);
  REQUIRE(store);
  auto run = test::write_orders_run(**store);
  REQUIRE(run == 1);
  WHEN("every batch is appended again, by the same store and by a reopened one") {
    for (auto& batch : test::orders_run_batches())
      REQUIRE((*store)->append(run, batch));
    store->reset();
    auto reopened = lineage_store::open(path);
    REQUIRE(reopened);
    for (auto& batch : test::orders_run_batches())
      REQUIRE((*reopened)->append(run, batch));
    THEN("each event, record and fold is still one row, and the counts did not grow") {
      CHECK(count_rows(path, "SELECT count(*) FROM events") == 19);
      CHECK(count_rows(path, "SELECT count(*) FROM records") == 6);
      CHECK(count_rows(path, "SELECT count(*) FROM folds") == 2);
      CHECK(count_rows(path, "SELECT sum(n) FROM flows") == 19);
    }
  }
  WHEN("a second attempt of a retry arrives") {
    auto again = test::lineage_ev(5, "1004", 5, lineage_outcome::retried, 40, "transient: busy", 2);
    REQUIRE((*store)->append(run, {again}));
    THEN("it is a new row: the attempt is part of the key") {
      CHECK(count_rows(path, "SELECT count(*) FROM events WHERE outcome = 12") == 2);
    }
  }
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
      for (auto table : {"events", "records", "folds", "flows", "stages", "ports", "files", "edges"})
        CHECK(count_rows(path, std::string{"SELECT count(*) FROM "} + table + " WHERE run < 3") == 0);
      CHECK(count_rows(path, "SELECT count(*) FROM events") == 2 * 19);
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
