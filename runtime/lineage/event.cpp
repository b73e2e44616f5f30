#include "lineage/event.hpp"

#include <cmath>

namespace sluice {

namespace {

struct outcome_name {
  lineage_outcome value;
  const char* name;
};

constexpr outcome_name outcome_names[] = {
  {lineage_outcome::read, "read"},
  {lineage_outcome::passed, "passed"},
  {lineage_outcome::changed, "changed"},
  {lineage_outcome::filtered, "filtered"},
  {lineage_outcome::routed, "routed"},
  {lineage_outcome::folded, "folded"},
  {lineage_outcome::derived, "derived"},
  {lineage_outcome::written, "written"},
  {lineage_outcome::dead_lettered, "dead_lettered"},
  {lineage_outcome::failed, "failed"},
  {lineage_outcome::dropped, "dropped"},
  {lineage_outcome::retried, "retried"},
};


} // namespace

const char* to_string(lineage_outcome o) {
  for (auto& n : outcome_names)
    if (n.value == o)
      return n.name;
  return "unknown";
}

std::optional<lineage_outcome> lineage_outcome_from_string(std::string_view name) {
  for (auto& n : outcome_names)
    if (name == n.name)
      return n.value;
  return std::nullopt;
}

bool lineage_sampled(const lineage_key& key, double rate) {
  return lineage_sampler{rate}(key);
}

lineage_sampler::lineage_sampler(double rate) : all_(rate >= 1.0) {
  // rate < 1 keeps rate x 2^64 below 2^64 (the largest double under 1
  // gives 2^64 - 2^11), so the conversion is exact and defined.
  if (!all_)
    threshold_ = rate > 0.0 ? static_cast<uint64_t>(std::ldexp(rate, 64)) : 0;
}

} // namespace sluice
