// Lineage end to end through the actors: stage replicas report what they do
// to each record, the recorder stores it, and the store answers where a
// record came from and what happened to it (docs/lineage.md).

#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "coordinator.hpp"
#include "lineage/query.hpp"
#include "lineage_recorder.hpp"
#include "support/actor_fixture.hpp"
#include "support/run_pipeline.hpp"

using namespace sluice;
using namespace sluice::test;
namespace fs = std::filesystem;

namespace {

struct lineage_dir {
  fs::path path;
  lineage_dir() {
    std::string tmpl = "/tmp/sluice-lineage-XXXXXX";
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~lineage_dir() { fs::remove_all(path); }
};

lineage_query open_store(const fs::path& p) {
  auto q = lineage_query::open(p.string());
  INFO((q ? std::string{} : q.err().message));
  REQUIRE(q);
  return std::move(*q);
}

std::vector<std::string> outcomes_of(const lineage_record_trace& t) {
  std::vector<std::string> out;
  for (auto& s : t.steps)
    out.push_back(s.stage + " " + to_string(s.outcome) + (s.detail.empty() ? "" : " " + s.detail));
  return out;
}

int64_t count(lineage_query& q, const std::string& stage, lineage_outcome o) {
  lineage_find_filter f;
  f.stage = stage;
  f.outcome = o;
  f.limit = 0;
  auto r = q.find(f);
  REQUIRE(r);
  return r->total;
}

} // namespace

TEST_CASE("a routed, aggregated and written record traces back to its source line",
          "[lineage][actors]") {
  lineage_dir dir;
  {
    std::ofstream in{dir.path / "orders.jsonl"};
    in << R"({"id": "o1", "user": "ann", "category": "food", "amount": 10})" << '\n'
       << R"({"id": "o2", "user": "bob", "category": "toys", "amount": 20})" << '\n'
       << R"({"id": "o3", "user": "ann", "category": "food", "amount": 5})" << '\n'
       << R"({"id": "o4", "user": "ann", "category": "food", "amount": "lots"})" << '\n';
  }
  auto summary = run_pipeline(R"json({
    "name": "traced",
    "dlq": {"path": "dead.jsonl"},
    "lineage": {"path": "lineage.db"},
    "stages": [
      {"id": "read", "type": "source.file", "params": {"path": "orders.jsonl", "id_field": "id"}},
      {"id": "cents", "type": "map", "inputs": ["read"], "on_error": "dlq",
       "params": {"set": {"cents": ".amount * 100"}, "rename": {"user": "customer"}}},
      {"id": "split", "type": "route", "inputs": ["cents"],
       "params": {"routes": {"food": ".category == \"food\""}, "default": "other"}},
      {"id": "totals", "type": "aggregate", "inputs": ["split.food"],
       "params": {"group_by": [".customer"], "aggregates": {"total": "sum(.cents)"}}},
      {"id": "out", "type": "sink.file", "inputs": ["totals"], "params": {"path": "totals.jsonl"}},
      {"id": "rest", "type": "sink.file", "inputs": ["split.other"], "params": {"path": "rest.jsonl"}}
    ]})json", dir.path);
  CHECK(summary["status"] == "ok");
  REQUIRE(summary.contains("lineage"));
  CHECK(summary["lineage"]["complete"] == true);
  auto q = open_store(dir.path / "lineage.db");

