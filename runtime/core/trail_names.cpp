#include "core/trail_names.hpp"

#include <cstdio>
#include <ctime>

namespace sluice {

std::string trail_names::stage(stage_index i) const {
  return i < stages.size() ? stages[i] : std::to_string(i);
}

std::string trail_names::file(const source_position& o) const {
  if (o.source >= source_files.size() || o.file >= source_files[o.source].size())
    return {};
  if (o.source < generated.size() && generated[o.source])
    return {};
  auto& name = source_files[o.source][o.file];
  return name == "-" ? std::string{} : name;
}

std::string trail_names::origin_text(const source_position& o) const {
  auto line = std::to_string(o.line);
  if (o.source < source_files.size() && o.file < source_files[o.source].size())
    return source_files[o.source][o.file] + ":" + line;
  if (o.source < stages.size())
    return stages[o.source] + ":" + line;
  return "?:" + line;
}

std::vector<std::string> trail_names::path(const lineage_trail& t) const {
  std::vector<std::string> out;
  out.reserve(t.hops.size());
  for (auto& h : t.hops)
    out.push_back(stage(h.stage));
  return out;
}

json trail_names::to_json(const lineage_trail& t) const {
  auto hops = json::array();
  for (auto& h : t.hops)
    hops.push_back({{"stage", stage(h.stage)}, {"at", iso_time_us(h.at_us)}});
  return {{"source", stage(t.origin.source)},
          {"origin", origin_text(t.origin)},
          {"file", file(t.origin)},
          {"line", t.origin.line},
          {"path", path(t)},
          {"hops", std::move(hops)}};
}

std::string iso_time_us(int64_t us) {
  auto secs = us / 1'000'000;
  auto frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06dZ", static_cast<int>(frac));
  return buf;
}

} // namespace sluice
