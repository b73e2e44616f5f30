// Nothing is lost: crashes, transient failures, permanent errors and SIGTERM
// against the real binary (docs/fault-tolerance.md). Each run with injected
// faults is compared, record for record, with a clean run of the same data.

#include <catch2/catch.hpp>

#include <csignal>
#include <set>

#include "sluice_process.hpp"

using namespace sluice::test;

namespace {

/// filter -> map -> sink.file over `count` generated records; `map_extra` and
/// `sink_extra` are stage-level keys spliced into those stages (chaos, retry,
/// supervision).
std::string job(uint64_t count, const std::string& map_extra, const std::string& sink_extra) {
  return R"({
    "name": "job",
    "defaults": {"batch_size": 500, "linger_ms": 20, "window": 4},
    "stages": [
      {"id": "gen", "type": "source.generate", "params": {"count": )"
         + std::to_string(count) + R"(, "seed": 7}},
      {"id": "big", "type": "filter", "inputs": ["gen"], "params": {"when": ".amount > 50"}},
      {"id": "shape", "type": "map", "inputs": ["big"])" + map_extra + R"j(,
       "params": {"set": {"amount_cents": "round(.amount * 100)"}, "rename": {"user": "customer"}}},
      {"id": "out", "type": "sink.file", "inputs": ["shape"])j" + sink_extra + R"(,
       "params": {"path": "out/big.jsonl"}}
    ]})";
}

json stage_row(const json& summary, const std::string& id) {
  for (auto& row : summary["stages"])
    if (row["id"] == id)
      return row;
  FAIL("no stage '" << id << "' in the summary");
  return {};
}

/// Runs `config_text` in a fresh directory; returns the directory.
fs::path run_to_end(const std::string& name, const std::string& config_text, int expect_exit) {
  auto dir = temp_dir(name);
  std::ofstream{dir / "p.json"} << config_text;
  sluice_process run{dir, "p.json"};
  auto code = run.wait_exit(std::chrono::seconds(120));
  INFO(slurp(dir / "stderr.txt"));
  REQUIRE(code == expect_exit);
  return dir;
}

} // namespace

SCENARIO("crashes and transient sink failures lose and double nothing", "[e2e][fault]") {
  GIVEN("200,000 records through filter -> map -> sink, once clean and once with faults") {
    auto clean = run_to_end("ft-clean", job(200000, "", ""), 0);
    // The map's actor dies before 5% of its batches; the sink fails
    // transiently on 10% of its batch writes and retries.
    auto faulty = run_to_end(
      "ft-faulty",
      job(200000,
          R"(, "chaos": {"seed": 11, "crash_batches": 0.05},
               "supervision": {"max_restarts": 1000, "within": "60s"})",
          R"(, "chaos": {"seed": 12, "fail_batches": 0.1},
               "retry": {"max_attempts": 20, "initial_backoff_ms": 1, "max_backoff_ms": 20})"),
      0);
    THEN("the output is identical, record for record, to the clean run's") {
      auto expected = sorted_lines(clean / "out/big.jsonl");
      REQUIRE(expected.size() > 100000);
      auto got = sorted_lines(faulty / "out/big.jsonl");
      CHECK(got.size() == expected.size());
      CHECK(got == expected);
    }
    THEN("the summary shows the restarts and retries, and the books balance") {
      auto summary = json::parse(slurp(faulty / "summary.json"));
      CHECK(summary["status"] == "ok");
      CHECK(summary["conservation"]["ok"] == true);
      CHECK(stage_row(summary, "shape")["restarts"].get<uint64_t>() > 0);
      CHECK(stage_row(summary, "out")["retries"].get<uint64_t>() > 0);
      CHECK(stage_row(summary, "out")["dead_lettered"] == 0);
      auto clean_summary = json::parse(slurp(clean / "summary.json"));
      CHECK(summary["totals"] == clean_summary["totals"]);
      CHECK(slurp(faulty / "stderr.txt").find("restarts") != std::string::npos);
    }
    fs::remove_all(clean);
    fs::remove_all(faulty);
  }
}

