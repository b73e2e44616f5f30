// The fault-tolerance keys of a pipeline config: `retry`, `circuit_breaker`,
// `supervision` and `chaos` on stages and in `defaults`, and the `chaos` stage
// kind's params. What valid configs load into, and every validation error with
// its JSON path.

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/loader.hpp"

using namespace sluice;

namespace {

constexpr const char* gen = R"({"id": "gen", "type": "source.generate", "params": {"count": 3}})";

// A pipeline of the generator, `middle` (one stage object with id "s" and
// input "gen") and a sink.null; `top` goes before "stages" (end it with a
// comma).
std::string pipeline(const std::string& middle, const std::string& top = "") {
  return R"({"name": "t", )" + top + R"("stages": [)" + gen + ", " + middle
         + R"(, {"id": "out", "type": "sink.null", "inputs": ["s"]}]})";
}

// A map stage "s" with the extra stage keys `keys` (end without a comma).
std::string map_with(const std::string& keys) {
  return R"({"id": "s", "type": "map", "inputs": ["gen"], "params": {"drop": ["x"]}, )" + keys + "}";
}

std::unique_ptr<pipeline_plan> load(const std::string& text, diagnostics& diags,
                                    const std::vector<std::string>& overrides = {}) {
  load_options opts;
  opts.overrides = overrides;
  return load_pipeline_text(text, "test.json", ".", opts, diags);
}

// Loads a config that must load; returns stage `id`'s spec (copied).
stage_spec loaded(const std::string& text, const std::string& id = "s",
                  const std::vector<std::string>& overrides = {}) {
  diagnostics diags;
  auto plan = load(text, diags, overrides);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(diags.all().empty());
  auto st = plan->config.find(id);
  REQUIRE(st != nullptr);
  return *st;
}

// Loads a config that must fail; returns the rendered diagnostics.
std::string errors_of(const std::string& text) {
  diagnostics diags;
  auto plan = load(text, diags);
  CHECK(plan == nullptr);
  CHECK(diags.has_errors());
  return diags.render();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

// -- what valid configs load into -----------------------------------------------------

TEST_CASE("a stage without fault keys gets the built-in fault settings", "[config][fault]") {
  auto st = loaded(pipeline(map_with(R"("on_error": "drop")")));
  CHECK(st.retry.max_attempts == 1);
  CHECK(st.retry.initial_backoff_ms == 100);
  CHECK(st.retry.multiplier == 2.0);
  CHECK(st.retry.max_backoff_ms == 10000);
  CHECK(st.retry.jitter == 0.2);
  CHECK(st.retry.transient == std::vector<errc>{errc::transient, errc::io_error});
  CHECK(st.circuit.failures == 0);
  CHECK(st.circuit.cooldown_ms == 5000);
  CHECK(st.supervision.max_restarts == 5);
  CHECK(st.supervision.within_ms == 60000);
  CHECK_FALSE(st.chaos.any());
}

TEST_CASE("every fault key of a stage is read", "[config][fault]") {
  auto st = loaded(pipeline(map_with(R"(
    "retry": {"max_attempts": 5, "initial_backoff_ms": 20, "multiplier": 1.5, "max_backoff_ms": 400,
              "jitter": 0, "transient": ["transient", "schema_violation"]},
    "circuit_breaker": {"failures": 7, "cooldown_ms": 250},
    "supervision": {"max_restarts": 100, "within": "2m"},
    "chaos": {"seed": 9, "crash_batches": 0.01, "fail_records": 0.1, "latency_ms": 3})")));
  CHECK(st.retry.max_attempts == 5);
  CHECK(st.retry.initial_backoff_ms == 20);
  CHECK(st.retry.multiplier == 1.5);
  CHECK(st.retry.max_backoff_ms == 400);
  CHECK(st.retry.jitter == 0);
  CHECK(st.retry.transient == std::vector<errc>{errc::transient, errc::schema_violation});
  CHECK(st.circuit.failures == 7);
  CHECK(st.circuit.cooldown_ms == 250);
  CHECK(st.supervision.max_restarts == 100);
  CHECK(st.supervision.within_ms == 120'000);
  CHECK(st.chaos.seed == 9);
  CHECK(st.chaos.crash_batches == 0.01);
  CHECK(st.chaos.fail_records == 0.1);
  CHECK(st.chaos.latency_ms == 3);
}

TEST_CASE("a stage's fault objects replace the defaults key by key", "[config][fault]") {
  auto text = R"({"name": "t",
    "defaults": {"retry": {"max_attempts": 3, "initial_backoff_ms": 50, "transient": ["io_error"]},
                 "circuit_breaker": {"failures": 10},
                 "supervision": {"within": "10s"}},
    "stages": [)" + std::string{gen} + R"(,
      {"id": "s", "type": "map", "inputs": ["gen"], "params": {"drop": ["x"]},
       "retry": {"initial_backoff_ms": 5}, "circuit_breaker": {"cooldown_ms": 1},
       "supervision": {"max_restarts": 1}},
      {"id": "out", "type": "sink.null", "inputs": ["s"]}]})";
  auto st = loaded(text);
  CHECK(st.retry.max_attempts == 3);         // from defaults
  CHECK(st.retry.initial_backoff_ms == 5);   // the stage's own
  CHECK(st.retry.multiplier == 2.0);         // built-in
  CHECK(st.retry.transient == std::vector<errc>{errc::io_error});
  CHECK(st.circuit.failures == 10);
  CHECK(st.circuit.cooldown_ms == 1);
  CHECK(st.supervision.max_restarts == 1);
  CHECK(st.supervision.within_ms == 10'000);
  auto sink = loaded(text, "out"); // no own keys: the defaults
  CHECK(sink.retry.max_attempts == 3);
  CHECK(sink.retry.initial_backoff_ms == 50);
  CHECK(sink.circuit.failures == 10);
  CHECK(sink.supervision.max_restarts == 5);
  CHECK(sink.supervision.within_ms == 10'000);
}

TEST_CASE("supervision.within takes seconds or a string with a unit", "[config][fault]") {
  auto within = [](const std::string& value) {
    return loaded(pipeline(map_with(R"("supervision": {"within": )" + value + "}"))).supervision.within_ms;
  };
  CHECK(within("30") == 30'000);
  CHECK(within("0.5") == 500);
  CHECK(within(R"("500ms")") == 500);
  CHECK(within(R"("30s")") == 30'000);
  CHECK(within(R"("1.5s")") == 1'500);
  CHECK(within(R"("2m")") == 120'000);
  CHECK(within(R"("1h")") == 3'600'000);
  CHECK(within(R"("24h")") == 86'400'000);
}

TEST_CASE("a single error class name is a list of one and an empty list retries nothing",
          "[config][fault]") {
  CHECK(loaded(pipeline(map_with(R"("retry": {"transient": "crash"})"))).retry.transient
        == std::vector<errc>{errc::crash});
  auto none = loaded(pipeline(map_with(R"("retry": {"transient": []})"))).retry;
  CHECK(none.transient.empty());
  CHECK_FALSE(none.retries(errc::transient));
}

TEST_CASE("a chaos stage's params become its chaos settings", "[config][fault][chaos]") {
  auto st = loaded(pipeline(R"({"id": "s", "type": "chaos", "inputs": ["gen"], "parallelism": 2,
                               "params": {"seed": 5, "fail_batches": 0.3, "transient_for_ms": 100}})"));
  CHECK(st.chaos.seed == 5);
  CHECK(st.chaos.fail_batches == 0.3);
  CHECK(st.chaos.transient_for_ms == 100);
  CHECK(st.chaos.any());
}

TEST_CASE("fault keys can be set with --set like any other key", "[config][fault]") {
  auto st = loaded(pipeline(map_with(R"("retry": {"max_attempts": 2})")), "s",
                   {"stages.s.retry.max_attempts=9", "stages.s.chaos.fail_records=0.25"});
  CHECK(st.retry.max_attempts == 9);
  CHECK(st.chaos.fail_records == 0.25);
}

// -- what is refused ------------------------------------------------------------------

TEST_CASE("a misspelt fault key is reported with the nearest known key", "[config][fault]") {
  CHECK(errors_of(pipeline(map_with(R"("retry": {"max_attempt": 3})")))
        == "test.json: /stages/1/retry/max_attempt: unknown key 'max_attempt' in retry (did you "
           "mean 'max_attempts'?) (hint: known keys: 'max_attempts', 'initial_backoff_ms', "
           "'multiplier', 'max_backoff_ms', 'jitter', 'transient')\n");
  CHECK(errors_of(pipeline(map_with(R"("circuit_breaker": {"failure": 3})")))
        == "test.json: /stages/1/circuit_breaker/failure: unknown key 'failure' in circuit_breaker "
           "(did you mean 'failures'?) (hint: known keys: 'failures', 'cooldown_ms')\n");
  CHECK(errors_of(pipeline(map_with(R"("supervision": {"window": "1m"})")))
        == "test.json: /stages/1/supervision/window: unknown key 'window' in supervision "
           "(hint: known keys: 'max_restarts', 'within')\n");
  CHECK(contains(errors_of(pipeline(map_with(R"("chaos": {"latency": 5})"))),
                 "test.json: /stages/1/chaos/latency: unknown key 'latency' in chaos (did you mean "
                 "'latency_ms'?)"));
  CHECK(contains(errors_of(pipeline(map_with(R"("retries": {"max_attempts": 3})"))),
                 "/stages/1/retries: unknown key 'retries' in a stage"));
}

TEST_CASE("retry values out of range are reported at their keys", "[config][fault]") {
  auto out = errors_of(pipeline(map_with(R"("retry": {"max_attempts": 0, "multiplier": 0.5,
    "jitter": 1.5, "initial_backoff_ms": -1, "max_backoff_ms": "10s"})")));
  CHECK(contains(out, "/stages/1/retry/max_attempts: expected a whole number from 1 to 10000, got 0\n"));
  CHECK(contains(out, "/stages/1/retry/multiplier: expected a number from 1 to 100 (1: the same "
                      "delay every time), got 0.5\n"));
  CHECK(contains(out, "/stages/1/retry/jitter: expected a fraction from 0 to 1, got 1.5\n"));
  CHECK(contains(out, "/stages/1/retry/initial_backoff_ms: expected a whole number from 0 to 3600000\n"));
  CHECK(contains(out, "/stages/1/retry/max_backoff_ms: expected a whole number from 0 to 3600000\n"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 5);
}

TEST_CASE("an unknown error class in retry.transient lists the valid ones", "[config][fault]") {
  auto out = errors_of(pipeline(map_with(R"("retry": {"transient": ["transient", "timeout", 3, "io_eror"]})")));
  CHECK(contains(out, "test.json: /stages/1/retry/transient/1: unknown error class 'timeout' (hint: "
                      "error classes: 'invalid_config', 'parse_error', 'type_error', "
                      "'schema_violation', 'io_error', 'runtime_error', 'transient', 'crash')\n"));
  CHECK(contains(out, "/stages/1/retry/transient/2: expected an error class name, got an integer"));
  CHECK(contains(out, "/stages/1/retry/transient/3: unknown error class 'io_eror' (did you mean 'io_error'?)"));
  CHECK(contains(errors_of(pipeline(map_with(R"("retry": {"transient": {"io_error": true}})"))),
                 "/stages/1/retry/transient: expected a list of error class names, got an object"));
}

TEST_CASE("an initial backoff above the maximum is refused where it is written", "[config][fault]") {
  CHECK(errors_of(pipeline(map_with(R"("retry": {"initial_backoff_ms": 500, "max_backoff_ms": 100})")))
        == "test.json: /stages/1/retry: initial_backoff_ms (500) is above max_backoff_ms (100) "
           "(hint: raise max_backoff_ms or lower initial_backoff_ms)\n");
  // From defaults plus the stage: reported at the stage that made it so.
  CHECK(contains(errors_of(pipeline(map_with(R"("retry": {"initial_backoff_ms": 20000})"))),
                 "/stages/1/retry: initial_backoff_ms (20000) is above max_backoff_ms (10000)"));
}

TEST_CASE("a bad supervision.within says what a duration looks like", "[config][fault]") {
  for (auto bad : {R"("60")", R"("5d")", "0", "-1", R"("25h")", "true", R"("")", R"("s")"}) {
    INFO(bad);
    auto out = errors_of(pipeline(map_with(R"("supervision": {"within": )" + std::string{bad} + "}")));
    CHECK(contains(out, "test.json: /stages/1/supervision/within: expected a duration from 1ms to 24h, got "));
    CHECK(contains(out, "(hint: a number of seconds, or a string with a unit: \"500ms\", \"30s\", \"2m\", \"1h\")"));
  }
  CHECK(contains(errors_of(pipeline(map_with(R"("supervision": {"within": "5d"})"))), "got '5d'"));
  CHECK(contains(errors_of(pipeline(map_with(R"("supervision": {"max_restarts": -2})"))),
                 "/stages/1/supervision/max_restarts: expected a whole number from 0 to 1000000"));
}

TEST_CASE("fault keys that are not objects are refused", "[config][fault]") {
  auto out = errors_of(pipeline(map_with(R"("retry": 3, "circuit_breaker": true, "supervision": "60s",
                                            "chaos": [0.1])")));
  CHECK(contains(out, "/stages/1/retry: expected an object, got an integer (hint: e.g. "
                      "{\"max_attempts\": 5, \"initial_backoff_ms\": 100})"));
  CHECK(contains(out, "/stages/1/circuit_breaker: expected an object, got a boolean"));
  CHECK(contains(out, "/stages/1/supervision: expected an object, got a string"));
  CHECK(contains(out, "/stages/1/chaos: expected an object, got a list"));
}

TEST_CASE("bad fault keys in defaults are reported under /defaults", "[config][fault]") {
  auto out = errors_of(pipeline(map_with(R"("on_error": "drop")"),
                                R"("defaults": {"retry": {"jitter": -1}, "circuit_breaker": {"cooldown": 1},
                                                "supervision": {"within": "forever"}, "chaos": {}},)"));
  CHECK(contains(out, "/defaults/retry/jitter: expected a fraction from 0 to 1, got -1"));
  CHECK(contains(out, "/defaults/circuit_breaker/cooldown: unknown key 'cooldown' in circuit_breaker "
                      "(did you mean 'cooldown_ms'?)"));
  CHECK(contains(out, "/defaults/supervision/within: expected a duration"));
  // chaos is per stage on purpose: a default would inject faults everywhere.
  CHECK(contains(out, "/defaults/chaos: unknown key 'chaos' in defaults"));
}

TEST_CASE("chaos on a source is refused: sources are driven by a reader", "[config][fault][chaos]") {
  auto text = R"({"name": "t", "stages": [
    {"id": "gen", "type": "source.generate", "params": {"count": 3}, "chaos": {"crash_batches": 0.1}},
    {"id": "out", "type": "sink.null", "inputs": ["gen"]}]})";
  CHECK(errors_of(text)
        == "test.json: /stages/0/chaos: chaos cannot be set on a source ('source.generate'): a source "
           "is driven by a reader, not a stage actor (hint: put \"chaos\" on the stage the source "
           "feeds, or add a stage of type 'chaos' after it)\n");
}

TEST_CASE("a chaos stage with a chaos key as well is refused", "[config][fault][chaos]") {
  auto out = errors_of(pipeline(R"({"id": "s", "type": "chaos", "inputs": ["gen"],
                                   "params": {"fail_records": 0.1}, "chaos": {"crash_batches": 0.1}})"));
  CHECK(out == "test.json: /stages/1/chaos: a stage of type 'chaos' takes its settings from its params; "
               "a \"chaos\" key as well is ambiguous (hint: use one: move these keys into \"params\", "
               "or drop the \"chaos\" key)\n");
}

TEST_CASE("a chaos stage's bad params are reported once, at the params", "[config][fault][chaos]") {
  auto out = errors_of(pipeline(R"({"id": "s", "type": "chaos", "inputs": ["gen"],
                                   "params": {"fail_records": 2, "crashes": 0.1}})"));
  CHECK(contains(out, "/stages/1/params/fail_records: expected a fraction from 0 to 1, got 2"));
  CHECK(contains(out, "/stages/1/params/crashes: unknown key 'crashes' in the params of stage type 'chaos'"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 2);
}

TEST_CASE("fault problems of several stages are all reported at once", "[config][fault]") {
  auto text = R"({"name": "t", "defaults": {"retry": {"max_attempts": 0}}, "stages": [
    {"id": "gen", "type": "source.generate", "params": {"count": 3}, "chaos": {"seed": 1}},
    {"id": "a", "type": "map", "inputs": ["gen"], "params": {"drop": ["x"]},
     "circuit_breaker": {"failures": -1}, "chaos": {"fail_records": 0.8, "throw_records": 0.4}},
    {"id": "b", "type": "filter", "inputs": ["a"], "params": {"when": ".x > 1"},
     "supervision": {"within": "1w"}, "retry": {"transient": ["flaky"]}},
    {"id": "out", "type": "sink.null", "inputs": ["b"]}]})";
  diagnostics diags;
  CHECK(load(text, diags) == nullptr);
  auto paths = std::vector<std::string>{};
  for (auto& d : diags.all())
    paths.push_back(d.json_path);
  CHECK(paths == std::vector<std::string>{"/defaults/retry/max_attempts", "/stages/1/circuit_breaker/failures",
                                          "/stages/1/chaos", "/stages/2/retry/transient/0",
                                          "/stages/2/supervision/within", "/stages/0/chaos"});
}
