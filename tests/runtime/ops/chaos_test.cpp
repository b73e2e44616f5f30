// Seeded fault injection (runtime/ops/chaos.hpp): the decisions of
// chaos_monkey, the reading of chaos settings, and the `chaos` stage kind.

#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/chaos.hpp"
#include "ops/registry.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using sluice::test::make_record;
using sluice::test::recording_emitter;

namespace {

constexpr int64_t ms = 1000; // microseconds

// A trace of n decisions: batch fate, record fate and a jitter draw each.
std::vector<int> trace(chaos_monkey& m, int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(static_cast<int>(m.on_batch()));
    out.push_back(static_cast<int>(m.on_record(i * ms)));
    out.push_back(static_cast<int>(m.uniform() * 1000));
  }
  return out;
}

chaos_settings busy() {
  chaos_settings s;
  s.seed = 42;
  s.crash_batches = 0.1;
  s.fail_batches = 0.2;
  s.throw_records = 0.05;
  s.fail_records = 0.2;
  s.permanent_records = 0.1;
  return s;
}

// Reads `text` as chaos settings at /stages/1/chaos; returns the diagnostics.
std::string read_errors(const std::string& text, chaos_settings* out = nullptr) {
  diagnostics diags{"test.json"};
  chaos_settings s;
  bool ok = read_chaos_settings(json::parse(text), "/stages/1/chaos", "chaos", diags, s);
  CHECK(ok == !diags.has_errors());
  if (out != nullptr)
    *out = s;
  return diags.render();
}

} // namespace

// -- chaos_monkey -------------------------------------------------------------------

TEST_CASE("the same seed, stage and replica give the same faults", "[ops][chaos]") {
  chaos_monkey a{busy(), 3, 1};
  chaos_monkey b{busy(), 3, 1};
  CHECK(trace(a, 10'000) == trace(b, 10'000));
}

TEST_CASE("replicas, stages and seeds each get their own faults", "[ops][chaos]") {
  chaos_monkey base{busy(), 3, 0};
  auto t = trace(base, 2000);
  chaos_monkey other_replica{busy(), 3, 1};
  chaos_monkey other_stage{busy(), 4, 0};
  auto reseeded = busy();
  reseeded.seed = 43;
  chaos_monkey other_seed{reseeded, 3, 0};
  CHECK(trace(other_replica, 2000) != t);
  CHECK(trace(other_stage, 2000) != t);
  CHECK(trace(other_seed, 2000) != t);
}

TEST_CASE("over 100k draws each fault comes at about its fraction", "[ops][chaos]") {
  auto s = busy();
  chaos_monkey m{s, 0, 0};
  constexpr int n = 100'000;
  int crash = 0, fail = 0, thrown = 0, transient = 0, permanent = 0;
  for (int i = 0; i < n; ++i) {
    switch (m.on_batch()) {
      case chaos_monkey::batch_fate::crash: ++crash; break;
      case chaos_monkey::batch_fate::fail: ++fail; break;
      case chaos_monkey::batch_fate::none: break;
    }
    switch (m.on_record(0)) {
      case chaos_monkey::record_fate::throw_exception: ++thrown; break;
      case chaos_monkey::record_fate::fail_transient: ++transient; break;
      case chaos_monkey::record_fate::fail_permanent: ++permanent; break;
      case chaos_monkey::record_fate::none: break;
    }
  }
  // About five standard deviations (at most ~130 draws for p <= 0.2 and n =
  // 100k): a fair generator passes, a biased or off-by-a-threshold one fails.
  auto near = [&](int count, double p) {
    INFO("count " << count << ", expected about " << p * n);
    CHECK(std::abs(count - p * n) < 650);
  };
  near(crash, s.crash_batches);
  near(fail, s.fail_batches);
  near(thrown, s.throw_records);
  near(transient, s.fail_records);
  near(permanent, s.permanent_records);
}

TEST_CASE("a fraction of 1 always happens and 0 never does", "[ops][chaos]") {
  chaos_settings s;
  s.fail_batches = 1;
  s.permanent_records = 1;
  chaos_monkey m{s, 0, 0};
  for (int i = 0; i < 1000; ++i) {
    CHECK(m.on_batch() == chaos_monkey::batch_fate::fail);
    CHECK(m.on_record(i) == chaos_monkey::record_fate::fail_permanent);
  }
}

TEST_CASE("without effects the monkey decides nothing", "[ops][chaos]") {
  chaos_settings s;
  s.seed = 99;
  CHECK_FALSE(s.any());
  chaos_monkey m{s, 0, 0};
  for (int i = 0; i < 1000; ++i) {
    CHECK(m.on_batch() == chaos_monkey::batch_fate::none);
    CHECK(m.on_record(i * ms) == chaos_monkey::record_fate::none);
  }
  CHECK(m.settings().seed == 99);
}

