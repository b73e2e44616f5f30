// The metrics collector samples every actor of a run and builds the
// snapshot observers read: exact counts at the end, rates and states while
// it runs, backpressure and failures where they happen.

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "coordinator.hpp"
#include "metrics/snapshot.hpp"
#include "metrics_collector.hpp"
#include "support/actor_fixture.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

std::shared_ptr<const pipeline_plan> plan_of(const std::string& text, const std::string& dir) {
  diagnostics diags;
  auto plan = load_pipeline_text(text, "metrics.json", dir, {}, diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  return std::shared_ptr<const pipeline_plan>(std::move(plan));
}

metrics_snapshot snapshot_of(actor_fixture& f, const caf::actor& collector) {
  std::string text;
  f.self->request(collector, std::chrono::seconds(5), snapshot_atom::value)
    .receive([&](std::string& s) { text = std::move(s); }, [](caf::error&) {});
  REQUIRE_FALSE(text.empty());
  return snapshot_from_json(nlohmann::json::parse(text));
}

const stage_view& stage(const metrics_snapshot& s, const std::string& id) {
  for (auto& v : s.stages)
    if (v.id == id)
      return v;
  FAIL("no stage " << id << " in the snapshot");
  throw std::logic_error("unreachable");
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path()
           / ("sluice-metrics-" + std::to_string(::getpid()) + "-"
              + std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

} // namespace

TEST_CASE("the collector's last picture holds a run's exact counts and its events",
          "[metrics][actors]") {
  temp_dir dir;
  {
    std::ofstream in{dir.path / "in.jsonl"};
    for (int n = 1; n <= 1000; ++n)
      in << "{\"n\":" << n << "}\n";
  }
  auto plan = plan_of(R"({
    "name": "counted",
    "defaults": {"batch_size": 64, "linger_ms": 5},
    "stages": [
      {"id": "read", "type": "source.file", "params": {"path": "in.jsonl"}},
      {"id": "small", "type": "filter", "inputs": ["read"], "parallelism": 2,
       "params": {"when": ".n <= 300"}},
      {"id": "out", "type": "sink.null", "inputs": ["small"]}
    ]})", dir.path.string());
  actor_fixture f;
  collector_options opts;
  opts.interval_ms = 50;
  auto collector = f.sys.spawn(metrics_collector, plan, opts);
  run_options ropts;
  ropts.collector = collector;
  auto coord = f.sys.spawn(coordinator, plan, ropts);
  f.spawned = {collector};
  std::string summary;
  f.self->request(coord, std::chrono::seconds(30), run_atom::value)
    .receive([&](std::string& s) { summary = std::move(s); }, [](caf::error&) {});
  REQUIRE_FALSE(summary.empty());

  auto s = snapshot_of(f, collector);
  CHECK(s.pipeline == "counted");
  CHECK(s.status == "ok");
  CHECK(s.records_read == 1000);
  CHECK(s.records_accounted == 1000);
  CHECK(s.in_flight == 0);
  REQUIRE(s.stages.size() == 3);
  CHECK(s.stages[0].id == "read");
  CHECK(s.stages[0].role == "source");
  CHECK(s.stages[0].bytes_read == s.stages[0].bytes_total);
  CHECK(s.stages[0].bytes_total > 0);
  auto& small = stage(s, "small");
  CHECK(small.type == "filter");
  CHECK(small.parallelism == 2);
  REQUIRE(small.replicas.size() == 2);
  CHECK(small.replicas[0].totals.records_in + small.replicas[1].totals.records_in == 1000);
  CHECK(small.totals.records_in == 1000);
  CHECK(small.totals.filtered == 700);
  CHECK(small.totals.records_out == 300);
  CHECK(small.state == "done");
  CHECK(small.latency_hist.count() == small.totals.batches_in);
  auto& out = stage(s, "out");
  CHECK(out.role == "sink");
  CHECK(out.totals.written == 300);
  CHECK(out.end_to_end_hist.count() == 300);
  // Edges: read's two replicas feed both filter replicas... every edge to
  // `out` together carries the 300 records.
  uint64_t into_out = 0;
  for (auto& e : s.edges)
    if (e.to == "out")
      into_out += e.records;
  CHECK(into_out == 300);
  // In pipeline order: read's edges first, the sink's inputs last.
  REQUIRE_FALSE(s.edges.empty());
  CHECK(s.edges.front().from == "read");
  CHECK(s.edges.back().to == "out");
  auto sums = stage_edges(s.edges);
  bool found = false;
  for (auto& e : sums)
    if (e.from == "small" && e.to == "out") {
      found = true;
      CHECK(e.records == 300);
    }
  CHECK(found);
  // Events, in order: stages started, the pipeline started, stages
  // finished, the pipeline finished.
  std::vector<std::string> kinds;
  for (auto& e : s.events)
    kinds.push_back(e.kind);
  REQUIRE(kinds.size() >= 8);
  CHECK(kinds.back() == "pipeline_finished");
  auto at = [&](const std::string& k) {
    return std::find(kinds.begin(), kinds.end(), k) - kinds.begin();
  };
  CHECK(at("stage_started") < at("pipeline_started"));
  CHECK(at("pipeline_started") < at("stage_finished"));
  CHECK(std::count(kinds.begin(), kinds.end(), "stage_finished") == 3);
  CHECK(s.events.back().message == "ok: 1000 records read, 300 written");
  CHECK(s.node.pid == ::getpid());
  CHECK(s.node.rss_bytes > 0);
}

TEST_CASE("a slow sink shows as backpressure upstream, with rates and latency",
          "[metrics][actors]") {
  temp_dir dir;
  auto plan = plan_of(R"({
    "name": "slow",
    "defaults": {"batch_size": 50, "linger_ms": 5, "window": 2},
    "stages": [
      {"id": "gen", "type": "source.generate", "params": {"rate": 20000}},
      {"id": "pass", "type": "filter", "inputs": ["gen"], "params": {"when": "true"}},
      {"id": "out", "type": "sink.null", "inputs": ["pass"], "chaos": {"latency_ms": 20}}
    ]})", dir.path.string());
  actor_fixture f;
  collector_options opts;
  opts.interval_ms = 100;
  auto collector = f.sys.spawn(metrics_collector, plan, opts);
  run_options ropts;
  ropts.collector = collector;
  auto coord = f.sys.spawn(coordinator, plan, ropts);
  f.spawned = {collector};
  auto run = f.self->request(coord, std::chrono::seconds(30), run_atom::value);
  metrics_snapshot s;
  // The sink takes a batch per 20 ms (2,500 records/s at most) while the
  // source offers 20,000/s: the filter's window to the sink stays full.
  bool seen = f.eventually(
    [&] {
      s = snapshot_of(f, collector);
      return s.status == "running" && stage(s, "pass").state == "backpressured"
             && stage(s, "out").in_per_s > 0 && s.sequence > 10;
    },
    std::chrono::seconds(15));
  INFO(to_json(s).dump(1));
  REQUIRE(seen);
  auto& pass = stage(s, "pass");
  CHECK(pass.in_flight == pass.window);
  CHECK(pass.window == 2);
  auto& out = stage(s, "out");
  CHECK(out.state == "running");
  CHECK(out.in_per_s < 3500);
  CHECK(out.history.size() > 5);
  CHECK(out.history.front() > 0); // no leading 0 from the sample that had no rate yet
  CHECK(out.end_to_end.p95_ms >= 20);
  CHECK(s.in_flight > 0);
  f.self->send(coord, halt_atom::value);
  std::string summary;
  run.receive([&](std::string& text) { summary = std::move(text); }, [](caf::error&) {});
  CHECK_FALSE(summary.empty());
}