SCENARIO("an aggregate keeps its state when its actor is crashed", "[e2e][fault]") {
  auto config = [](const std::string& extra) {
    return R"({
      "name": "totals",
      "defaults": {"batch_size": 200, "linger_ms": 20, "window": 4},
      "stages": [
        {"id": "gen", "type": "source.generate", "params": {"count": 50000, "seed": 3}},
        {"id": "sum", "type": "aggregate", "inputs": ["gen"])" + extra + R"j(,
         "params": {"group_by": [".category"],
                    "aggregates": {"n": "count()", "cents": "sum(round(.amount * 100))", "top": "max(.amount)"}}},
        {"id": "out", "type": "sink.file", "inputs": ["sum"], "params": {"path": "totals.jsonl"}}
      ]})j";
  };
  GIVEN("per-category totals, clean and with the aggregate's actor dying on 20% of batches") {
    auto clean = run_to_end("agg-clean", config(""), 0);
    auto faulty = run_to_end(
      "agg-faulty",
      config(R"(, "chaos": {"seed": 5, "crash_batches": 0.2},
                  "supervision": {"max_restarts": 1000, "within": "60s"})"),
      0);
    THEN("every total is exact") {
      auto expected = sorted_lines(clean / "totals.jsonl");
      REQUIRE(expected.size() >= 3);
      CHECK(sorted_lines(faulty / "totals.jsonl") == expected);
      auto summary = json::parse(slurp(faulty / "summary.json"));
      CHECK(stage_row(summary, "sum")["restarts"].get<uint64_t>() > 10);
      CHECK(summary["conservation"]["ok"] == true);
    }
    fs::remove_all(clean);
    fs::remove_all(faulty);
  }
}

SCENARIO("a stage that crashes past its restart intensity stops the run with a report",
         "[e2e][fault]") {
  GIVEN("a map whose actor dies on every batch, allowed 2 restarts") {
    auto dir = run_to_end(
      "ft-intensity",
      job(20000, R"(, "chaos": {"crash_batches": 1.0},
                     "supervision": {"max_restarts": 2, "within": "60s"})", ""),
      1);
    THEN("the report names the stage, the restarts and the last error") {
      auto err = slurp(dir / "stderr.txt") + slurp(dir / "stdout.txt");
      CHECK(err.find("stage 'shape' crashed more than 2 times within 60 s") != std::string::npos);
      CHECK(err.find("chaos: injected crash before batch") != std::string::npos);
      auto summary = json::parse(slurp(dir / "summary.json"));
      CHECK(summary["status"] == "failed");
      CHECK(stage_row(summary, "shape")["restarts"] == 2);
      AND_THEN("no output appears under the sink's final name") {
        CHECK_FALSE(fs::exists(dir / "out/big.jsonl"));
      }
    }
    fs::remove_all(dir);
  }
}

