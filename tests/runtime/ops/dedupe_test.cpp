#include <catch2/catch.hpp>

#include "ops/dedupe.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using sluice::test::make_record;
using sluice::test::recording_emitter;

namespace {

stage_spec spec_of(const json& params) {
  stage_spec spec;
  spec.id = "unique";
  spec.type = "dedupe";
  spec.index = 2;
  spec.json_path = "/stages/2";
  spec.params = params;
  return spec;
}

std::optional<dedupe_config> parse(const json& params, diagnostics& diags) {
  auto spec = spec_of(params);
  params_reader p{spec.params, spec.json_path + "/params", "dedupe", diags};
  return dedupe_config::parse(p);
}

dedupe_config config(const json& params) {
  diagnostics diags;
  auto cfg = parse(params, diags);
  INFO(diags.render());
  REQUIRE(cfg);
  return std::move(*cfg);
}

/// A clock the test moves by hand (microseconds).
struct fake_clock {
  int64_t now = 1'700'000'000'000'000;
  void advance_ms(int64_t ms) { now += ms * 1000; }
};

// Feeds records {"id": k} for each k in `keys`; returns the keys emitted.
std::vector<json> feed(op& d, recording_emitter& out, std::vector<json> keys) {
  uint64_t line = out.emitted.size() + out.discarded.size() + out.failed.size();
  for (auto& k : keys)
    d.process(make_record({{"id", k}}, ++line), out);
  std::vector<json> ids;
  for (auto& c : out.contents())
    ids.push_back(c["id"]);
  return ids;
}

} // namespace

SCENARIO("dedupe passes the first record of a key and filters repeats", "[ops][dedupe]") {
  GIVEN("a dedupe on .id keeping 10 keys") {
    dedupe_op d{config(json::parse(R"({"key": ".id", "window": {"count": 10}})"))};
    recording_emitter out;
    WHEN("keys a, b, a, b, c arrive") {
      auto ids = feed(d, out, {"a", "b", "a", "b", "c"});
      THEN("a, b and c pass once and the repeats are filtered") {
        CHECK(ids == std::vector<json>{"a", "b", "c"});
        REQUIRE(out.discarded.size() == 2);
        CHECK(out.discarded[0].first.id() == "test:3");
        CHECK(out.discarded[0].second == disposition::filtered);
        CHECK(out.discarded[1].first.id() == "test:4");
        CHECK(out.failed.empty());
      }
    }
  }
}

TEST_CASE("dedupe keys compare as JSON values", "[ops][dedupe]") {
  dedupe_op d{config(json::parse(R"({"key": "[.a, .b]", "window": {"count": 10}})"))};
  recording_emitter out;
  d.process(make_record({{"a", 1}, {"b", "x"}}, 1), out);
  d.process(make_record({{"a", 1.0}, {"b", "x"}}, 2), out); // same key: 1 == 1.0
  d.process(make_record({{"a", "1"}, {"b", "x"}}, 3), out); // a string is another key
  d.process(make_record({{"a", 1}}, 4), out);               // [1, null]
  d.process(make_record({{"a", 1}, {"c", 0}}, 5), out);     // [1, null] again
  CHECK(out.emitted.size() == 3);
  CHECK(out.discarded.size() == 2);
  CHECK(out.emitted[2].rec.id() == "test:4");
}

TEST_CASE("a count window forgets the oldest key first (FIFO)", "[ops][dedupe]") {
  dedupe_op d{config(json::parse(R"({"key": ".id", "window": {"count": 2}})"))};
  recording_emitter out;
  // A repeat does not renew its key: c evicts a even though a was just seen.
  auto ids = feed(d, out, {"a", "b", "a", "c", "a", "b"});
  CHECK(ids == std::vector<json>{"a", "b", "c", "a", "b"});
  REQUIRE(out.discarded.size() == 1);
  CHECK(out.discarded[0].first.id() == "test:3");
  CHECK(d.size() == 2);
}

TEST_CASE("a time window filters repeats within N ms of the pass", "[ops][dedupe]") {
  fake_clock clock;
  dedupe_op d{config(json::parse(R"({"key": ".id", "window": {"ms": 1000}})")),
              [&] { return clock.now; }};
  recording_emitter out;
  feed(d, out, {"a"});        // t = 0: passes
  clock.advance_ms(500);
  feed(d, out, {"a", "b"});   // t = 500: a filtered, b passes
  clock.advance_ms(499);
  feed(d, out, {"a"});        // t = 999: still within a's window
  clock.advance_ms(1);
  feed(d, out, {"a"});        // t = 1000: a's window is over, it passes again
  clock.advance_ms(500);
  auto ids = feed(d, out, {"a", "b"}); // t = 1500: a (passed at 1000) filtered, b's over
  CHECK(ids == std::vector<json>{"a", "b", "a", "b"});
  CHECK(out.discarded.size() == 3);
  CHECK(d.size() == 2);
  clock.advance_ms(5000);
  feed(d, out, {"c"});        // expired keys are forgotten as time passes
  CHECK(d.size() == 1);
}

TEST_CASE("a time window is bounded by max_keys", "[ops][dedupe]") {
  fake_clock clock;
  dedupe_op d{config(json::parse(R"({"key": ".id", "window": {"ms": 60000}, "max_keys": 2})")),
              [&] { return clock.now; }};
  recording_emitter out;
  auto ids = feed(d, out, {"a", "b", "c", "a", "c"});
  CHECK(ids == std::vector<json>{"a", "b", "c", "a"});
  CHECK(d.size() == 2);
}

