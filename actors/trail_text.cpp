#include "trail_text.hpp"

#include <ctime>

#include "core/trail_names.hpp"

namespace sluice {

std::string origin_text(const pipeline_plan& plan, const record& rec) {
  if (plan.names)
    return plan.names->origin_text(rec.trail().origin);
  return "?:" + std::to_string(rec.trail().origin.line);
}

json hops_json(const pipeline_plan& plan, const record& rec) {
  auto out = json::array();
  for (auto& h : rec.trail().hops) {
    auto name = plan.names ? plan.names->stage(h.stage) : std::to_string(h.stage);
    out.push_back({{"stage", name}, {"at", iso_time(h.at_us)}});
  }
  return out;
}

std::string iso_time(int64_t us) {
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>((us / 1000) % 1000));
  return buf;
}

} // namespace sluice