SCENARIO("permanent errors go to the dead-letter file while transient ones are retried",
         "[e2e][fault]") {
  auto config = [](const std::string& extra, const std::string& check) {
    return R"({
      "name": "checks",
      "defaults": {"batch_size": 250, "linger_ms": 20, "window": 4},
      "dlq": {"path": "dead.jsonl"},
      "stages": [
        {"id": "gen", "type": "source.generate", "params": {"count": 20000, "seed": 9}},
        {"id": "check", "type": ")" + check + R"(", "inputs": ["gen"], "on_error": "dlq")"
           + extra + R"(},
        {"id": "out", "type": "sink.file", "inputs": ["check"], "params": {"path": "ok.jsonl"}}
      ]})";
  };
  GIVEN("a validate stage refusing amounts over 150 that also fails transiently on 30% of records") {
    auto reference = run_to_end(
      "dlq-reference",
      config(R"(, "params": {"when": ".amount <= 150"})", "filter"), 0);
    auto dir = run_to_end(
      "dlq-permanent",
      config(R"(, "params": {"schema": {"properties": {"amount": {"maximum": 150}}}},
                  "chaos": {"seed": 4, "fail_records": 0.3},
                  "retry": {"max_attempts": 50, "initial_backoff_ms": 1, "max_backoff_ms": 5})",
             "validate"),
      0);
    THEN("exactly the records over 150 are dead letters, each with its reason and attempts") {
      auto good = sorted_lines(reference / "ok.jsonl");
      CHECK(sorted_lines(dir / "ok.jsonl") == good);
      auto dead = sorted_lines(dir / "dead.jsonl");
      CHECK(dead.size() == 20000 - good.size());
      std::set<std::string> ids;
      size_t once = 0;
      for (auto& line : dead) {
        auto d = json::parse(line);
        CHECK(d["stage"] == "check");
        CHECK(d["error"]["class"] == "schema_violation");
        // Permanent: never retried. A record that first failed transiently
        // (the injected faults) counts those attempts too.
        CHECK(d["attempts"].get<int>() >= 1);
        once += d["attempts"] == 1 ? 1 : 0;
        CHECK(d["first_failure"].get<std::string>() <= d["last_failure"].get<std::string>());
        CHECK(d["record"]["content"]["amount"].get<double>() > 150);
        ids.insert(d["record"]["id"].get<std::string>());
      }
      CHECK(ids.size() == dead.size());
      // About 70% met no injected fault before the schema refused them.
      CHECK(once > dead.size() / 2);
      CHECK(once < dead.size());
      auto summary = json::parse(slurp(dir / "summary.json"));
      CHECK(stage_row(summary, "check")["retries"].get<uint64_t>() > 1000);
      CHECK(summary["conservation"]["ok"] == true);
    }
    fs::remove_all(reference);
    fs::remove_all(dir);
  }
}

SCENARIO("SIGTERM in the middle of a 1,000,000-record run stops it cleanly", "[e2e][fault]") {
  GIVEN("a bounded run of a million records") {
    auto dir = temp_dir("sigterm");
    std::ofstream{dir / "p.json"} << job(1000000, "", "");
    sluice_process run{dir, "p.json"};
    WHEN("records are flowing and SIGTERM arrives") {
      REQUIRE(eventually(
        [&] {
          std::error_code ec;
          for (auto& e : fs::directory_iterator(dir / "out", ec))
            if (e.is_regular_file() && e.file_size() > 100000)
              return true;
          return false;
        },
        std::chrono::seconds(30)));
      kill(run.pid, SIGTERM);
      THEN("it exits 0 with status 'stopped', the books balanced and no record twice") {
        REQUIRE(run.wait_exit(std::chrono::seconds(60)) == 0);
        auto summary = json::parse(slurp(dir / "summary.json"));
        CHECK(summary["status"] == "stopped");
        CHECK(summary["conservation"]["ok"] == true);
        auto read = summary["totals"]["read"].get<uint64_t>();
        auto written = summary["totals"]["written"].get<uint64_t>();
        auto filtered = summary["totals"]["filtered"].get<uint64_t>();
        CHECK(read < 1000000); // it really stopped early
        CHECK(read == written + filtered);
        // Prefix-complete: every record read and not filtered is in the
        // output, once; nothing beyond what was read.
        std::set<uint64_t> seen;
        std::stringstream out{slurp(dir / "out/big.jsonl")};
        for (std::string line; std::getline(out, line);) {
          auto id = json::parse(line)["id"].get<std::string>();
          auto n = std::stoull(id.substr(1));
          CHECK(n <= read);
          CHECK(seen.insert(n).second);
        }
        CHECK(seen.size() == written);
      }
    }
    fs::remove_all(dir);
  }
}