TEST_CASE("count and time bounds apply together", "[ops][dedupe]") {
  fake_clock clock;
  dedupe_op d{config(json::parse(R"({"key": ".id", "window": {"count": 2, "ms": 1000}})")),
              [&] { return clock.now; }};
  recording_emitter out;
  feed(d, out, {"a", "b", "c"}); // c evicts a by count
  clock.advance_ms(1000);        // and time expires b and c
  auto ids = feed(d, out, {"a", "b"});
  CHECK(ids == std::vector<json>{"a", "b", "c", "a", "b"});
}

TEST_CASE("a clock stepping back does not break the time window", "[ops][dedupe]") {
  fake_clock clock;
  dedupe_op d{config(json::parse(R"({"key": ".id", "window": {"ms": 1000}})")),
              [&] { return clock.now; }};
  recording_emitter out;
  feed(d, out, {"a"});
  clock.advance_ms(-5000);
  feed(d, out, {"a"});
  CHECK(out.emitted.size() == 1);
  clock.advance_ms(5000 + 1000);
  feed(d, out, {"a"});
  CHECK(out.emitted.size() == 2);
}

TEST_CASE("a key that cannot be evaluated fails the record", "[ops][dedupe]") {
  dedupe_op d{config(json::parse(R"j({"key": "len(.id)", "window": {"count": 5}})j"))};
  recording_emitter out;
  d.process(make_record({{"id", "abc"}}, 1), out);
  d.process(make_record({{"id", 42}}, 2), out);
  CHECK(out.emitted.size() == 1);
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].rec.id() == "test:2");
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK(out.failed[0].err.message.rfind("dedupe key 'len(.id)': ", 0) == 0);
}

TEST_CASE("a record without a key fails instead of being merged", "[ops][dedupe]") {
  dedupe_op d{config(json::parse(R"({"key": ".id", "window": {"count": 5}})"))};
  recording_emitter out;
  d.process(make_record({{"other", 1}}, 1), out);
  d.process(make_record({{"other", 2}}, 2), out);
  CHECK(out.emitted.empty());
  REQUIRE(out.failed.size() == 2);
  CHECK(out.failed[0].err.code == errc::runtime_error);
  CHECK(out.failed[0].err.message == "dedupe key '.id' is null (is the field missing?); a "
                                     "record without a key cannot be deduplicated");
  CHECK(d.size() == 0);
}

TEST_CASE("dedupe params are checked", "[ops][dedupe]") {
  auto first_error = [](const json& params) {
    diagnostics diags;
    CHECK_FALSE(parse(params, diags));
    REQUIRE(diags.has_errors());
    return diags.all()[0];
  };
  auto no_window = first_error(json{{"key", ".id"}});
  CHECK(no_window.json_path == "/stages/2/params/window");
  CHECK(no_window.message.rfind("missing required param 'window'", 0) == 0);

  auto empty_window = first_error(json{{"key", ".id"}, {"window", json::object()}});
  CHECK(empty_window.json_path == "/stages/2/params/window");
  CHECK(empty_window.message == "give 'count' (keep the last N distinct keys), 'ms' (block "
                                "repeats for N milliseconds) or both");

  auto zero = first_error(json{{"key", ".id"}, {"window", {{"count", 0}}}});
  CHECK(zero.json_path == "/stages/2/params/window/count");

  auto typo = first_error(json{{"key", ".id"}, {"window", {{"cuont", 5}}}});
  CHECK(typo.json_path == "/stages/2/params/window/cuont");

  auto not_object = first_error(json{{"key", ".id"}, {"window", 5}});
  CHECK(not_object.message == "expected an object with 'count' and/or 'ms', got 5");

  auto no_key = first_error(json{{"window", {{"count", 5}}}});
  CHECK(no_key.json_path == "/stages/2/params/key");

  auto bad_max = first_error(json{{"key", ".id"}, {"window", {{"ms", 5}}}, {"max_keys", 0}});
  CHECK(bad_max.json_path == "/stages/2/params/max_keys");

  auto unknown = first_error(json{{"key", ".id"}, {"window", {{"ms", 5}}}, {"keys", 1}});
  CHECK(unknown.json_path == "/stages/2/params/keys");
}

TEST_CASE("dedupe partitions replicas by its key", "[ops][dedupe]") {
  auto kind = describe_dedupe();
  CHECK(kind.allows_parallelism);
  CHECK(kind.default_partition(spec_of(json{{"key", "[.user, .day]"}})) == "[.user, .day]");
}

TEST_CASE("the documented dedupe example is accepted", "[ops][dedupe]") {
  // Same text as the example in docs/stages.md (dedupe).
  auto stage = json::parse(R"({
    "id": "unique_orders",
    "type": "dedupe",
    "inputs": ["check"],
    "parallelism": 2,
    "params": {
      "key": ".order_id",
      "window": {"count": 100000, "ms": 3600000},
      "max_keys": 500000
    }
  })");
  diagnostics diags;
  auto spec = spec_of(stage["params"]);
  params_reader p{spec.params, spec.json_path + "/params", "dedupe", diags};
  auto op = describe_dedupe().make_op(spec, p);
  INFO(diags.render());
  REQUIRE(op != nullptr);
  recording_emitter out;
  op->process(make_record({{"order_id", "o-1"}}, 1), out);
  op->process(make_record({{"order_id", "o-1"}}, 2), out);
  CHECK(out.emitted.size() == 1);
  CHECK(out.discarded.size() == 1);
}
