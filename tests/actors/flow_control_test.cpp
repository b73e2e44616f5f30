// The edge protocol's flow control: a sender never has more than `window`
// unacknowledged batches on an edge, and a source reads only while it has
// room, so memory is bounded by window x batch_size, not by input size.

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "source_driver.hpp"
#include "stage_actor.hpp"
#include "support/actor_fixture.hpp"
#include "support/corked_sink.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

std::shared_ptr<const pipeline_plan> plan_of(const std::string& text) {
  diagnostics diags;
  auto plan = load_pipeline_text(text, "flow.json", ".", {}, diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  return std::shared_ptr<const pipeline_plan>(std::move(plan));
}

const char* generate_to_null = R"({
  "name": "flow",
  "defaults": {"batch_size": 100, "linger_ms": 1000, "window": 4},
  "stages": [
    {"id": "gen", "type": "source.generate", "params": {"count": 100000}},
    {"id": "keep", "type": "filter", "inputs": ["gen"], "params": {"when": "true"}},
    {"id": "out", "type": "sink.null", "inputs": ["keep"]}
  ]
})";

sink_view peek(actor_fixture& f, const caf::actor& sink) {
  sink_view v;
  f.self->request(sink, std::chrono::seconds(5), peek_atom::value)
    .receive([&](sink_view& x) { v = std::move(x); }, [](caf::error&) {});
  return v;
}

stage_stats stats_of(actor_fixture& f, const caf::actor& a) {
  stage_stats s;
  f.self->request(a, std::chrono::seconds(5), stats_atom::value)
    .receive([&](stage_stats& x) { s = std::move(x); }, [](caf::error&) {});
  return s;
}

} // namespace

SCENARIO("a corked sink holds the source to its window", "[flow][actors]") {
  actor_fixture f;
  auto plan = plan_of(generate_to_null);
  GIVEN("a source driver whose only edge has a window of 4 batches of 100") {
    auto sink = f.sys.spawn(corked_sink, true);
    auto driver = f.sys.spawn<caf::detached>(source_driver, plan, stage_index{0});
    f.spawned = {sink, driver};
    wiring w;
    w.outputs.push_back(out_edge_desc{1, 0, 0, 0, 4, sink});
    w.coordinator = f.self;
    std::string err = "no reply";
    f.self->request(driver, std::chrono::seconds(5), w)
      .receive([&](std::string& e) { err = e; }, [](caf::error&) {});
    REQUIRE(err.empty());
    WHEN("the sink acknowledges nothing") {
      f.self->send(driver, start_atom::value);
      REQUIRE(f.eventually([&] { return peek(f, sink).batches == 4; }));
      THEN("the driver stops after filling the window plus one batch it holds") {
        // The fifth batch is read and queued; then the driver waits for room.
        REQUIRE(f.eventually([&] { return stats_of(f, driver).in == 500; }));
        auto again = stats_of(f, driver);
        CHECK(again.in == 500);
        CHECK(peek(f, sink).batches == 4);
      }
      AND_WHEN("the sink releases two batches") {
        f.self->send(sink, release_atom::value, uint64_t{2});
        THEN("exactly two more batches arrive and the window holds") {
          REQUIRE(f.eventually([&] { return peek(f, sink).batches == 6; }));
          REQUIRE(f.eventually([&] { return stats_of(f, driver).in == 700; }));
          auto v = peek(f, sink);
          CHECK(v.batches == 6);
          CHECK(v.max_unacked == 4);
        }
      }
      AND_WHEN("the sink uncorks") {
        f.self->send(sink, uncork_atom::value);
        THEN("everything arrives, never more than 4 batches (400 records) in flight") {
          REQUIRE(f.eventually([&] { return peek(f, sink).eos; }, std::chrono::seconds(30)));
          auto v = peek(f, sink);
          CHECK(v.records == 100000);
          CHECK(v.max_unacked == 4);
          CHECK(v.max_unacked_records == 400);
        }
      }
    }
  }
}

SCENARIO("a slow stage downstream keeps its upstream stage within the window",
         "[flow][actors]") {
  actor_fixture f;
  auto plan = plan_of(generate_to_null);
  GIVEN("source -> filter stage -> corked sink, window 4, batches of 100") {
    auto sink = f.sys.spawn(corked_sink, true);
    auto stage = f.sys.spawn(stage_actor, plan, stage_index{1}, uint32_t{0});
    auto driver = f.sys.spawn<caf::detached>(source_driver, plan, stage_index{0});
    f.spawned = {sink, stage, driver};
    wiring to_stage;
    to_stage.outputs.push_back(out_edge_desc{1, 0, 1, 0, 4, stage});
    to_stage.coordinator = f.self;
    wiring to_sink;
    to_sink.inputs = {in_edge_desc{1, driver}};
    to_sink.outputs.push_back(out_edge_desc{2, 0, 2, 0, 4, sink});
    to_sink.coordinator = f.self;
    for (auto& [a, w] : {std::pair{stage, to_sink}, std::pair{driver, to_stage}}) {
      std::string err = "no reply";
      f.self->request(a, std::chrono::seconds(5), w)
        .receive([&](std::string& e) { err = e; }, [](caf::error&) {});
      REQUIRE(err.empty());
    }
    WHEN("the sink acknowledges nothing") {
      f.self->send(driver, start_atom::value);
      REQUIRE(f.eventually([&] { return peek(f, sink).batches == 4; }));
      THEN("the stage holds at most its input window and the source stops reading") {
        // Stage: 4 batches in flight to the sink, 1 queued; 4 more unprocessed
        // inputs from the source; the source holds 1 more: 10 batches at most.
        REQUIRE(f.eventually([&] { return stats_of(f, driver).in == 1000; }));
        CHECK(stats_of(f, driver).in == 1000);
        CHECK(stats_of(f, stage).in == 500);
      }
      AND_WHEN("the sink uncorks") {
        f.self->send(sink, uncork_atom::value);
        THEN("all records pass with the window respected on the stage's output edge") {
          REQUIRE(f.eventually([&] { return peek(f, sink).eos; }, std::chrono::seconds(30)));
          auto v = peek(f, sink);
          CHECK(v.records == 100000);
          CHECK(v.max_unacked <= 4);
          CHECK(v.max_unacked_records <= 400);
        }
      }
    }
  }
}