TEST_CASE("any() sees every single effect", "[ops][chaos]") {
  auto with = [](auto set) {
    chaos_settings s;
    set(s);
    return s.any();
  };
  CHECK(with([](chaos_settings& s) { s.crash_batches = 0.01; }));
  CHECK(with([](chaos_settings& s) { s.throw_records = 0.01; }));
  CHECK(with([](chaos_settings& s) { s.fail_records = 0.01; }));
  CHECK(with([](chaos_settings& s) { s.fail_batches = 0.01; }));
  CHECK(with([](chaos_settings& s) { s.permanent_records = 0.01; }));
  CHECK(with([](chaos_settings& s) { s.latency_ms = 1; }));
  CHECK(with([](chaos_settings& s) { s.transient_for_ms = 1; }));
}

TEST_CASE("an outage fails every record transiently for transient_for_ms from the first record",
          "[ops][chaos]") {
  chaos_settings s;
  s.transient_for_ms = 200;
  chaos_monkey m{s, 0, 0};
  // The clock starts at the first record, not at construction.
  CHECK(m.on_record(5000 * ms) == chaos_monkey::record_fate::fail_transient);
  CHECK(m.on_record(5100 * ms) == chaos_monkey::record_fate::fail_transient);
  CHECK(m.on_record(5200 * ms - 1) == chaos_monkey::record_fate::fail_transient);
  CHECK(m.on_record(5200 * ms) == chaos_monkey::record_fate::none);
  CHECK(m.on_record(9000 * ms) == chaos_monkey::record_fate::none);
}

TEST_CASE("after an outage the record fractions apply", "[ops][chaos]") {
  chaos_settings s;
  s.transient_for_ms = 10;
  s.permanent_records = 1;
  chaos_monkey m{s, 0, 0};
  CHECK(m.on_record(0) == chaos_monkey::record_fate::fail_transient);
  CHECK(m.on_record(10 * ms) == chaos_monkey::record_fate::fail_permanent);
}

TEST_CASE("uniform() is at least 0 and below 1 and does not shift which records fail", "[ops][chaos]") {
  chaos_monkey plain{busy(), 1, 0};
  chaos_monkey jittered{busy(), 1, 0};
  double sum = 0;
  for (int i = 0; i < 10'000; ++i) {
    auto u = jittered.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    CHECK(plain.on_record(0) == jittered.on_record(0));
  }
  CHECK(std::abs(sum / 10'000 - 0.5) < 0.02);
}

TEST_CASE("a chaos_exception says what was injected", "[ops][chaos]") {
  try {
    throw chaos_exception("chaos: injected crash before batch 3");
  } catch (const std::runtime_error& e) {
    CHECK(std::string{e.what()} == "chaos: injected crash before batch 3");
  }
}

// -- reading chaos settings ---------------------------------------------------------

TEST_CASE("chaos settings are read key by key", "[ops][chaos][config]") {
  chaos_settings s;
  CHECK(read_errors(R"({"seed": 7, "crash_batches": 0.01, "throw_records": 0.001,
                        "fail_records": 0.1, "fail_batches": 0.2, "permanent_records": 0.05,
                        "latency_ms": 5, "transient_for_ms": 1500})", &s)
        .empty());
  CHECK(s.seed == 7);
  CHECK(s.crash_batches == 0.01);
  CHECK(s.throw_records == 0.001);
  CHECK(s.fail_records == 0.1);
  CHECK(s.fail_batches == 0.2);
  CHECK(s.permanent_records == 0.05);
  CHECK(s.latency_ms == 5);
  CHECK(s.transient_for_ms == 1500);
  CHECK(read_errors(R"({"fail_records": 1})", &s).empty());
  CHECK(s.fail_records == 1);
  CHECK(s.seed == 1);
}

TEST_CASE("a misspelt chaos key is reported with the nearest known key", "[ops][chaos][config]") {
  CHECK(read_errors(R"({"crash_batch": 0.1})")
        == "test.json: /stages/1/chaos/crash_batch: unknown key 'crash_batch' in chaos "
           "(did you mean 'crash_batches'?) (hint: known keys: seed, crash_batches, throw_records, "
           "fail_records, fail_batches, permanent_records, latency_ms, transient_for_ms)\n");
  auto far = read_errors(R"({"colour": "red"})");
  CHECK(far.find("unknown key 'colour' in chaos (hint: known keys:") != std::string::npos);
}

TEST_CASE("chaos values of the wrong type or out of range are all reported", "[ops][chaos][config]") {
  auto out = read_errors(R"({"seed": -1, "crash_batches": 1.5, "fail_records": "often",
                             "latency_ms": 2.5, "transient_for_ms": 86400001})");
  CHECK(out.find("/stages/1/chaos/seed: expected a whole number >= 0, got -1") != std::string::npos);
  CHECK(out.find("/stages/1/chaos/crash_batches: expected a fraction from 0 to 1, got 1.5")
        != std::string::npos);
  CHECK(out.find("/stages/1/chaos/fail_records: expected a fraction from 0 to 1, got a string")
        != std::string::npos);
  CHECK(out.find("/stages/1/chaos/latency_ms: expected a whole number of milliseconds from 0 to "
                 "3600000, got 2.5")
        != std::string::npos);
  CHECK(out.find("/stages/1/chaos/transient_for_ms: expected a whole number of milliseconds from 0 "
                 "to 86400000, got 86400001")
        != std::string::npos);
  CHECK(read_errors(R"({"throw_records": -0.1})").find("got -0.1") != std::string::npos);
}

