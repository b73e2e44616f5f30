// Rate limits as named resources (runtime/limits/rate_limit.hpp): what the
// `resources` object parses into, every validation error with its JSON path,
// and the token bucket + semaphore state machine. Time is passed in, so every
// test drives it directly; nothing sleeps.

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "limits/rate_limit.hpp"

using namespace sluice;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t ms = 1000; // microseconds
constexpr int64_t sec = 1'000'000;

std::vector<rate_limit_settings> parse(const std::string& text, diagnostics& diags) {
  return parse_resources(nlohmann::ordered_json::parse(text), "/resources", diags);
}

// Parses `text`, which must fail; returns the diagnostics.
diagnostics errors_of(const std::string& text) {
  diagnostics diags;
  auto limits = parse(text, diags);
  CHECK(diags.has_errors());
  return diags;
}

bool has_error_at(const diagnostics& diags, const std::string& path) {
  for (auto& d : diags.all())
    if (d.json_path == path)
      return true;
  return false;
}

rate_limit_settings limit(double rate, int64_t per_us, double burst, uint32_t slots = 0) {
  rate_limit_settings s;
  s.name = "svc";
  s.rate = rate;
  s.per_us = per_us;
  s.burst = burst;
  s.max_concurrency = slots;
  return s;
}

using tickets = std::vector<rate_limiter_state::ticket>;

} // namespace

// -- settings -------------------------------------------------------------------------

TEST_CASE("a rate limit parses with its name, rate, period, burst and slots", "[limits][config]") {
  diagnostics diags;
  auto limits = parse(R"({"rate_limits": {
      "llm": {"rate": 50, "per": "1s", "burst": 10, "max_concurrency": 4},
      "geo": {"rate": 2.5, "per": "500ms"}}})",
                      diags);
  INFO(diags.render());
  CHECK(diags.all().empty());
  REQUIRE(limits.size() == 2);
  CHECK(limits[0].name == "llm");
  CHECK(limits[0].rate == 50);
  CHECK(limits[0].per_us == sec);
  CHECK(limits[0].burst == 10);
  CHECK(limits[0].max_concurrency == 4);
  CHECK(limits[0].json_path == "/resources/rate_limits/llm");
  CHECK(limits[1].name == "geo");
  CHECK(limits[1].per_us == 500 * ms);
  CHECK(limits[1].burst == 1); // default: max(1, rate / 10)
  CHECK(limits[1].max_concurrency == 0);
}

TEST_CASE("without per and burst a limit refills per second and holds a tenth of its rate",
          "[limits][config]") {
  diagnostics diags;
  auto limits = parse(R"({"rate_limits": {"api": {"rate": 300}}})", diags);
  REQUIRE(limits.size() == 1);
  CHECK(limits[0].per_us == sec);
  CHECK(limits[0].burst == 30);
  CHECK(default_burst(0.5) == 1);
  CHECK(default_burst(15) == 1.5);
}

TEST_CASE("an empty or absent rate_limits object is no error", "[limits][config]") {
  diagnostics diags;
  CHECK(parse(R"({})", diags).empty());
  CHECK(parse(R"({"rate_limits": {}})", diags).empty());
  CHECK(diags.all().empty());
}

TEST_CASE("unknown keys in resources and in a limit are errors at their path", "[limits][config]") {
  auto diags = errors_of(R"({"queues": {}, "rate_limits": {"llm": {"rate": 5, "burts": 3}}})");
  CHECK(has_error_at(diags, "/resources/queues"));
  CHECK(has_error_at(diags, "/resources/rate_limits/llm/burts"));
  CHECK_THAT(diags.render(), Contains("unknown key 'burts'") && Contains("'burst'"));
}

TEST_CASE("a rate that is missing, zero, negative or not a number is an error", "[limits][config]") {
  for (auto rate : {R"({})", R"({"rate": 0})", R"({"rate": -3})", R"({"rate": "50"})",
                    R"({"rate": null})"}) {
    INFO(rate);
    auto diags = errors_of(std::string{R"({"rate_limits": {"llm": )"} + rate + "}}");
    CHECK(has_error_at(diags, "/resources/rate_limits/llm/rate"));
  }
}

