#include "limits/rate_limit.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

namespace sluice {

namespace {

constexpr int64_t min_per_us = 1'000;               // 1ms
constexpr int64_t max_per_us = 86'400'000'000;      // 24h
constexpr double max_period_us = 8'640'000'000'000; // 100 days, parse_period's limit
constexpr double max_rate = 1e9;
constexpr double max_burst = 1e12;
constexpr uint32_t max_slots = 1'000'000;

// A number for messages: "1.2", not "1.2000000000000002".
std::string short_number(double x) {
  std::ostringstream out;
  out.precision(6);
  out << x;
  return out.str();
}

template <class Json>
std::string json_kind(const Json& v) {
  if (v.is_number())
    return short_number(v.template get<double>());
  if (v.is_string())
    return "\"" + v.template get<std::string>() + "\"";
  if (v.is_boolean())
    return "a boolean";
  if (v.is_array())
    return "a list";
  if (v.is_object())
    return "an object";
  return "null";
}

constexpr const char* example =
  R"({"rate_limits": {"llm": {"rate": 50, "per": "1s", "burst": 10, "max_concurrency": 4}}})";
constexpr const char* limit_example = R"({"rate": 50, "per": "1s", "burst": 10, "max_concurrency": 4})";

template <class Json>
struct resources_reader {
  diagnostics& diags;

  // Reports the keys of `obj` not in `known`; false if there was one.
  bool known_keys(const Json& obj, const std::string& at, const std::vector<std::string>& known,
                  const char* what) {
    bool ok = true;
    for (auto& [k, v] : obj.items()) {
      (void) v;
      if (std::find(known.begin(), known.end(), k) != known.end())
        continue;
      std::string names;
      for (auto& n : known)
        names += (names.empty() ? "'" : ", '") + n + "'";
      diags.error(at + "/" + json_pointer_escape(k), "unknown key '" + k + "' in " + what).hint =
        "known keys: " + names;
      ok = false;
    }
    return ok;
  }

  // One entry of `rate_limits`; nullopt (and diagnostics) when invalid.
  std::optional<rate_limit_settings> limit(const std::string& name, const Json& v,
                                           const std::string& at) {
    rate_limit_settings s;
    s.name = name;
    s.json_path = at;
    bool ok = true;
    if (name.empty()) {
      diags.error(at, "a rate limit needs a name").hint =
        R"(name it after the service, e.g. "llm": )" + std::string{limit_example};
      ok = false;
    }
    if (!v.is_object()) {
      diags.error(at, "expected an object, got " + json_kind(v)).hint =
        std::string{"e.g. "} + limit_example;
      return std::nullopt;
    }
    ok &= known_keys(v, at, {"rate", "per", "burst", "max_concurrency"}, "a rate limit");
    // rate
    if (!v.contains("rate")) {
      diags.error(at + "/rate", "missing: the tokens (calls) allowed per period").hint =
        R"(e.g. "rate": 50, "per": "1s")";
      ok = false;
    } else if (auto& r = v["rate"]; !r.is_number() || !std::isfinite(r.template get<double>())
                                    || r.template get<double>() <= 0
                                    || r.template get<double>() > max_rate) {
      diags.error(at + "/rate", "expected a number of tokens per period above 0 (at most 1e9), got "
                                  + json_kind(r));
      ok = false;
    } else {
      s.rate = r.template get<double>();
    }
    // per
    if (v.contains("per")) {
      auto& p = v["per"];
      auto path = at + "/per";
      std::optional<int64_t> us;
      if (p.is_string())
        us = parse_period(p.template get<std::string>());
      if (p.is_number()) {
        diags.error(path, "expected a duration with its unit, got the number " + json_kind(p))
          .hint = R"(e.g. "per": "1s", "500ms", "1m" or "1h")";
        ok = false;
      } else if (!us || *us < min_per_us || *us > max_per_us) {
        diags.error(path, "expected a duration from 1ms to 24h, got " + json_kind(p)).hint =
          R"(e.g. "per": "1s", "500ms", "1m" or "1h")";
        ok = false;
      } else {
        s.per_us = *us;
      }
    }
    // burst
    if (v.contains("burst")) {
      auto& b = v["burst"];
      if (!b.is_number() || !std::isfinite(b.template get<double>())
          || b.template get<double>() < 1 || b.template get<double>() > max_burst) {
        diags.error(at + "/burst", "expected the bucket's capacity, a number from 1 to 1e12, got "
                                     + json_kind(b))
          .hint = "leave it out for the default: a tenth of the rate, at least 1";
        ok = false;
      } else {
        s.burst = b.template get<double>();
      }
    } else {
      s.burst = default_burst(s.rate);
    }
    // max_concurrency
    if (v.contains("max_concurrency")) {
      auto& m = v["max_concurrency"];
      if (!m.is_number_integer() || (!m.is_number_unsigned() && m.template get<int64_t>() < 0)
          || m.template get<uint64_t>() > max_slots) {
        diags.error(at + "/max_concurrency",
                    "expected a whole number from 0 (unlimited) to 1000000, got " + json_kind(m));
        ok = false;
      } else {
        s.max_concurrency = static_cast<uint32_t>(m.template get<uint64_t>());
      }
    }
    if (!ok)
      return std::nullopt;
    return s;
  }

