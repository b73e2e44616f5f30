#include "trail_text.hpp"

#include <ctime>

namespace sluice {

std::string origin_text(const pipeline_plan& plan, const record& rec) {
  auto& o = rec.trail().origin;
  if (o.source < plan.source_files.size() && o.file < plan.source_files[o.source].size())
    return plan.source_files[o.source][o.file] + ":" + std::to_string(o.line);
  if (o.source < plan.config.stages.size())
    return plan.config.stages[o.source].id + ":" + std::to_string(o.line);
  return "?:" + std::to_string(o.line);
}

json hops_json(const pipeline_plan& plan, const record& rec) {
  auto out = json::array();
  for (auto& h : rec.trail().hops) {
    auto name = h.stage < plan.config.stages.size() ? plan.config.stages[h.stage].id
                                                    : std::to_string(h.stage);
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
