#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "core/result.hpp"

namespace sluice {

/// Per-stage retry policy (`retry`). max_attempts counts the first try: 1 = no
/// retry. The stage host asks `retries()` of each failure's class; a failure
/// not retried, or the last attempt's, goes to the stage's `on_error`.
struct retry_settings {
  uint32_t max_attempts = 1;
  uint32_t initial_backoff_ms = 100;
  double multiplier = 2.0;             ///< >= 1
  uint32_t max_backoff_ms = 10000;
  double jitter = 0.2;                 ///< 0..1; the delay is scaled by a factor in [1-jitter, 1+jitter]
  std::vector<errc> transient{errc::transient, errc::io_error}; ///< classes retried; others are permanent

  /// `c` is in `transient`.
  bool retries(errc c) const;

  /// Delay before attempt `attempt + 1` after `attempt` failed (attempt >= 1;
  /// 0 is taken as 1):
  /// min(max_backoff, initial * multiplier^(attempt-1)) * (1 + jitter * (2u - 1)),
  /// rounded to the nearest millisecond, u in [0,1) given by the caller (so a
  /// test or a seeded chaos_monkey decides it). With jitter the delay may
  /// exceed max_backoff_ms by up to that fraction.
  uint32_t backoff_ms(uint32_t attempt, double u) const;
};

/// Per-stage circuit breaker (`circuit_breaker`); failures == 0 disables it.
struct circuit_settings {
  uint32_t failures = 0;     ///< consecutive failures that open the breaker
  uint32_t cooldown_ms = 5000; ///< how long it stays open before one probe
};

/// Per-stage restart intensity (`supervision`), as in OTP: at most
/// max_restarts within `within_ms`; one more fails the run.
struct supervision_settings {
  uint32_t max_restarts = 5;
  uint32_t within_ms = 60000;
};

/// A circuit breaker's state machine, owned by one stage replica's host. Time
/// is passed in (microseconds, any monotonic origin); there is no clock
/// inside, so tests drive it directly.
///
/// closed -> (`failures` consecutive failures) -> open -> (cooldown passed)
/// -> half_open: allow() lets exactly one probe through -> on_success: closed
/// / on_failure: open again (the cooldown restarts).
///
/// Results that arrive while open (work admitted before it opened) change
/// nothing: a late success does not close it, a late failure does not extend
/// the cooldown. A disabled breaker (failures == 0) is always closed.
class circuit_breaker {
public:
  enum class state : uint8_t { closed, open, half_open };

  explicit circuit_breaker(circuit_settings s = {});

  bool enabled() const noexcept;

  /// May work go through now? closed: always. open: false until
  /// probe_at_us(), then it turns half_open and returns true for the probe.
  /// half_open: false until the probe reports through on_success/on_failure.
  bool allow(int64_t now_us);

  /// A unit of work succeeded: resets the consecutive count; closes a
  /// half_open breaker.
  void on_success();

  /// A unit of work failed at `now_us`: counts towards `failures` when
  /// closed; reopens a half_open breaker.
  void on_failure(int64_t now_us);

  /// The probe allow() let through will not report (its work waited, or
  /// turned out to be nothing): half_open goes back to open with the probe
  /// time already passed, so the next allow() lets the next unit probe.
  /// Does nothing in any other state.
  void release_probe();

  state current() const noexcept;

  /// When open: the earliest time allow() will let a probe through
  /// (otherwise the last such time, or 0).
  int64_t probe_at_us() const noexcept;

  /// How often it went to open (from closed or half_open).
  uint64_t times_opened() const noexcept;

private:
  void open(int64_t now_us);

  circuit_settings settings_;
  state state_ = state::closed;
  uint32_t consecutive_ = 0;
  int64_t probe_at_us_ = 0;
  uint64_t times_opened_ = 0;
};

const char* to_string(circuit_breaker::state s);

/// Counts restarts in a sliding window, for one stage replica's supervisor:
/// allow(now) records one and says whether it is within the intensity. Memory
/// stays bounded (at most max_restarts + 1 times are kept).
class restart_intensity {
public:
  explicit restart_intensity(supervision_settings s = {});

  /// Records a restart at `now_us` (non-decreasing across calls); true if the
  /// restarts in (now - within, now], including this one, are <= max_restarts.
  bool allow(int64_t now_us);

  /// Every restart asked for so far (allowed or not).
  uint32_t total() const noexcept;

private:
  supervision_settings settings_;
  std::deque<int64_t> recent_; ///< times of the latest restarts, oldest first
  uint32_t total_ = 0;
};

} // namespace sluice