TEST_CASE("record fractions or batch fractions adding up to more than 1 are refused",
          "[ops][chaos][config]") {
  CHECK(read_errors(R"({"throw_records": 0.5, "fail_records": 0.5, "permanent_records": 0.2})")
        == "test.json: /stages/1/chaos: throw_records + fail_records + permanent_records is 1.2; "
           "at most 1 (hint: each record meets at most one of these faults)\n");
  CHECK(read_errors(R"({"crash_batches": 0.7, "fail_batches": 0.4})")
        == "test.json: /stages/1/chaos: crash_batches + fail_batches is 1.1; at most 1 "
           "(hint: each batch meets at most one of these faults)\n");
  CHECK(read_errors(R"({"crash_batches": 0.6, "fail_batches": 0.4, "fail_records": 1})").empty());
  // Printed short, not as the sum's nearest double.
  CHECK(read_errors(R"({"fail_records": 0.1, "throw_records": 0.2, "permanent_records": 0.8})")
            .find("permanent_records is 1.1; at most 1") != std::string::npos);
}

TEST_CASE("chaos that is not an object is refused", "[ops][chaos][config]") {
  CHECK(read_errors(R"(0.1)")
        == "test.json: /stages/1/chaos: expected an object, got a number (hint: e.g. "
           "{\"seed\": 7, \"crash_batches\": 0.01, \"fail_records\": 0.05})\n");
}

// -- the chaos stage kind ---------------------------------------------------------------

namespace {

// A `chaos` stage (stage 1) built through the registry as the loader builds it.
struct chaos_stage {
  stage_spec spec;
  diagnostics diags{"test.json"};
  op_ptr op;

  explicit chaos_stage(const std::string& params_text) {
    spec.id = "monkey";
    spec.type = "chaos";
    spec.index = 1;
    spec.json_path = "/stages/1";
    spec.params = json::parse(params_text);
    spec.params_ordered = nlohmann::ordered_json::parse(params_text);
    auto kind = stage_registry::instance().find("chaos");
    REQUIRE(kind != nullptr);
    params_reader p{spec.params, "/stages/1/params", spec.type, diags, &spec.params_ordered};
    op = kind->make_op(spec, p);
  }
};

} // namespace

TEST_CASE("the chaos kind is a parallel transform", "[ops][chaos]") {
  auto kind = stage_registry::instance().find("chaos");
  REQUIRE(kind != nullptr);
  CHECK(kind->role == stage_role::transform);
  CHECK(kind->allows_parallelism);
  CHECK_FALSE(kind->summary.empty());
}

TEST_CASE("a chaos stage passes every record on unchanged", "[ops][chaos]") {
  chaos_stage s{R"({"seed": 3, "fail_records": 0.5, "latency_ms": 10})"};
  INFO(s.diags.render());
  REQUIRE(s.op != nullptr);
  recording_emitter out;
  for (int i = 0; i < 100; ++i)
    s.op->process(make_record({{"n", i}}, i + 1), out);
  s.op->end_batch(out);
  s.op->finish(out);
  REQUIRE(out.emitted.size() == 100);
  CHECK(out.failed.empty());
  CHECK(out.discarded.empty());
  for (int i = 0; i < 100; ++i) {
    CHECK(out.emitted[i].port == 0);
    CHECK(out.emitted[i].rec.content() == json{{"n", i}});
  }
}

TEST_CASE("a chaos stage without params is a plain pass-through", "[ops][chaos]") {
  chaos_stage s{"{}"};
  CHECK(s.op != nullptr);
  CHECK(s.diags.all().empty());
}

TEST_CASE("a chaos stage reports its bad params at their JSON paths", "[ops][chaos]") {
  chaos_stage s{R"({"seed": 1, "fail_recrods": 0.1, "crash_batches": 2})"};
  CHECK(s.op == nullptr);
  auto out = s.diags.render();
  CHECK(out.find("test.json: /stages/1/params/fail_recrods: unknown key 'fail_recrods' in the params "
                 "of stage type 'chaos' (did you mean 'fail_records'?)")
        != std::string::npos);
  CHECK(out.find("test.json: /stages/1/params/crash_batches: expected a fraction from 0 to 1, got 2")
        != std::string::npos);
  CHECK(s.diags.all().size() == 2);
}

TEST_CASE("chaos params that are not an object are refused", "[ops][chaos]") {
  chaos_stage s{R"([1, 2])"};
  CHECK(s.op == nullptr);
  CHECK(s.diags.render() == "test.json: /stages/1/params: params must be an object, got array\n");
}

TEST_CASE("closest_key suggests near misses and unique prefixes only", "[ops][chaos][config]") {
  std::vector<std::string> known{"cooldown_ms", "failures", "fail_records", "fail_batches"};
  CHECK(closest_key("failure", known) == "failures");
  CHECK(closest_key("cooldown", known) == "cooldown_ms");
  CHECK(closest_key("fail_", known).empty()); // a prefix of two keys
  CHECK(closest_key("colour", known).empty());
  CHECK(closest_key("", known).empty());
}