TEST_CASE("per needs a unit and a positive duration up to a day", "[limits][config]") {
  for (auto per : {R"(1)", R"("1")", R"("1 s")", R"("-1s")", R"("0s")", R"("1d")", R"("25h")",
                   R"("")", R"("s")", R"(".5s")", R"("1.s")", R"(true)"}) {
    INFO(per);
    auto diags = errors_of(std::string{R"({"rate_limits": {"llm": {"rate": 5, "per": )"} + per
                           + "}}}");
    CHECK(has_error_at(diags, "/resources/rate_limits/llm/per"));
  }
  auto diags = errors_of(R"({"rate_limits": {"llm": {"rate": 5, "per": 1}}})");
  CHECK_THAT(diags.render(), Contains("unit") && Contains("\"1s\""));
}

TEST_CASE("burst below 1 or not a number is an error", "[limits][config]") {
  for (auto burst : {R"(0.5)", R"(0)", R"(-1)", R"("10")"}) {
    INFO(burst);
    auto diags = errors_of(std::string{R"({"rate_limits": {"llm": {"rate": 5, "burst": )"}
                           + burst + "}}}");
    CHECK(has_error_at(diags, "/resources/rate_limits/llm/burst"));
  }
}

TEST_CASE("max_concurrency must be a whole number from 0", "[limits][config]") {
  for (auto slots : {R"(-1)", R"(2.5)", R"("4")", R"(2000000)"}) {
    INFO(slots);
    auto diags = errors_of(std::string{R"({"rate_limits": {"llm": {"rate": 5, "max_concurrency": )"}
                           + slots + "}}}");
    CHECK(has_error_at(diags, "/resources/rate_limits/llm/max_concurrency"));
  }
}

TEST_CASE("every problem is reported at once and only valid limits are returned",
          "[limits][config]") {
  diagnostics diags;
  auto limits = parse(R"({"rate_limits": {
      "ok": {"rate": 1},
      "bad": {"rate": 0, "per": "1x", "burst": 0, "max_concurrency": -2},
      "": {"rate": 1},
      "a/b": 7}})",
                      diags);
  REQUIRE(limits.size() == 1);
  CHECK(limits[0].name == "ok");
  CHECK(has_error_at(diags, "/resources/rate_limits/bad/rate"));
  CHECK(has_error_at(diags, "/resources/rate_limits/bad/per"));
  CHECK(has_error_at(diags, "/resources/rate_limits/bad/burst"));
  CHECK(has_error_at(diags, "/resources/rate_limits/bad/max_concurrency"));
  CHECK(has_error_at(diags, "/resources/rate_limits/"));
  CHECK(has_error_at(diags, "/resources/rate_limits/a~1b"));
  for (auto& d : diags.all())
    CHECK_THAT(d.json_path, Catch::Matchers::StartsWith("/resources/rate_limits/"));
}

TEST_CASE("resources and rate_limits must be objects", "[limits][config]") {
  CHECK(has_error_at(errors_of(R"([1])"), "/resources"));
  CHECK(has_error_at(errors_of(R"({"rate_limits": [1]})"), "/resources/rate_limits"));
  // The plain json overload reports the same.
  diagnostics diags;
  parse_resources(nlohmann::json::parse(R"({"rate_limits": 3})"), "/resources", diags);
  CHECK(has_error_at(diags, "/resources/rate_limits"));
}

TEST_CASE("periods parse in us, ms, s, m and h, with decimals", "[limits][config]") {
  CHECK(parse_period("1s") == sec);
  CHECK(parse_period("250ms") == 250 * ms);
  CHECK(parse_period("1.5s") == 1'500'000);
  CHECK(parse_period("2m") == 120 * sec);
  CHECK(parse_period("1h") == 3600 * sec);
  CHECK(parse_period("40us") == 40);
  CHECK_FALSE(parse_period("1"));
  CHECK_FALSE(parse_period("1 s"));
  CHECK_FALSE(parse_period(" 1s"));
  CHECK_FALSE(parse_period("1S"));
  CHECK_FALSE(parse_period("+1s"));
  CHECK_FALSE(parse_period("0ms"));
  CHECK_FALSE(parse_period("0.1us"));
  CHECK_FALSE(parse_period("1.2.3s"));
  CHECK_FALSE(parse_period("1000000h"));
}

