// Ctrl-C on a streaming run: sources stop, what was read drains to the sinks,
// the summary says "stopped", the conservation check holds, exit code 0.
// Runs the sluice binary as a user would, on the shipped streaming example
// and on a pipeline writing a file in place.

#include <catch2/catch.hpp>

#include <csignal>

#include "sluice_process.hpp"

using namespace sluice::test;

SCENARIO("Ctrl-C stops a streaming run cleanly", "[e2e][signals]") {
  GIVEN("an endless generator writing a file in place") {
    auto dir = temp_dir("signal");
    std::ofstream{dir / "endless.json"} << R"({
      "name": "endless",
      "defaults": {"batch_size": 100, "linger_ms": 20, "window": 4},
      "stages": [
        {"id": "gen", "type": "source.generate", "params": {"rate": 20000}},
        {"id": "big", "type": "filter", "inputs": ["gen"], "params": {"when": ".amount > 50"}},
        {"id": "out", "type": "sink.file", "inputs": ["big"], "params": {"path": "out/big.jsonl"}}
      ]})";
    sluice_process run{dir, "endless.json"};
    WHEN("records reach the file and SIGINT arrives") {
      REQUIRE(eventually([&] { return lines_in(dir / "out/big.jsonl") >= 500; },
                         std::chrono::seconds(20)));
      kill(run.pid, SIGINT);
      THEN("it drains, reports 'stopped' with the books balanced, and exits 0") {
        REQUIRE(run.wait_exit(std::chrono::seconds(20)) == 0);
        auto summary = json::parse(slurp(dir / "summary.json"));
        CHECK(summary["status"] == "stopped");
        CHECK(summary["conservation"]["ok"] == true);
        auto read = summary["totals"]["read"].get<uint64_t>();
        auto written = summary["totals"]["written"].get<uint64_t>();
        auto filtered = summary["totals"]["filtered"].get<uint64_t>();
        CHECK(read == written + filtered);
        // Everything written is in the file: nothing was left in a buffer.
        CHECK(lines_in(dir / "out/big.jsonl") == written);
        CHECK(slurp(dir / "stderr.txt").find("stopping") != std::string::npos);
      }
    }
    fs::remove_all(dir);
  }
  GIVEN("the shipped streaming example") {
    auto dir = temp_dir("signal");
    fs::copy(fs::path{SLUICE_SOURCE_DIR} / "configs/examples/stream.json", dir / "stream.json");
    sluice_process run{dir, "stream.json"};
    WHEN("a window of per-category counts was printed and SIGINT arrives") {
      REQUIRE(eventually([&] { return lines_in(dir / "stdout.txt") >= 1; },
                         std::chrono::seconds(20)));
      kill(run.pid, SIGINT);
      THEN("it stops with exit code 0 and every printed line is a category count") {
        REQUIRE(run.wait_exit(std::chrono::seconds(20)) == 0);
        auto summary = json::parse(slurp(dir / "summary.json"));
        CHECK(summary["status"] == "stopped");
        CHECK(summary["conservation"]["ok"] == true);
        std::stringstream out{slurp(dir / "stdout.txt")};
        for (std::string line; std::getline(out, line);) {
          auto j = json::parse(line);
          CHECK(j.contains("category"));
          CHECK(j["orders"].get<int64_t>() > 0);
          CHECK(j["window_end"].get<int64_t>() - j["window_start"].get<int64_t>() == 2000);
        }
      }
    }
    fs::remove_all(dir);
  }
}

SCENARIO("a second Ctrl-C forces the stop and says what was in flight", "[e2e][signals]") {
  GIVEN("an endless generator feeding a slow sink") {
    auto dir = temp_dir("signal-twice");
    // 300 ms per batch at the sink: the drain after the first SIGINT is slow.
    std::ofstream{dir / "slow.json"} << R"({
      "name": "slow",
      "defaults": {"batch_size": 100, "linger_ms": 20, "window": 4},
      "stages": [
        {"id": "gen", "type": "source.generate", "params": {"rate": 5000}},
        {"id": "out", "type": "sink.file", "inputs": ["gen"], "chaos": {"latency_ms": 300},
         "params": {"path": "out/all.jsonl"}}
      ]})";
    sluice_process run{dir, "slow.json"};
    WHEN("SIGINT arrives twice while batches wait at the sink") {
      REQUIRE(eventually([&] { return lines_in(dir / "out/all.jsonl") >= 100; },
                         std::chrono::seconds(20)));
      kill(run.pid, SIGINT);
      REQUIRE(eventually([&] { return slurp(dir / "stderr.txt").find("stopping") != std::string::npos; },
                         std::chrono::seconds(5)));
      kill(run.pid, SIGINT);
      THEN("it exits 130 and reports the records read, accounted for and in flight") {
        REQUIRE(run.wait_exit(std::chrono::seconds(10)) == 130);
        auto err = slurp(dir / "stderr.txt");
        INFO(err);
        CHECK(err.find("forced stop: ") != std::string::npos);
        CHECK(err.find(" records read, ") != std::string::npos);
        CHECK(err.find(" in flight") != std::string::npos);
        CHECK(err.find("were not written") != std::string::npos);
        CHECK_FALSE(fs::exists(dir / "summary.json"));
      }
    }
    fs::remove_all(dir);
  }
}
