#include "lineage/event.hpp"

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

uint64_t mix(uint64_t x) {
  // splitmix64's finaliser: every input bit moves every output bit.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

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
  if (rate >= 1.0)
    return true;
  if (rate <= 0.0)
    return false;
  auto h = mix(mix(mix(key.source) ^ key.file) ^ key.line);
  // The top 53 bits as a fraction in [0, 1).
  double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
  return u < rate;
}

} // namespace sluice