  SECTION("a source record: read, changed, routed, folded into the aggregate's output") {
    auto t = q.trace("o1");
    REQUIRE(t);
    REQUIRE(t->records.size() == 1);
    auto& r = t->records[0];
    CHECK(r.origin.to_string() == "orders.jsonl:1");
    CHECK(outcomes_of(r) == std::vector<std::string>{
                              "read read", "cents changed set cents; rename user->customer",
                              "split routed food", "totals folded totals:1"});
    REQUIRE(r.children.size() == 1);
    CHECK(r.children[0].record_id == "totals:1");
  }
  SECTION("the aggregate's output names its inputs and reaches the sink") {
    auto t = q.trace("totals:1");
    REQUIRE(t);
    REQUIRE(t->records.size() == 1);
    auto& r = t->records[0];
    CHECK(r.origin.derived);
    CHECK(outcomes_of(r) == std::vector<std::string>{"totals derived", "out written"});
    CHECK(r.parent_count == 2);
    std::set<std::string> parents;
    for (auto& p : r.parents)
      parents.insert(p.record_id);
    CHECK(parents == std::set<std::string>{"o1", "o3"});
  }
  SECTION("a record routed elsewhere is written by the other sink") {
    auto t = q.trace("o2");
    REQUIRE(t);
    REQUIRE(t->records.size() == 1);
    auto steps = outcomes_of(t->records[0]);
    REQUIRE(steps.size() == 4);
    CHECK(steps[2] == "split routed other");
    CHECK(steps[3] == "rest written");
  }
  SECTION("a record that failed traces to its dead letter with the reason") {
    auto t = q.trace("o4");
    REQUIRE(t);
    REQUIRE(t->records.size() == 1);
    auto steps = outcomes_of(t->records[0]);
    REQUIRE(steps.size() == 2);
    CHECK(steps[1].rfind("cents dead_lettered type_error: ", 0) == 0);
    CHECK(count(q, "cents", lineage_outcome::dead_lettered) == 1);
  }
}

TEST_CASE("a malformed line traces to its dead letter with the reason", "[lineage][actors]") {
  lineage_dir dir;
  {
    std::ofstream in{dir.path / "in.jsonl"};
    in << "{\"n\": 1}\n{\"n\": 2\n{\"n\": 3}\n";
  }
  auto summary = run_pipeline(R"({
    "name": "malformed",
    "dlq": {"path": "dead.jsonl"},
    "lineage": {"path": "lineage.db"},
    "stages": [
      {"id": "read", "type": "source.file", "on_error": "dlq", "params": {"path": "in.jsonl"}},
      {"id": "out", "type": "sink.null", "inputs": ["read"]}
    ]})", dir.path);
  CHECK(summary["status"] == "ok");
  auto q = open_store(dir.path / "lineage.db");
  lineage_find_filter f;
  f.outcome = lineage_outcome::dead_lettered;
  auto found = q.find(f);
  REQUIRE(found);
  REQUIRE(found->total == 1);
  auto& row = found->rows.at(0);
  CHECK(row.origin.to_string() == "in.jsonl:2");
  CHECK(row.step.stage == "read");
  CHECK(row.step.detail.rfind("parse_error: ", 0) == 0);
  auto t = q.trace(row.record_id);
  REQUIRE(t);
  REQUIRE(t->records.size() == 1);
  CHECK(outcomes_of(t->records[0]).size() == 1);
}

TEST_CASE("after injected crashes and redelivery each record has one event per stage",
          "[lineage][actors]") {
  lineage_dir dir;
  auto summary = run_pipeline(R"({
    "name": "crashy",
    "defaults": {"batch_size": 100, "linger_ms": 5},
    "lineage": {"path": "lineage.db"},
    "stages": [
      {"id": "gen", "type": "source.generate", "params": {"count": 20000, "seed": 5}},
      {"id": "shape", "type": "map", "inputs": ["gen"], "parallelism": 2,
       "chaos": {"seed": 11, "crash_batches": 0.05},
       "supervision": {"max_restarts": 1000, "within": "60s"},
       "params": {"set": {"twice": ".amount * 2"}}},
      {"id": "out", "type": "sink.null", "inputs": ["shape"]}
    ]})", dir.path);
  REQUIRE(summary["status"] == "ok");
  uint64_t restarts = 0;
  for (auto& s : summary["stages"])
    restarts += s.value("restarts", uint64_t{0});
  CHECK(restarts > 0);
  auto q = open_store(dir.path / "lineage.db");
  CHECK(count(q, "gen", lineage_outcome::read) == 20000);
  CHECK(count(q, "shape", lineage_outcome::changed) == 20000);
  CHECK(count(q, "out", lineage_outcome::written) == 20000);
  auto runs = q.runs();
  REQUIRE(runs);
  REQUIRE(runs->size() == 1);
  CHECK(runs->at(0).events == 60000);
  CHECK(runs->at(0).status == "ok");
}

