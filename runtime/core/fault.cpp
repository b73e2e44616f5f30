#include "core/fault.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice {

// -- retry_settings ---------------------------------------------------------------

bool retry_settings::retries(errc c) const {
  return std::find(transient.begin(), transient.end(), c) != transient.end();
}

uint32_t retry_settings::backoff_ms(uint32_t attempt, double u) const {
  auto n = attempt == 0 ? 0.0 : static_cast<double>(attempt - 1);
  // pow may overflow to inf for large attempts; min() caps it either way.
  double base = std::min(static_cast<double>(max_backoff_ms),
                         static_cast<double>(initial_backoff_ms) * std::pow(multiplier, n));
  double j = std::clamp(jitter, 0.0, 1.0);
  double factor = 1.0 + j * (2.0 * std::clamp(u, 0.0, 1.0) - 1.0);
  double ms = std::round(base * factor);
  if (!(ms > 0)) // also NaN
    return 0;
  constexpr auto cap = static_cast<double>(std::numeric_limits<uint32_t>::max());
  return ms >= cap ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(ms);
}

// -- circuit_breaker --------------------------------------------------------------

circuit_breaker::circuit_breaker(circuit_settings s) : settings_(s) {
}

bool circuit_breaker::enabled() const noexcept {
  return settings_.failures > 0;
}

bool circuit_breaker::allow(int64_t now_us) {
  switch (state_) {
    case state::closed:
      return true;
    case state::open:
      if (now_us < probe_at_us_)
        return false;
      state_ = state::half_open; // this caller carries the probe
      return true;
    case state::half_open:
      return false; // the probe has not reported yet
  }
  return false;
}

void circuit_breaker::on_success() {
  consecutive_ = 0;
  if (state_ == state::half_open)
    state_ = state::closed;
}

void circuit_breaker::on_failure(int64_t now_us) {
  if (!enabled())
    return;
  switch (state_) {
    case state::closed:
      if (++consecutive_ >= settings_.failures)
        open(now_us);
      break;
    case state::half_open:
      open(now_us);
      break;
    case state::open:
      break; // admitted before it opened: the cooldown stands
  }
}

void circuit_breaker::open(int64_t now_us) {
  state_ = state::open;
  consecutive_ = 0;
  probe_at_us_ = now_us + int64_t{settings_.cooldown_ms} * 1000;
  ++times_opened_;
}

void circuit_breaker::release_probe() {
  if (state_ == state::half_open)
    state_ = state::open; // probe_at_us_ has passed: allow() probes at once
}

circuit_breaker::state circuit_breaker::current() const noexcept {
  return state_;
}

int64_t circuit_breaker::probe_at_us() const noexcept {
  return probe_at_us_;
}

uint64_t circuit_breaker::times_opened() const noexcept {
  return times_opened_;
}

const char* to_string(circuit_breaker::state s) {
  switch (s) {
    case circuit_breaker::state::closed: return "closed";
    case circuit_breaker::state::open: return "open";
    case circuit_breaker::state::half_open: return "half_open";
  }
  return "unknown";
}

// -- restart_intensity ------------------------------------------------------------

restart_intensity::restart_intensity(supervision_settings s) : settings_(s) {
}

bool restart_intensity::allow(int64_t now_us) {
  ++total_;
  recent_.push_back(now_us);
  auto window_start = now_us - int64_t{settings_.within_ms} * 1000; // excluded
  while (!recent_.empty() && recent_.front() <= window_start)
    recent_.pop_front();
  // Only "more than max_restarts" matters, so older times beyond that go.
  while (recent_.size() > size_t{settings_.max_restarts} + 1)
    recent_.pop_front();
  return recent_.size() <= settings_.max_restarts;
}

uint32_t restart_intensity::total() const noexcept {
  return total_;
}

} // namespace sluice
