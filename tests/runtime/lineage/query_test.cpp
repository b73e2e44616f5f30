#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "lineage/query.hpp"
#include "lineage/query_render.hpp"
#include "lineage/store.hpp"
#include "runtime/io/temp_dir.hpp"
#include "runtime/lineage/lineage_fixture.hpp"

using namespace sluice;

namespace {

/// A store holding the orders run (tests/runtime/lineage/lineage_fixture.hpp).
struct orders_store {
  test::temp_dir dir;
  std::string path = dir / "lineage.db";
  orders_store(int runs = 1) {
    auto store = lineage_store::open(path);
    REQUIRE(store);
    for (int i = 0; i < runs; ++i)
      REQUIRE(test::write_orders_run(**store) == i + 1);
  }
  lineage_query query() {
    auto q = lineage_query::open(path);
    REQUIRE(q);
    return std::move(*q);
  }
};

} // namespace

TEST_CASE("runs lists each run with its record and event counts", "[lineage][query]") {
  orders_store s;
  auto q = s.query();
  auto runs = q.runs();
  REQUIRE(runs);
  REQUIRE(runs->size() == 1);
  auto& r = runs->front();
  CHECK(r.run == 1);
  CHECK(r.pipeline == "orders");
  CHECK(r.config_path == "configs/orders.json");
  CHECK(r.started_us == test::lineage_t0);
  CHECK(r.ended_us == test::lineage_t0 + 70'000);
  CHECK(r.status == "ok");
  CHECK(r.mode == "full");
  CHECK(r.records == 6);
  CHECK(r.events == 19);
  CHECK(render_runs(*runs)
        == "run  started                   status   mode         records   events    pipeline\n"
           "1    2026-12-06T04:00:00.000Z  ok       full         6         19        orders (configs/orders.json)\n");
  CHECK(runs_json(*runs)[0]["ended"] == "2026-12-06T04:00:00.070000Z");
}

TEST_CASE("a trace lists a record's events in time order, with its origin", "[lineage][query]") {
  orders_store s;
  auto q = s.query();
  SECTION("a dead letter, with its reason") {
    auto t = q.trace("1005");
    REQUIRE(t);
    CHECK(t->run == 1);
    REQUIRE(t->records.size() == 1);
    auto& r = t->records[0];
    CHECK(r.origin.file == "data/orders.csv");
    CHECK(r.origin.key.line == 6);
    CHECK_FALSE(r.origin.derived);
    REQUIRE(r.steps.size() == 2);
    CHECK(r.steps[1].outcome == lineage_outcome::dead_lettered);
    CHECK(r.steps[1].detail == "type_error: amount: expected a number, got \"abc\"");
    CHECK(render_trace(*t)
          == "record 1005 (data/orders.csv:6), run 1\n"
             "  2026-12-06T04:00:00.005Z  orders/0    read\n"
             "  2026-12-06T04:00:00.015Z  valid/0     dead_lettered   type_error: amount: expected a number, got \"abc\"\n");
  }
  SECTION("a retried record: every attempt, then the write") {
    auto t = q.trace("1004");
    REQUIRE(t);
    REQUIRE(t->records.size() == 1);
    auto& steps = t->records[0].steps;
    REQUIRE(steps.size() == 5);
    CHECK(steps[2].outcome == lineage_outcome::routed);
    CHECK(steps[2].detail == "other");
    CHECK(steps[3].outcome == lineage_outcome::retried);
    CHECK(steps[3].attempt == 1);
    CHECK(steps[3].stage == "archive");
    CHECK(steps[4].outcome == lineage_outcome::written);
    CHECK(t->records[0].children.empty());
  }
  SECTION("a folded record: its child is the aggregate's output") {
    auto t = q.trace("1001");
    REQUIRE(t);
    auto& r = t->records.at(0);
    REQUIRE(r.children.size() == 1);
    CHECK(r.children[0].record_id == "food");
    CHECK(r.children[0].stage == "totals");
    CHECK(r.children[0].origin.to_string() == "totals#0:1");
    CHECK(render_trace(*t)
          == "record 1001 (data/orders.csv:2), run 1\n"
             "  2026-12-06T04:00:00.001Z  orders/0    read\n"
             "  2026-12-06T04:00:00.011Z  valid/0     passed\n"
             "  2026-12-06T04:00:00.021Z  split/0     routed          food\n"
             "  2026-12-06T04:00:00.031Z  totals/0    folded          food\n"
             "  folded into food at totals (totals#0:1)\n");
  }
  SECTION("a derived record: its parents are the records folded into it") {
    auto t = q.trace("food");
    REQUIRE(t);
    auto& r = t->records.at(0);
    CHECK(r.origin.derived);
    CHECK(r.parent_count == 2);
    REQUIRE(r.parents.size() == 2);
    CHECK(r.parents[0].record_id == "1001");
    CHECK(r.parents[1].record_id == "1002");
    CHECK(r.parents[1].origin.to_string() == "data/orders.csv:3");
    CHECK(render_trace(*t)
          == "record food (derived by totals, replica 0, output 1), run 1\n"
             "  2026-12-06T04:00:00.050Z  totals/0    derived\n"
             "  2026-12-06T04:00:00.060Z  out/0       written\n"
             "  parents: 2 records folded in at totals: 1001 (data/orders.csv:2), 1002 (data/orders.csv:3)\n");
    auto j = trace_json(*t);
    CHECK(j["records"][0]["parent_count"] == 2);
    CHECK(j["records"][0]["origin"]["text"] == "totals#0:1");
    auto one = q.trace("food", std::nullopt, 1);
    REQUIRE(one);
    CHECK(one->records.at(0).parents.size() == 1);
    CHECK(one->records.at(0).parent_count == 2);
  }
  SECTION("an id that is not in the run, but in another") {
    orders_store two{2};
    auto q2 = two.query();
    auto t = q2.trace("nope");
    REQUIRE(t);
    CHECK(t->records.empty());
    CHECK(render_trace(*t) == "no record with id 'nope' in run 2\n");
    auto old = q2.trace("1001", 1);
    REQUIRE(old);
    CHECK(old->run == 1);
    CHECK(old->records.size() == 1);
  }
  SECTION("a run that does not exist") {
    auto t = q.trace("1001", 9);
    REQUIRE_FALSE(t);
    CHECK(t.err().message == "no run 9 in lineage store '" + s.path + "' (its runs: 1)");
  }
}

TEST_CASE("ids that repeat in the data trace every record with the id", "[lineage][query]") {
  orders_store s;
  {
    auto store = lineage_store::open(s.path);
    REQUIRE(store);
    auto twin = test::lineage_ev(7, "1001", 0, lineage_outcome::read, 6);
    REQUIRE((*store)->append(1, {twin}));
  }
  auto q = s.query();
  auto t = q.trace("1001");
  REQUIRE(t);
  REQUIRE(t->records.size() == 2);
  CHECK(t->records[0].origin.to_string() == "data/orders.csv:2");
  CHECK(t->records[1].origin.to_string() == "data/orders.csv:7");
}

TEST_CASE("find filters events by stage, outcome, time and file, with the total", "[lineage][query]") {
  orders_store s;
  auto q = s.query();
  lineage_find_filter f;
  SECTION("stage and outcome") {
    f.stage = "valid";
    f.outcome = lineage_outcome::dead_lettered;
    auto r = q.find(f);
    REQUIRE(r);
    CHECK(r->total == 1);
    REQUIRE(r->rows.size() == 1);
    CHECK(r->rows[0].record_id == "1005");
    CHECK(render_find(*r)
          == "1 event in run 1\n"
             "time                      record  origin             stage      outcome         detail\n"
             "2026-12-06T04:00:00.015Z  1005    data/orders.csv:6  valid/0    dead_lettered   type_error: amount: expected a number, got \"abc\"\n");
    CHECK(find_json(*r)["events"][0]["origin"]["line"] == 6);
  }
  SECTION("an outcome at any stage") {
    f.outcome = lineage_outcome::written;
    auto r = q.find(f);
    REQUIRE(r);
    CHECK(r->total == 2);
    REQUIRE(r->rows.size() == 2);
    CHECK(r->rows[0].record_id == "1004");
    CHECK(r->rows[1].record_id == "food");
  }
  SECTION("a limit below the total") {
    f.limit = 3;
    auto r = q.find(f);
    REQUIRE(r);
    CHECK(r->total == 19);
    REQUIRE(r->rows.size() == 3);
    CHECK(r->rows[2].record_id == "1003");
    CHECK_THAT(render_find(*r), Catch::StartsWith("19 events in run 1, the first 3 by time"));
  }
  SECTION("a time range: since inclusive, until exclusive") {
    f.since_us = test::lineage_t0 + 11'000;
    f.until_us = test::lineage_t0 + 15'000;
    auto r = q.find(f);
    REQUIRE(r);
    CHECK(r->total == 4);
    CHECK(r->rows.front().step.time_us == test::lineage_t0 + 11'000);
    CHECK(r->rows.back().record_id == "1004");
  }
  SECTION("an input file, by a part of its path") {
    f.file = "orders";
    f.outcome = lineage_outcome::read;
    auto r = q.find(f);
    REQUIRE(r);
    CHECK(r->total == 5);
  }
  SECTION("an input file no source read") {
    f.file = "customers.csv";
    auto r = q.find(f);
    REQUIRE_FALSE(r);
    CHECK(r.err().message == "no input file of run 1 matches 'customers.csv'; its files: data/orders.csv");
  }
  SECTION("an unknown stage lists the run's stages") {
    f.stage = "vaild";
    auto r = q.find(f);
    REQUIRE_FALSE(r);
    CHECK(r.err().message
          == "no stage 'vaild' in run 1; its stages: orders, valid, split, totals, out, archive");
  }
  SECTION("nothing matches") {
    f.stage = "split";
    f.outcome = lineage_outcome::failed;
    auto r = q.find(f);
    REQUIRE(r);
    CHECK(r->total == 0);
    CHECK(render_find(*r) == "0 events in run 1\n");
  }
}

TEST_CASE("graph draws files, stages and outputs with record counts", "[lineage][query]") {
  orders_store s{2};
  auto q = s.query();
  auto g = q.graph();
  REQUIRE(g);
  CHECK(render_graph_dot(*g)
        == "// lineage of run 2; edges count records\n"
           "digraph lineage {\n"
           "  rankdir=LR;\n"
           "  \"stage:orders\" [label=\"orders\\nsource.file\", shape=box];\n"
           "  \"stage:valid\" [label=\"valid\\nfilter\", shape=box];\n"
           "  \"stage:split\" [label=\"split\\nroute\", shape=box];\n"
           "  \"stage:totals\" [label=\"totals\\naggregate\", shape=box];\n"
           "  \"stage:out\" [label=\"out\\nsink.file\", shape=box];\n"
           "  \"stage:archive\" [label=\"archive\\nsink.file\", shape=box];\n"
           "  \"file:data/orders.csv\" [label=\"data/orders.csv\", shape=note];\n"
           "  \"output:out/totals.jsonl\" [label=\"out/totals.jsonl\", shape=note];\n"
           "  \"output:out/other.jsonl\" [label=\"out/other.jsonl\", shape=note];\n"
           "  \"dead letters\" [label=\"dead letters\", shape=octagon];\n"
           "  \"file:data/orders.csv\" -> \"stage:orders\" [label=\"5\"];\n"
           "  \"stage:orders\" -> \"stage:valid\" [label=\"5\"];\n"
           "  \"stage:valid\" -> \"stage:split\" [label=\"3\"];\n"
           "  \"stage:split\" -> \"stage:totals\" [label=\"food: 2\"];\n"
           "  \"stage:split\" -> \"stage:archive\" [label=\"other: 1\"];\n"
           "  \"stage:totals\" -> \"stage:out\" [label=\"1\"];\n"
           "  \"stage:out\" -> \"output:out/totals.jsonl\" [label=\"1\"];\n"
           "  \"stage:archive\" -> \"output:out/other.jsonl\" [label=\"1\"];\n"
           "  \"stage:valid\" -> \"dead letters\" [label=\"1\"];\n"
           "}\n");
  auto all = q.graph(std::nullopt, true);
  REQUIRE(all);
  CHECK(all->runs == std::vector<int64_t>{1, 2});
  CHECK(graph_json(*all)["edges"][0] == nlohmann::json{{"from", "file:data/orders.csv"},
                                                       {"to", "stage:orders"},
                                                       {"port", ""},
                                                       {"records", 10}});
}

TEST_CASE("export writes one JSON line per event, names resolved", "[lineage][query]") {
  orders_store s{2};
  auto q = s.query();
  std::ostringstream one, both;
  auto n = q.export_jsonl(one, 1);
  REQUIRE(n);
  CHECK(*n == 19);
  auto all = q.export_jsonl(both);
  REQUIRE(all);
  CHECK(*all == 38);
  std::istringstream lines{one.str()};
  std::string first;
  std::getline(lines, first);
  CHECK(nlohmann::json::parse(first)
        == nlohmann::json::parse(
          R"({"detail":"","origin":"data/orders.csv:2","outcome":"read","record_id":"1001",)"
          R"("replica":0,"run":1,"stage":"orders","time":"2026-12-06T04:00:00.001000Z",)"
          R"("time_us":1796529600001000})"));
  CHECK(one.str().find(R"("attempt":1,"detail":"transient: out/other.jsonl: disk busy")")
        != std::string::npos);
}

TEST_CASE("times parse as ISO-8601 UTC or as an age", "[lineage][query]") {
  int64_t now = test::lineage_t0;
  CHECK(*parse_lineage_time("2026-12-06T04:00:00Z", now) == test::lineage_t0);
  CHECK(*parse_lineage_time("2026-12-06T04:00Z", now) == test::lineage_t0);
  CHECK(*parse_lineage_time("2026-12-06T04:00:00.25Z", now) == test::lineage_t0 + 250'000);
  CHECK(*parse_lineage_time("2026-12-06", now) == test::lineage_t0 - 4 * 3'600'000'000LL);
  CHECK(*parse_lineage_time("10m", now) == now - 600'000'000);
  CHECK(*parse_lineage_time("2h", now) == now - 7'200'000'000);
  CHECK(*parse_lineage_time("7d", now) == now - 7 * 86'400'000'000);
  for (auto bad : {"", "yesterday", "10", "m", "2026-12-06T04:00:00", "2026-13-01", "10w",
                   "2026-12-06T04:00:00+02:00"}) {
    auto t = parse_lineage_time(bad, now);
    CHECK_FALSE(t);
    if (!t)
      CHECK_THAT(t.err().message, Catch::Contains("use ISO-8601 UTC"));
  }
  CHECK(format_lineage_time(test::lineage_t0 + 1) == "2026-12-06T04:00:00.000001Z");
}
