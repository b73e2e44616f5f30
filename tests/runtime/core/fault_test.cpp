// The fault-tolerance state machines of runtime/core/fault.hpp: retry backoff,
// the circuit breaker and the restart intensity. Time is passed in, so every
// test drives it directly; nothing sleeps.

#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "core/fault.hpp"
#include "core/result.hpp"

using namespace sluice;

namespace {

constexpr int64_t ms = 1000; // microseconds

} // namespace

// -- error classes ------------------------------------------------------------------

TEST_CASE("every error class round-trips through its name", "[core][fault]") {
  CHECK(all_errcs().size() == 8);
  for (auto c : all_errcs()) {
    INFO(to_string(c));
    auto back = errc_from_string(to_string(c));
    REQUIRE(back.has_value());
    CHECK(*back == c);
  }
  CHECK(std::string{to_string(errc::transient)} == "transient");
  CHECK(std::string{to_string(errc::crash)} == "crash");
}

TEST_CASE("an unknown error class name is not mistaken for one", "[core][fault]") {
  CHECK_FALSE(errc_from_string("Transient").has_value());
  CHECK_FALSE(errc_from_string("").has_value());
  CHECK_FALSE(errc_from_string("io_error ").has_value());
  CHECK_FALSE(errc_from_string("unknown").has_value());
}

// -- retry_settings -----------------------------------------------------------------

TEST_CASE("by default a stage tries once and would retry transient and io errors",
          "[core][fault][retry]") {
  retry_settings r;
  CHECK(r.max_attempts == 1);
  CHECK(r.retries(errc::transient));
  CHECK(r.retries(errc::io_error));
  CHECK_FALSE(r.retries(errc::crash));
  CHECK_FALSE(r.retries(errc::runtime_error));
  CHECK_FALSE(r.retries(errc::schema_violation));
  CHECK_FALSE(r.retries(errc::parse_error));
}

TEST_CASE("retries() follows the configured classes only", "[core][fault][retry]") {
  retry_settings r;
  r.transient = {errc::schema_violation};
  CHECK(r.retries(errc::schema_violation));
  CHECK_FALSE(r.retries(errc::transient));
  r.transient.clear();
  for (auto c : all_errcs())
    CHECK_FALSE(r.retries(c));
}

