#include "expr/hints.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

namespace sluice::expr {

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Names people bring from other languages, mapped to ours.
struct alias {
  std::string_view from;
  std::string_view to;
};
constexpr alias aliases[] = {
  {"length", "len"},     {"size", "len"},          {"count", "len"},
  {"lowercase", "lower"}, {"tolower", "lower"},    {"downcase", "lower"},
  {"uppercase", "upper"}, {"toupper", "upper"},    {"upcase", "upper"},
  {"strip", "trim"},     {"int", "to_int"},        {"integer", "to_int"},
  {"float", "to_float"}, {"double", "to_float"},   {"number", "to_float"},
  {"str", "to_string"},  {"string", "to_string"},  {"tostring", "to_string"},
  {"match", "matches"},  {"regex", "matches"},     {"test", "matches"},
  {"has", "exists"},     {"ifnull", "coalesce"},   {"nvl", "coalesce"},
  {"includes", "contains"}, {"gsub", "replace"},   {"sub", "replace"},
  {"iif", "if"},
};

// The closest of `candidates` to `name`, if it is close enough to be a typo.
template <class Range, class Name>
std::string closest(std::string_view name, const Range& candidates, Name name_of) {
  std::string best;
  size_t best_distance = 3;
  for (auto& c : candidates) {
    std::string_view cand = name_of(c);
    auto d = edit_distance(name, cand);
    if (d < best_distance && d < name.size()) {
      best_distance = d;
      best = std::string{cand};
    }
  }
  return best;
}

} // namespace

std::string suggest_function(std::string_view name) {
  for (auto& a : aliases)
    if (a.from == name)
      return std::string{a.to};
  return closest(name, builtins(), [](const builtin& b) { return b.name; });
}

std::string arity_message(const builtin& fn, size_t got) {
  auto plural = [](size_t n) {
    return std::to_string(n) + (n == 1 ? " argument" : " arguments");
  };
  std::string takes;
  if (fn.max_args == variadic)
    takes = "at least " + plural(fn.min_args);
  else if (fn.min_args == fn.max_args)
    takes = plural(fn.min_args);
  else
    takes = std::to_string(fn.min_args) + " to " + plural(fn.max_args);
  return std::string{fn.name} + "() takes " + takes + " (" + std::string{fn.signature}
         + "), got " + std::to_string(got);
}

std::string suggest_keyword(std::string_view name) {
  static const std::vector<std::string_view> keywords{"true", "false", "null", "lineage"};
  return closest(name, keywords, [](std::string_view k) { return k; });
}

std::string suggest_lineage_member(std::string_view name) {
  return closest(name, lineage_members, [](const char* m) { return std::string_view{m}; });
}

std::string lineage_members_text() {
  std::string out = "the members are ";
  constexpr size_t n = std::size(lineage_members);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0)
      out += i + 1 == n ? " and " : ", ";
    out += "lineage.";
    out += lineage_members[i];
  }
  return out;
}

} // namespace sluice::expr