TEST_CASE("the sampled mode traces the same records in every stage", "[lineage][actors]") {
  lineage_dir dir;
  auto summary = run_pipeline(R"({
    "name": "sampled",
    "defaults": {"batch_size": 100, "linger_ms": 5},
    "lineage": {"mode": "sampled", "sample_rate": 0.1, "path": "lineage.db"},
    "stages": [
      {"id": "gen", "type": "source.generate", "params": {"count": 10000, "seed": 5}},
      {"id": "shape", "type": "map", "inputs": ["gen"], "parallelism": 2,
       "params": {"set": {"twice": ".amount * 2"}}},
      {"id": "out", "type": "sink.null", "inputs": ["shape"]}
    ]})", dir.path);
  REQUIRE(summary["status"] == "ok");
  auto q = open_store(dir.path / "lineage.db");
  auto keys_at = [&](const std::string& stage) {
    lineage_find_filter f;
    f.stage = stage;
    f.limit = 100000;
    auto r = q.find(f);
    REQUIRE(r);
    std::set<std::string> keys;
    for (auto& row : r->rows)
      keys.insert(row.record_id);
    return keys;
  };
  auto at_gen = keys_at("gen");
  CHECK(at_gen.size() > 800);
  CHECK(at_gen.size() < 1200);
  CHECK(keys_at("shape") == at_gen);
  CHECK(keys_at("out") == at_gen);
  // Chosen by the key's hash, not by chance: exactly the sampled keys.
  size_t expected = 0;
  for (uint64_t line = 1; line <= 10000; ++line)
    expected += lineage_sampled(lineage_key{0, 0, line}, 0.1) ? 1 : 0;
  CHECK(at_gen.size() == expected);
}

TEST_CASE("outputs of an aggregate with replicas name exactly their own inputs",
          "[lineage][actors]") {
  lineage_dir dir;
  auto summary = run_pipeline(R"json({
    "name": "parallel-totals",
    "defaults": {"batch_size": 100, "linger_ms": 5},
    "lineage": {"path": "lineage.db"},
    "stages": [
      {"id": "gen", "type": "source.generate", "params": {"count": 3000, "seed": 3}},
      {"id": "per_cat", "type": "aggregate", "inputs": ["gen"], "parallelism": 2,
       "params": {"group_by": [".category"], "aggregates": {"n": "count()"}}},
      {"id": "out", "type": "sink.file", "inputs": ["per_cat"], "params": {"path": "out.jsonl"}}
    ]})json", dir.path);
  REQUIRE(summary["status"] == "ok");
  auto q = open_store(dir.path / "lineage.db");
  lineage_find_filter f;
  f.stage = "per_cat";
  f.outcome = lineage_outcome::derived;
  f.limit = 1000;
  auto outputs = q.find(f);
  REQUIRE(outputs);
  REQUIRE(outputs->total >= 6); // six categories, split over two replicas
  std::set<std::string> ids;
  size_t parents = 0;
  for (auto& row : outputs->rows) {
    CHECK(ids.insert(row.record_id).second); // unique within the run
    CHECK(row.record_id.rfind("per_cat#", 0) == 0);
    auto t = q.trace(row.record_id, {}, 0);
    REQUIRE(t);
    REQUIRE(t->records.size() == 1);
    parents += t->records[0].parent_count;
  }
  // Every record was folded into exactly one output.
  CHECK(parents == 3000);
}