TEST_CASE("backoff grows by the multiplier from the initial delay", "[core][fault][retry]") {
  retry_settings r;
  r.jitter = 0;
  r.initial_backoff_ms = 100;
  r.multiplier = 2;
  r.max_backoff_ms = 100'000;
  CHECK(r.backoff_ms(1, 0.5) == 100);
  CHECK(r.backoff_ms(2, 0.5) == 200);
  CHECK(r.backoff_ms(3, 0.5) == 400);
  CHECK(r.backoff_ms(8, 0.5) == 12'800);
  r.multiplier = 1.5;
  CHECK(r.backoff_ms(3, 0.0) == 225);
  r.multiplier = 1;
  CHECK(r.backoff_ms(20, 0.9) == 100);
}

TEST_CASE("backoff is capped at max_backoff_ms, however many attempts failed",
          "[core][fault][retry]") {
  retry_settings r;
  r.jitter = 0;
  r.initial_backoff_ms = 100;
  r.multiplier = 10;
  r.max_backoff_ms = 5000;
  CHECK(r.backoff_ms(2, 0.5) == 1000);
  CHECK(r.backoff_ms(3, 0.5) == 5000);
  CHECK(r.backoff_ms(4, 0.5) == 5000);
  // multiplier^(attempt-1) overflows a double long before this.
  CHECK(r.backoff_ms(4'000'000'000u, 0.5) == 5000);
}

TEST_CASE("attempt 0 is taken as the first attempt", "[core][fault][retry]") {
  retry_settings r;
  r.jitter = 0;
  CHECK(r.backoff_ms(0, 0.3) == r.backoff_ms(1, 0.3));
}

TEST_CASE("jitter scales the delay by a factor between 1-jitter and 1+jitter", "[core][fault][retry]") {
  retry_settings r;
  r.initial_backoff_ms = 1000;
  r.multiplier = 2;
  r.max_backoff_ms = 1000;
  r.jitter = 0.2;
  CHECK(r.backoff_ms(1, 0.0) == 800);  // 1 - jitter
  CHECK(r.backoff_ms(1, 0.5) == 1000); // the middle
  CHECK(r.backoff_ms(1, 0.25) == 900);
  // u < 1, so the top is approached, never reached; the cap applies before jitter.
  CHECK(r.backoff_ms(1, 0.999999) == 1200);
  CHECK(r.backoff_ms(5, 0.999999) == 1200);
  for (int i = 0; i < 1000; ++i) {
    auto d = r.backoff_ms(3, i / 1000.0);
    CHECK(d >= 800);
    CHECK(d <= 1200);
  }
}

TEST_CASE("full jitter can make the delay zero and no jitter ignores u", "[core][fault][retry]") {
  retry_settings r;
  r.initial_backoff_ms = 100;
  r.jitter = 1;
  CHECK(r.backoff_ms(1, 0.0) == 0);
  CHECK(r.backoff_ms(1, 0.75) == 150);
  r.jitter = 0;
  CHECK(r.backoff_ms(1, 0.0) == 100);
  CHECK(r.backoff_ms(1, 0.99) == 100);
}

// -- circuit_breaker ----------------------------------------------------------------

TEST_CASE("a breaker with failures 0 is disabled and never stops work", "[core][fault][breaker]") {
  circuit_breaker b;
  CHECK_FALSE(b.enabled());
  for (int i = 0; i < 100; ++i)
    b.on_failure(i * ms);
  CHECK(b.current() == circuit_breaker::state::closed);
  CHECK(b.allow(100 * ms));
  CHECK(b.times_opened() == 0);
}

TEST_CASE("a breaker opens after its number of consecutive failures", "[core][fault][breaker]") {
  circuit_breaker b{{3, 1000}};
  REQUIRE(b.enabled());
  b.on_failure(0);
  b.on_failure(1 * ms);
  CHECK(b.current() == circuit_breaker::state::closed);
  CHECK(b.allow(2 * ms));
  b.on_failure(2 * ms);
  CHECK(b.current() == circuit_breaker::state::open);
  CHECK(b.times_opened() == 1);
  CHECK(b.probe_at_us() == 2 * ms + 1000 * ms);
  CHECK_FALSE(b.allow(3 * ms));
  CHECK_FALSE(b.allow(1002 * ms - 1)); // a microsecond early
  CHECK(std::string{to_string(b.current())} == "open");
}

TEST_CASE("a success between failures resets the count", "[core][fault][breaker]") {
  circuit_breaker b{{3, 1000}};
  b.on_failure(0);
  b.on_failure(0);
  b.on_success();
  b.on_failure(0);
  b.on_failure(0);
  CHECK(b.current() == circuit_breaker::state::closed);
  b.on_failure(0);
  CHECK(b.current() == circuit_breaker::state::open);
}

TEST_CASE("a probe released unreported lets the next unit probe at once", "[core][fault][breaker]") {
  circuit_breaker b{{1, 500}};
  b.on_failure(10 * ms);
  REQUIRE(b.allow(510 * ms)); // the probe
  CHECK(b.current() == circuit_breaker::state::half_open);
  CHECK_FALSE(b.allow(511 * ms));
  b.release_probe(); // its work waited and will not report
  CHECK(b.current() == circuit_breaker::state::open);
  CHECK(b.times_opened() == 1); // not a new opening
  CHECK(b.allow(512 * ms));    // the next unit probes, without a new cooldown
  CHECK(b.current() == circuit_breaker::state::half_open);
  b.on_success();
  CHECK(b.current() == circuit_breaker::state::closed);
  b.release_probe(); // closed: nothing to release
  CHECK(b.current() == circuit_breaker::state::closed);
}

TEST_CASE("after the cooldown exactly one probe goes through and its success closes the breaker",
          "[core][fault][breaker]") {
  circuit_breaker b{{1, 500}};
  b.on_failure(10 * ms);
  REQUIRE(b.current() == circuit_breaker::state::open);
  CHECK_FALSE(b.allow(509 * ms));
  CHECK(b.allow(510 * ms)); // the probe
  CHECK(b.current() == circuit_breaker::state::half_open);
  CHECK_FALSE(b.allow(510 * ms));   // no second probe while the first is out
  CHECK_FALSE(b.allow(9999 * ms));  // however long it takes
  b.on_success();
  CHECK(b.current() == circuit_breaker::state::closed);
  CHECK(b.allow(10'000 * ms));
  CHECK(b.allow(10'000 * ms));
  CHECK(b.times_opened() == 1);
}

TEST_CASE("a failed probe opens the breaker again with a fresh cooldown", "[core][fault][breaker]") {
  circuit_breaker b{{2, 100}};
  b.on_failure(0);
  b.on_failure(0);
  REQUIRE(b.allow(100 * ms));
  REQUIRE(b.current() == circuit_breaker::state::half_open);
  b.on_failure(150 * ms);
  CHECK(b.current() == circuit_breaker::state::open);
  CHECK(b.times_opened() == 2);
  CHECK(b.probe_at_us() == 250 * ms);
  CHECK_FALSE(b.allow(249 * ms));
  CHECK(b.allow(250 * ms));
  CHECK(std::string{to_string(b.current())} == "half_open");
}

TEST_CASE("results of work admitted before the breaker opened change nothing while it is open",
          "[core][fault][breaker]") {
  circuit_breaker b{{1, 100}};
  b.on_failure(0);
  b.on_failure(50 * ms); // late: does not extend the cooldown
  CHECK(b.probe_at_us() == 100 * ms);
  b.on_success(); // late: does not close it
  CHECK(b.current() == circuit_breaker::state::open);
  CHECK_FALSE(b.allow(99 * ms));
  CHECK(b.times_opened() == 1);
}

TEST_CASE("a closed breaker counts failures afresh after a probe succeeded", "[core][fault][breaker]") {
  circuit_breaker b{{2, 10}};
  b.on_failure(0);
  b.on_failure(0);
  REQUIRE(b.allow(10 * ms));
  b.on_success();
  b.on_failure(20 * ms);
  CHECK(b.current() == circuit_breaker::state::closed);
  b.on_failure(21 * ms);
  CHECK(b.current() == circuit_breaker::state::open);
  CHECK(b.times_opened() == 2);
}

// -- restart_intensity --------------------------------------------------------------

TEST_CASE("restarts within the intensity are allowed but one more is not", "[core][fault][supervision]") {
  restart_intensity r{{3, 1000}};
  CHECK(r.allow(0));
  CHECK(r.allow(100 * ms));
  CHECK(r.allow(200 * ms));
  CHECK_FALSE(r.allow(300 * ms));
  CHECK(r.total() == 4);
}

TEST_CASE("restarts older than the window no longer count", "[core][fault][supervision]") {
  restart_intensity r{{2, 1000}};
  CHECK(r.allow(0));
  CHECK(r.allow(500 * ms));
  // (now - within, now]: at 1000 ms the one at 0 has left the window.
  CHECK(r.allow(1000 * ms));
  CHECK_FALSE(r.allow(1400 * ms)); // 500, 1000, 1400
  CHECK(r.allow(2400 * ms));       // 1400, 2400 (1000 left at 2000)
  CHECK(r.total() == 5);
}

TEST_CASE("the window slides: steady restarts slower than the intensity never fail",
          "[core][fault][supervision]") {
  restart_intensity r{{5, 60'000}};
  for (int i = 0; i < 10'000; ++i)
    REQUIRE(r.allow(int64_t{i} * 12'001 * ms));
  CHECK(r.total() == 10'000);
}

TEST_CASE("max_restarts 0 refuses the first restart", "[core][fault][supervision]") {
  restart_intensity r{{0, 60'000}};
  CHECK_FALSE(r.allow(0));
  CHECK_FALSE(r.allow(3'600'000 * ms));
  CHECK(r.total() == 2);
}

TEST_CASE("a burst beyond the intensity stays refused until the window has passed",
          "[core][fault][supervision]") {
  restart_intensity r{{2, 100}};
  CHECK(r.allow(0));
  CHECK(r.allow(0));
  for (int i = 0; i < 50; ++i)
    CHECK_FALSE(r.allow(i * ms));
  CHECK_FALSE(r.allow(120 * ms)); // (20 ms, 120 ms] still holds 29 of the burst
  CHECK(r.allow(300 * ms));       // (200 ms, 300 ms] holds only this one
}