// -- the state machine ---------------------------------------------------------------

TEST_CASE("the bucket starts full with burst tokens and grants them at once", "[limits]") {
  rate_limiter_state st{limit(10, sec, 3), 0};
  CHECK(st.tokens(0) == 3);
  for (uint64_t t = 1; t <= 4; ++t)
    st.enqueue(t, 1, 0);
  CHECK(st.grant(0) == tickets{1, 2, 3});
  CHECK(st.waiting() == 1);
  CHECK(st.in_use() == 3);
  CHECK(st.tokens(0) == Approx(0).margin(1e-9));
  CHECK(st.granted_total() == 3);
}

TEST_CASE("tokens refill at rate per period up to the burst", "[limits]") {
  rate_limiter_state st{limit(10, sec, 3), 0};
  st.enqueue(1, 3, 0);
  CHECK(st.grant(0) == tickets{1});
  CHECK(st.tokens(100 * ms) == Approx(1));
  CHECK(st.tokens(250 * ms) == Approx(2.5));
  CHECK(st.tokens(10 * sec) == 3);
  st.enqueue(2, 1, 50 * ms);
  CHECK(st.grant(50 * ms).empty());
  CHECK(st.grant(99 * ms).empty());
  CHECK(st.grant(100 * ms) == tickets{2});
  CHECK(st.waited_us_total() == 50 * ms);
  CHECK(st.max_wait_us() == 50 * ms);
}

TEST_CASE("the head of the queue blocks a later waiter that would fit", "[limits]") {
  rate_limiter_state st{limit(10, sec, 5), 0};
  st.enqueue(1, 4, 0);
  st.enqueue(2, 5, 0); // needs a full bucket
  st.enqueue(3, 1, 0); // would fit in the 1 left, but waits its turn
  CHECK(st.grant(0) == tickets{1});
  CHECK(st.grant(300 * ms).empty()); // 4 tokens
  CHECK(st.grant(400 * ms) == tickets{2});
  CHECK(st.grant(450 * ms).empty());
  CHECK(st.grant(500 * ms) == tickets{3});
}

TEST_CASE("max_concurrency holds waiters until a release", "[limits]") {
  rate_limiter_state st{limit(1000, sec, 100, 2), 0};
  for (uint64_t t = 1; t <= 4; ++t)
    st.enqueue(t, 1, 0);
  CHECK(st.grant(0) == tickets{1, 2});
  CHECK(st.in_use() == 2);
  CHECK(st.grant(sec).empty());
  CHECK_FALSE(st.next_ready_us(sec)); // waits for a slot, not for tokens
  st.release();
  CHECK(st.grant(sec) == tickets{3});
  st.release();
  st.release();
  CHECK(st.grant(sec) == tickets{4});
  CHECK(st.in_use() == 1);
  st.release();
  st.release(); // one too many: ignored
  CHECK(st.in_use() == 0);
}

TEST_CASE("a cost above the burst goes when the bucket is full and leaves a debt", "[limits]") {
  rate_limiter_state st{limit(10, sec, 5), 0};
  st.enqueue(1, 1, 0);
  st.enqueue(2, 12, 0);
  st.enqueue(3, 1, 0);
  CHECK(st.grant(0) == tickets{1});
  CHECK(st.next_ready_us(0) == 100 * ms); // full again
  CHECK(st.grant(99 * ms).empty());
  CHECK(st.grant(100 * ms) == tickets{2});
  CHECK(st.tokens(100 * ms) == Approx(-7));
  // Paying the debt back takes 0.8 s before the next token is there.
  CHECK(st.next_ready_us(100 * ms) == 900 * ms);
  CHECK(st.grant(899 * ms).empty());
  CHECK(st.grant(900 * ms) == tickets{3});
}