TEST_CASE("a stage whose records fail shows as failing, with its errors and retries",
          "[metrics][actors]") {
  temp_dir dir;
  auto plan = plan_of(R"({
    "name": "flaky",
    "defaults": {"batch_size": 50, "linger_ms": 5},
    "dlq": {"path": "dead.jsonl"},
    "stages": [
      {"id": "gen", "type": "source.generate", "params": {"rate": 5000}},
      {"id": "shaky", "type": "chaos", "inputs": ["gen"], "on_error": "dlq",
       "retry": {"max_attempts": 2, "initial_backoff_ms": 1},
       "params": {"seed": 3, "fail_records": 0.2}},
      {"id": "out", "type": "sink.null", "inputs": ["shaky"]}
    ]})", dir.path.string());
  actor_fixture f;
  collector_options opts;
  opts.interval_ms = 100;
  auto collector = f.sys.spawn(metrics_collector, plan, opts);
  run_options ropts;
  ropts.collector = collector;
  auto coord = f.sys.spawn(coordinator, plan, ropts);
  f.spawned = {collector};
  auto run = f.self->request(coord, std::chrono::seconds(30), run_atom::value);
  metrics_snapshot s;
  bool seen = f.eventually(
    [&] {
      s = snapshot_of(f, collector);
      return stage(s, "shaky").state == "failing" && stage(s, "shaky").totals.dead_lettered > 0;
    },
    std::chrono::seconds(15));
  INFO(to_json(s).dump(1));
  REQUIRE(seen);
  auto& shaky = stage(s, "shaky");
  CHECK(shaky.totals.errors >= shaky.totals.retries);
  CHECK(shaky.totals.retries > 0);
  CHECK(stage(s, "dlq").type == "sink.dlq");
  bool dlq_edge = false;
  for (auto& e : s.edges)
    dlq_edge = dlq_edge || (e.from == "shaky" && e.to == "dlq");
  CHECK(dlq_edge);
  f.self->send(coord, halt_atom::value);
  std::string summary;
  run.receive([&](std::string& text) { summary = std::move(text); }, [](caf::error&) {});
  CHECK_FALSE(summary.empty());
}