  std::vector<rate_limit_settings> read(const Json& resources, const std::string& base) {
    std::vector<rate_limit_settings> out;
    if (!resources.is_object()) {
      diags.error(base, "expected an object, got " + json_kind(resources)).hint =
        std::string{"e.g. "} + example;
      return out;
    }
    known_keys(resources, base, {"rate_limits"}, "resources");
    if (!resources.contains("rate_limits"))
      return out;
    auto& limits = resources["rate_limits"];
    auto at = base + "/rate_limits";
    if (!limits.is_object()) {
      diags.error(at, "expected an object of named rate limits, got " + json_kind(limits)).hint =
        std::string{"e.g. "} + example;
      return out;
    }
    for (auto& [name, v] : limits.items())
      if (auto s = limit(name, v, at + "/" + json_pointer_escape(name)))
        out.push_back(std::move(*s));
    return out;
  }
};

} // namespace

double default_burst(double rate) {
  return std::max(1.0, rate / 10);
}

std::vector<rate_limit_settings> parse_resources(const nlohmann::json& resources,
                                                 const std::string& base_path,
                                                 diagnostics& diags) {
  return resources_reader<nlohmann::json>{diags}.read(resources, base_path);
}

std::vector<rate_limit_settings> parse_resources(const nlohmann::ordered_json& resources,
                                                 const std::string& base_path,
                                                 diagnostics& diags) {
  return resources_reader<nlohmann::ordered_json>{diags}.read(resources, base_path);
}

std::optional<int64_t> parse_period(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
    ++i;
  auto number = text.substr(0, i);
  auto unit = text.substr(i);
  if (number.empty() || number.front() == '.' || number.back() == '.')
    return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || end != number.data() + number.size())
    return std::nullopt;
  double scale = 0;
  if (unit == "us")
    scale = 1;
  else if (unit == "ms")
    scale = 1e3;
  else if (unit == "s")
    scale = 1e6;
  else if (unit == "m")
    scale = 60e6;
  else if (unit == "h")
    scale = 3600e6;
  else
    return std::nullopt;
  auto us = std::round(value * scale);
  if (!(us >= 1) || us > max_period_us)
    return std::nullopt;
  return static_cast<int64_t>(us);
}

// -- rate_limiter_state ------------------------------------------------------------

namespace {

// Refill is computed in floating point: a waiter whose tokens are there up to
// rounding counts as served, or next_ready_us would name a time at which
// grant() still fails.
double slack(double burst) {
  return 1e-9 * std::max(1.0, burst);
}

} // namespace

rate_limiter_state::rate_limiter_state(rate_limit_settings s, int64_t now_us)
  : settings_(std::move(s)),
    per_us_rate_(settings_.rate / static_cast<double>(settings_.per_us)),
    tokens_(settings_.burst),
    last_us_(now_us) {
  assert(settings_.rate > 0 && settings_.per_us > 0 && settings_.burst > 0);
}

void rate_limiter_state::enqueue(ticket t, double cost, int64_t now_us) {
  assert(std::isfinite(cost) && cost >= 0);
  queue_.push_back(waiter{t, cost, std::max(now_us, last_us_)});
}

bool rate_limiter_state::cancel(ticket t) {
  auto i = std::find_if(queue_.begin(), queue_.end(), [t](const waiter& w) { return w.id == t; });
  if (i == queue_.end())
    return false;
  queue_.erase(i);
  return true;
}

std::vector<rate_limiter_state::ticket> rate_limiter_state::grant(int64_t now_us) {
  refill(now_us);
  auto now = last_us_;
  std::vector<ticket> out;
  while (!queue_.empty() && slot_free()) {
    auto& w = queue_.front();
    if (w.cost > 0 && tokens_ + slack(settings_.burst) < need(w))
      break;
    tokens_ -= w.cost;
    ++in_use_;
    ++granted_;
    auto waited = static_cast<uint64_t>(std::max<int64_t>(0, now - w.since_us));
    waited_total_ += waited;
    max_wait_ = std::max(max_wait_, waited);
    out.push_back(w.id);
    queue_.pop_front();
  }
  return out;
}

void rate_limiter_state::release() {
  if (in_use_ > 0)
    --in_use_;
}

std::optional<int64_t> rate_limiter_state::next_ready_us(int64_t now_us) const {
  if (queue_.empty() || !slot_free())
    return std::nullopt;
  auto now = std::max(now_us, last_us_);
  auto& w = queue_.front();
  auto have = tokens_at(now);
  if (w.cost <= 0 || have + slack(settings_.burst) >= need(w))
    return now;
  // Aim half the slack past the point grant() accepts, so rounding in the
  // refill cannot make the timer fire a microsecond early. Capped at 100
  // years: a tiny rate must not overflow the clock.
  auto deficit = need(w) - have - slack(settings_.burst) / 2;
  auto wait = std::min(std::ceil(deficit / per_us_rate_), 3.2e15);
  return now + std::max<int64_t>(1, static_cast<int64_t>(wait));
}

double rate_limiter_state::tokens(int64_t now_us) const {
  return tokens_at(now_us);
}

void rate_limiter_state::refill(int64_t now_us) {
  tokens_ = tokens_at(now_us);
  last_us_ = std::max(last_us_, now_us);
}

double rate_limiter_state::tokens_at(int64_t now_us) const {
  if (now_us <= last_us_ || tokens_ >= settings_.burst)
    return tokens_;
  auto gained = static_cast<double>(now_us - last_us_) * per_us_rate_;
  return std::min(settings_.burst, tokens_ + gained);
}

double rate_limiter_state::need(const waiter& w) const {
  return std::min(w.cost, settings_.burst);
}

bool rate_limiter_state::slot_free() const noexcept {
  return settings_.max_concurrency == 0 || in_use_ < settings_.max_concurrency;
}

} // namespace sluice