SCENARIO("the example in docs/fault-tolerance.md runs and loses nothing", "[e2e][fault][docs]") {
  std::stringstream doc{slurp(fs::path{SLUICE_SOURCE_DIR} / "docs/fault-tolerance.md")};
  std::string example;
  bool inside = false;
  for (std::string line; std::getline(doc, line);) {
    if (!inside && line.rfind("```json", 0) == 0)
      inside = true;
    else if (inside && line.rfind("```", 0) == 0)
      break;
    else if (inside)
      example += line + '\n';
  }
  REQUIRE(!example.empty());
  auto dir = run_to_end("ft-docs", example, 0);
  auto summary = json::parse(slurp(dir / "summary.json"));
  CHECK(summary["status"] == "ok");
  CHECK(summary["conservation"]["ok"] == true);
  auto read = summary["totals"]["read"].get<uint64_t>();
  CHECK(read == 20000);
  CHECK(summary["totals"]["written"].get<uint64_t>() + summary["totals"]["filtered"].get<uint64_t>()
        == read);
  CHECK(lines_in(dir / "out/big.jsonl") == summary["totals"]["written"].get<uint64_t>());
  CHECK_FALSE(fs::exists(dir / "out/dead.jsonl.partial"));
  fs::remove_all(dir);
}

SCENARIO("an outage opens the circuit breaker, input waits, and nothing is dropped",
         "[e2e][fault]") {
  GIVEN("a sink that fails every record for 400 ms, with retries and a breaker") {
    auto clean = run_to_end("breaker-clean", job(5000, "", ""), 0);
    auto dir = run_to_end(
      "breaker",
      job(5000, "",
          R"(, "chaos": {"transient_for_ms": 400},
               "retry": {"max_attempts": 1000, "initial_backoff_ms": 5, "max_backoff_ms": 50},
               "circuit_breaker": {"failures": 20, "cooldown_ms": 100})"),
      0);
    THEN("the breaker opened, every record was written once, none dropped or dead-lettered") {
      auto summary = json::parse(slurp(dir / "summary.json"));
      CHECK(summary["status"] == "ok");
      CHECK(summary["conservation"]["ok"] == true);
      auto out = stage_row(summary, "out");
      CHECK(out["breaker_opened"].get<uint64_t>() >= 1);
      CHECK(out["retries"].get<uint64_t>() > 0);
      CHECK(out["dropped"] == 0);
      CHECK(out["dead_lettered"] == 0);
      CHECK(sorted_lines(dir / "out/big.jsonl") == sorted_lines(clean / "out/big.jsonl"));
      // The outage held the run up: it took at least as long as the outage.
      CHECK(summary["elapsed_ms"].get<int64_t>() >= 400);
    }
    fs::remove_all(clean);
    fs::remove_all(dir);
  }
}

SCENARIO("a transient failure that outlasts its attempts is dead-lettered with them",
         "[e2e][fault]") {
  GIVEN("a map that fails every record transiently, 3 attempts, on_error dlq") {
    auto dir = run_to_end(
      "retry-exhausted",
      R"({"name": "r", "defaults": {"batch_size": 50, "window": 4}, "dlq": {"path": "dead.jsonl"},
          "stages": [
            {"id": "gen", "type": "source.generate", "params": {"count": 200}},
            {"id": "m", "type": "chaos", "inputs": ["gen"], "on_error": "dlq",
             "params": {"fail_records": 1.0},
             "retry": {"max_attempts": 3, "initial_backoff_ms": 1, "max_backoff_ms": 2}},
            {"id": "out", "type": "sink.null", "inputs": ["m"]}]})",
      0);
    THEN("every record is a dead letter of class transient after exactly 3 attempts") {
      auto dead = sorted_lines(dir / "dead.jsonl");
      CHECK(dead.size() == 200);
      for (auto& line : dead) {
        auto d = json::parse(line);
        CHECK(d["error"]["class"] == "transient");
        CHECK(d["attempts"] == 3);
        CHECK(d["first_failure"].get<std::string>() <= d["last_failure"].get<std::string>());
      }
      auto summary = json::parse(slurp(dir / "summary.json"));
      CHECK(stage_row(summary, "m")["retries"] == 400);
      CHECK(summary["conservation"]["ok"] == true);
    }
    fs::remove_all(dir);
  }
}