TEST_CASE("a lineage store that cannot be opened refuses the run before a record moves",
          "[lineage][actors]") {
  lineage_dir dir;
  auto summary = run_pipeline(R"json({
    "name": "nowhere",
    "lineage": {"path": "missing/folder/lineage.db"},
    "stages": [
      {"id": "gen", "type": "source.generate", "params": {"count": 10}},
      {"id": "out", "type": "sink.file", "inputs": ["gen"], "params": {"path": "out.jsonl"}}
    ]})json", dir.path);
  CHECK(summary["status"] == "failed");
  auto error = summary.value("error", std::string{});
  CHECK(error.find("missing/folder/lineage.db': cannot open") != std::string::npos);
  CHECK(error.find("its folder must exist") != std::string::npos);
  CHECK(summary["totals"]["read"] == 0);
  CHECK_FALSE(fs::exists(dir.path / "out.jsonl"));
}

TEST_CASE("a batch of events a replica sends again is acknowledged and stored once",
          "[lineage][actors]") {
  lineage_dir dir;
  diagnostics diags;
  auto plan = load_pipeline_text(R"({"name": "again", "lineage": {"path": "lineage.db"},
    "stages": [{"id": "gen", "type": "source.generate", "params": {"count": 4}},
               {"id": "out", "type": "sink.null", "inputs": ["gen"]}]})",
                                 "again.json", dir.path.string(), {}, diags);
  REQUIRE(plan);
  actor_fixture f;
  auto rec = f.sys.spawn<caf::detached>(lineage_recorder,
                                        std::shared_ptr<const pipeline_plan>(std::move(plan)));
  f.spawned.push_back(rec);
  wiring w;
  w.coordinator = f.self;
  w.inputs.resize(1); // one replica sends events
  f.self->request(rec, caf::infinite, w).receive(
    [&](const std::string& err) { REQUIRE(err.empty()); },
    [&](const caf::error& e) { FAIL(f.sys.render(e)); });
  auto batch = [](uint64_t first_line) {
    auto events = std::make_shared<std::vector<lineage_event>>();
    for (uint64_t line = first_line; line < first_line + 2; ++line)
      events->push_back(lineage_event{lineage_key{0, 0, line}, "gen:" + std::to_string(line), 0, 0,
                                      1'796'529'600'000'000, lineage_outcome::read, 0, ""});
    return events;
  };
  auto first = batch(1), second = batch(3);
  // A worker sent batch 1, died before the ack reached it; its successor
  // sends batch 1 again, then batch 2, which also arrives twice.
  f.self->send(rec, lineage_batch_msg{0, 0, 1, first});
  f.self->send(rec, lineage_batch_msg{0, 0, 1, first});
  f.self->send(rec, lineage_batch_msg{0, 0, 2, second});
  f.self->send(rec, lineage_batch_msg{0, 0, 2, second});
  std::vector<uint64_t> acks;
  for (int i = 0; i < 4; ++i)
    f.self->receive([&](const lineage_ack_msg& a) { acks.push_back(a.seq); },
                    caf::after(std::chrono::seconds(5)) >> [&] { FAIL("no ack"); });
  CHECK(acks == std::vector<uint64_t>{1, 1, 2, 2}); // every copy acknowledged
  f.self->send(rec, start_atom::value);
  f.self->send(rec, lineage_eos_msg{0, 0, 2});
  f.self->receive([&](const stage_done& d) { CHECK(d.stats.written == 4); },
                  caf::after(std::chrono::seconds(5)) >> [&] { FAIL("no stage_done"); });
  f.self->request(rec, caf::infinite, commit_atom::value, std::string{"ok"})
    .receive([&](const std::string& err) { CHECK(err.empty()); },
             [&](const caf::error& e) { FAIL(f.sys.render(e)); });
  auto q = open_store(dir.path / "lineage.db");
  auto runs = q.runs();
  REQUIRE(runs);
  REQUIRE(runs->size() == 1);
  CHECK(runs->at(0).events == 4);
  CHECK(runs->at(0).records == 4);
  CHECK(count(q, "gen", lineage_outcome::read) == 4);
  auto t = q.trace("gen:3");
  REQUIRE(t);
  REQUIRE(t->records.size() == 1);
  CHECK(outcomes_of(t->records[0]) == std::vector<std::string>{"gen read"});
}
