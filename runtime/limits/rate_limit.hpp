#pragma once

// Rate limits as named, shared resources: their settings (the `resources`
// object of a pipeline config) and the state of one limiter (a token bucket
// and a counting semaphore, served first come, first served). No actor and no
// clock here: actors/rate_limiter.* hosts one state per resource and passes
// the time in.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/diagnostic.hpp"

namespace sluice {

/// One named rate limit, e.g.
///   "resources": {"rate_limits": {"llm": {"rate": 50, "per": "1s",
///                                         "burst": 10, "max_concurrency": 4}}}
/// In any window of length `per` at most `rate + burst` tokens are granted
/// (the bucket's content plus what refills meanwhile); a service that allows
/// exactly N calls per period wants `rate + burst <= N`.
struct rate_limit_settings {
  std::string name;
  /// Tokens added per period; > 0. Required.
  double rate = 0;
  /// The period in microseconds ("per": "1s", "500ms", "1m", "1h", "1.5s";
  /// from 1ms to 24h). Optional: one second.
  int64_t per_us = 1'000'000;
  /// Bucket capacity, >= 1. Optional: max(1, rate / 10), a tenth of a
  /// period's worth, so a window of one period sees at most 1.1 × rate
  /// (rate / 10 is not rounded: 15 per second gives 1.5).
  double burst = 1;
  /// Calls holding a permit at once; 0: unlimited. Optional: 0.
  uint32_t max_concurrency = 0;
  /// Where it was configured, for messages: "/resources/rate_limits/llm".
  std::string json_path;
};

/// The default burst for `rate`: max(1, rate / 10).
double default_burst(double rate);

/// Parses the top-level `resources` object (currently only `rate_limits`),
/// reporting every problem with its JSON path under `base_path`
/// ("/resources") into `diags`: unknown keys, a missing or non-positive rate,
/// a malformed `per` (a number without a unit too), burst < 1, a
/// max_concurrency that is not a whole number >= 0, an empty name. Returns
/// the limits that are valid, in the order of the object's keys.
std::vector<rate_limit_settings> parse_resources(const nlohmann::json& resources,
                                                 const std::string& base_path,
                                                 diagnostics& diags);
std::vector<rate_limit_settings> parse_resources(const nlohmann::ordered_json& resources,
                                                 const std::string& base_path,
                                                 diagnostics& diags);

/// A positive duration, a decimal number and a unit: "250ms", "1s", "1.5s",
/// "2m", "1h" (also "us") -> microseconds, rounded to the nearest. nullopt
/// when malformed (no unit, a space, a sign, zero, more than 100 days).
std::optional<int64_t> parse_period(std::string_view text);

/// A token bucket and a counting semaphore together, serving waiters strictly
/// first come, first served: the head of the queue blocks later waiters even
/// if they would fit, so an expensive call is never starved by cheap ones.
///
/// Tokens: the bucket starts full (`burst`), refills continuously at
/// rate / per up to `burst`. A waiter is granted when a slot is free (or
/// max_concurrency is 0) and its cost is there; its cost is then consumed.
/// A cost above `burst` could never fit, so it is granted when the bucket is
/// full and the tokens go negative (debt): such calls are paced to their
/// cost, not stuck. A cost of 0 takes only a slot (it still waits its turn).
/// A grant holds one slot until release().
///
/// Time is passed in (microseconds from any monotonic origin, never going
/// back; an earlier time is taken as the latest one seen): tests drive it.
/// Owned by one limiter; not thread-safe.
class rate_limiter_state {
public:
  using ticket = uint64_t;

  rate_limiter_state(rate_limit_settings s, int64_t now_us);

  /// A waiter joins the back of the queue. `cost` must be finite and >= 0;
  /// `t` must not be queued already.
  void enqueue(ticket t, double cost, int64_t now_us);

  /// A waiter leaves the queue; false if `t` was not waiting. Call grant()
  /// afterwards: the next waiter may now be the head and fit.
  bool cancel(ticket t);

  /// Grants, in order, every head waiter that can be served at `now_us`;
  /// returns their tickets.
  std::vector<ticket> grant(int64_t now_us);

  /// A granted permit's slot comes back (its tokens do not). Call grant()
  /// afterwards.
  void release();

  /// When grant() may next succeed for the head waiter if only tokens are
  /// missing: `now_us` if it can go now, later if tokens are short; nullopt
  /// if the queue is empty or the head waits for a slot (a release wakes it).
  std::optional<int64_t> next_ready_us(int64_t now_us) const;

  // -- observation -----------------------------------------------------------------

  const rate_limit_settings& settings() const noexcept { return settings_; }
  /// The bucket's content at `now_us` (negative while in debt).
  double tokens(int64_t now_us) const;
  uint32_t in_use() const noexcept { return in_use_; }
  uint32_t waiting() const noexcept { return static_cast<uint32_t>(queue_.size()); }
  uint64_t granted_total() const noexcept { return granted_; }
  /// Sum and maximum over all grants of the time from enqueue to grant.
  uint64_t waited_us_total() const noexcept { return waited_total_; }
  uint64_t max_wait_us() const noexcept { return max_wait_; }

private:
  struct waiter {
    ticket id;
    double cost;
    int64_t since_us;
  };

  void refill(int64_t now_us);
  double tokens_at(int64_t now_us) const;
  /// The tokens the head needs before it can go: its cost, at most `burst`.
  double need(const waiter& w) const;
  bool slot_free() const noexcept;

  rate_limit_settings settings_;
  double per_us_rate_; ///< tokens per microsecond
  double tokens_;
  int64_t last_us_;
  uint32_t in_use_ = 0;
  std::deque<waiter> queue_;
  uint64_t granted_ = 0;
  uint64_t waited_total_ = 0;
  uint64_t max_wait_ = 0;
};

} // namespace sluice
