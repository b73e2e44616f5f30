// `sluice lineage ...` on a store built here through the store API (the
// orders run of tests/runtime/lineage/lineage_fixture.hpp): output, exit
// codes and error messages as a user sees them.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "lineage/store.hpp"
#include "runtime/io/temp_dir.hpp"
#include "runtime/lineage/lineage_fixture.hpp"

using namespace sluice;

namespace {

struct cli_result {
  int exit = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// Runs `sluice lineage ARGS` (ARGS shell-quoted by the caller) in `dir`.
cli_result lineage(const test::temp_dir& dir, const std::string& args) {
  auto cmd = "cd '" + dir.path() + "' && '" SLUICE_BINARY "' lineage " + args
             + " > out.txt 2> err.txt";
  int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(dir / "out.txt"), slurp(dir / "err.txt")};
}

struct store_dir {
  test::temp_dir dir;
  store_dir() {
    auto store = lineage_store::open(dir / "lineage.db");
    REQUIRE(store);
    REQUIRE(test::write_orders_run(**store) == 1);
  }
};

} // namespace

TEST_CASE("sluice lineage trace prints a record's events", "[e2e][lineage]") {
  store_dir s;
  auto r = lineage(s.dir, "trace lineage.db 1005");
  CHECK(r.exit == 0);
  CHECK(r.out
        == "record 1005 (data/orders.csv:6), run 1\n"
           "  2026-12-06T04:00:00.005Z  orders/0    read\n"
           "  2026-12-06T04:00:00.015Z  valid/0     dead_lettered   type_error: amount: expected a number, got \"abc\"\n");
  auto j = lineage(s.dir, "trace lineage.db food --run 1 --json");
  CHECK(j.exit == 0);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["records"][0]["parent_count"] == 2);
  CHECK(doc["records"][0]["parents"][1]["record_id"] == "1002");
}

TEST_CASE("sluice lineage trace of a missing record says so and suggests find", "[e2e][lineage]") {
  store_dir s;
  auto r = lineage(s.dir, "trace lineage.db 4242");
  CHECK(r.exit == 1);
  CHECK(r.out.empty());
  CHECK(r.err
        == "sluice lineage trace: no record with id '4242' in run 1\n"
           "hint: 'sluice lineage find lineage.db --run 1' lists the run's records\n");
}

TEST_CASE("sluice lineage find filters and counts", "[e2e][lineage]") {
  store_dir s;
  auto r = lineage(s.dir, "find lineage.db --stage valid --outcome dead_lettered");
  CHECK(r.exit == 0);
  CHECK(r.out
        == "1 event in run 1\n"
           "time                      record  origin             stage      outcome         detail\n"
           "2026-12-06T04:00:00.015Z  1005    data/orders.csv:6  valid/0    dead_lettered   type_error: amount: expected a number, got \"abc\"\n");
  auto j = lineage(s.dir, "find lineage.db --since 2026-12-06T04:00:00.011Z --until 2026-12-06T04:00:00.015Z --json");
  CHECK(j.exit == 0);
  CHECK(nlohmann::json::parse(j.out)["total"] == 4);
  auto f = lineage(s.dir, "find lineage.db --file data/orders.csv --outcome read --limit 1");
  CHECK(f.exit == 0);
  CHECK_THAT(f.out, Catch::StartsWith("5 events in run 1, the first 1 by time"));
}

TEST_CASE("sluice lineage find refuses unknown names and bad times, listing the valid ones", "[e2e][lineage]") {
  store_dir s;
  auto outcome = lineage(s.dir, "find lineage.db --outcome lost");
  CHECK(outcome.exit == 1);
  CHECK(outcome.err
        == "sluice lineage find: unknown outcome 'lost'; valid: read, passed, changed, filtered, "
           "routed, folded, derived, written, dead_lettered, failed, dropped, retried\n");
  auto stage = lineage(s.dir, "find lineage.db --stage vaild");
  CHECK(stage.exit == 1);
  CHECK(stage.err
        == "sluice lineage find: no stage 'vaild' in run 1; its stages: orders, valid, split, "
           "totals, out, archive\n");
  auto time = lineage(s.dir, "find lineage.db --since yesterday");
  CHECK(time.exit == 1);
  CHECK_THAT(time.err, Catch::StartsWith("sluice lineage find: --since: bad time 'yesterday'"));
  auto run = lineage(s.dir, "find lineage.db --run 3");
  CHECK(run.exit == 1);
  CHECK_THAT(run.err, Catch::Contains("no run 3 in lineage store 'lineage.db' (its runs: 1)"));
}

TEST_CASE("sluice lineage refuses a bad command line with exit 2", "[e2e][lineage]") {
  store_dir s;
  CHECK(lineage(s.dir, "").exit == 2);
  CHECK(lineage(s.dir, "bogus lineage.db").exit == 2);
  CHECK(lineage(s.dir, "trace lineage.db").exit == 2);
  CHECK(lineage(s.dir, "find").exit == 2);
  CHECK(lineage(s.dir, "find lineage.db --limit many").exit == 2);
  CHECK(lineage(s.dir, "graph lineage.db --run 1 --all").exit == 2);
  CHECK(lineage(s.dir, "runs --help").exit == 0);
}

TEST_CASE("sluice lineage refuses a missing or foreign store file", "[e2e][lineage]") {
  test::temp_dir dir;
  auto missing = lineage(dir, "runs nothing.db");
  CHECK(missing.exit == 1);
  CHECK_THAT(missing.err, Catch::Contains("lineage store 'nothing.db' does not exist"));
  dir.write("notes.txt", "not a database at all, just some text that is long enough\n");
  auto foreign = lineage(dir, "runs notes.txt");
  CHECK(foreign.exit == 1);
  CHECK_THAT(foreign.err, Catch::Contains("'notes.txt' is not a sluice lineage store"));
}

TEST_CASE("sluice lineage runs, graph and export", "[e2e][lineage]") {
  store_dir s;
  auto runs = lineage(s.dir, "runs lineage.db");
  CHECK(runs.exit == 0);
  CHECK(runs.out
        == "run  started                   status   mode         records   events    pipeline\n"
           "1    2026-12-06T04:00:00.000Z  ok       full         6         19        orders (configs/orders.json)\n");
  CHECK(nlohmann::json::parse(lineage(s.dir, "runs lineage.db --json").out)[0]["events"] == 19);
  auto graph = lineage(s.dir, "graph lineage.db --all");
  CHECK(graph.exit == 0);
  CHECK_THAT(graph.out, Catch::Contains("\"stage:split\" -> \"stage:totals\" [label=\"food: 2\"];"));
  auto exported = lineage(s.dir, "export lineage.db --run 1 -o events.jsonl");
  CHECK(exported.exit == 0);
  CHECK(exported.err == "sluice lineage export: 19 events to events.jsonl\n");
  std::istringstream lines{s.dir.read("events.jsonl")};
  size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n)
    CHECK(nlohmann::json::parse(line).contains("origin"));
  CHECK(n == 19);
}