TEST_CASE("a cost of 0 takes only a slot, even in debt", "[limits]") {
  rate_limiter_state st{limit(1, sec, 1, 1), 0};
  st.enqueue(1, 5, 0); // debt of 4
  CHECK(st.grant(0) == tickets{1});
  st.enqueue(2, 0, 0);
  CHECK(st.grant(0).empty()); // no slot
  st.release();
  CHECK(st.next_ready_us(0) == 0);
  CHECK(st.grant(0) == tickets{2});
  CHECK(st.tokens(0) == Approx(-4));
}

TEST_CASE("a cancelled waiter leaves the queue and unblocks the one behind it", "[limits]") {
  rate_limiter_state st{limit(10, sec, 5), 0};
  st.enqueue(1, 5, 0);
  CHECK(st.grant(0) == tickets{1});
  st.enqueue(2, 5, 0);
  st.enqueue(3, 1, 0);
  CHECK(st.grant(200 * ms).empty());
  CHECK(st.cancel(2));
  CHECK_FALSE(st.cancel(2));
  CHECK_FALSE(st.cancel(99));
  CHECK(st.grant(200 * ms) == tickets{3});
  CHECK(st.waiting() == 0);
}

TEST_CASE("next_ready_us names the moment the head's tokens are there", "[limits]") {
  rate_limiter_state st{limit(3, sec, 1), 0};
  CHECK_FALSE(st.next_ready_us(0)); // nobody waits
  st.enqueue(1, 1, 0);
  CHECK(st.next_ready_us(0) == 0);
  CHECK(st.grant(0) == tickets{1});
  st.enqueue(2, 1, 0);
  // One token takes 1/3 s: 333333.3 us, rounded up.
  auto at = st.next_ready_us(0);
  REQUIRE(at);
  CHECK(*at == 333'334);
  CHECK(st.grant(*at - 1).empty());
  CHECK(st.grant(*at) == tickets{2});
  // Half a token more: 1/6 s after the grant, whenever asked.
  st.enqueue(3, 0.5, *at);
  auto half = st.next_ready_us(*at + 1000);
  REQUIRE(half);
  CHECK(*half == Approx(500'000).margin(1));
  CHECK(st.grant(*half) == tickets{3});
}

TEST_CASE("a time that goes back is taken as the latest seen", "[limits]") {
  rate_limiter_state st{limit(10, sec, 1), sec};
  st.enqueue(1, 1, sec);
  CHECK(st.grant(sec) == tickets{1});
  st.enqueue(2, 1, 0);
  CHECK(st.grant(0).empty());
  CHECK(st.tokens(0) == Approx(0).margin(1e-9));
  CHECK(st.grant(sec + 100 * ms) == tickets{2});
}

TEST_CASE("over 5 s a greedy queue gets rate times time plus the burst, never more in any second",
          "[limits]") {
  rate_limiter_state st{limit(200, sec, 10), 0};
  uint64_t next = 1;
  std::vector<int64_t> grants; // times, in ms
  for (int64_t t = 0; t <= 5000; ++t) {
    while (st.waiting() < 5)
      st.enqueue(next++, 1, t * ms);
    for (auto g : st.grant(t * ms)) {
      (void) g;
      grants.push_back(t);
      st.release();
    }
    if (auto at = st.next_ready_us(t * ms))
      CHECK(*at >= t * ms);
  }
  CHECK(grants.size() >= 1009);
  CHECK(grants.size() <= 1011);
  // Every window [t, t + 1000 ms) at 1 ms steps.
  size_t lo = 0;
  size_t worst = 0;
  for (int64_t t = 0; t <= 5000; ++t) {
    while (lo < grants.size() && grants[lo] < t)
      ++lo;
    auto hi = lo;
    while (hi < grants.size() && grants[hi] < t + 1000)
      ++hi;
    worst = std::max(worst, hi - lo);
  }
  CHECK(worst <= 210);
  CHECK(worst >= 200);
}
