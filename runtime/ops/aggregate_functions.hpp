#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/record.hpp"
#include "core/result.hpp"
#include "expr/expression.hpp"

namespace sluice {

/// The functions an `aggregate` stage can compute (docs/stages.md).
enum class aggregate_fn : uint8_t { count, sum, min, max, avg, first, last, distinct_count };

const char* to_string(aggregate_fn fn);

/// One entry of an aggregate's `aggregates`, compiled: `"total":
/// "sum(.amount_cents)"` has name "total", fn sum and arg `.amount_cents`.
struct aggregate_spec {
  std::string name;     ///< the output field
  std::string text;     ///< as written, for messages
  aggregate_fn fn = aggregate_fn::count;
  expr::expression arg; ///< not valid() for count()

  /// Parses `fn(expression)`. An unknown function, a missing or extra
  /// argument or a bad expression is an error (errc::invalid_config) naming
  /// the 1-based column within `text`.
  static result<aggregate_spec> parse(std::string name, std::string_view text);
};

/// The running state of one aggregate in one group. A record is folded in
/// two steps: `check` every aggregate of the record first, then `fold` them
/// all, so a record that fails is not half-folded.
class accumulator {
public:
  /// Whether `value` (the argument's value for this record; null when the
  /// field is missing) can be folded: sum/avg need numbers, min/max numbers
  /// or strings, and min/max may not mix the two within a group.
  status check(const aggregate_spec& spec, const json& value) const;

  /// Folds a value `check` accepted. count() ignores `value`.
  void fold(const aggregate_spec& spec, const json& value);

  /// The aggregate's value for the output record.
  json value(const aggregate_spec& spec) const;

private:
  void add_to_sum(const json& v);

  int64_t n_ = 0;         ///< records (count) or non-null values (the others)
  int64_t int_sum_ = 0;   ///< sum while every value was an integer and it fits
  double float_sum_ = 0;  ///< sum once a float came or int64 overflowed; avg
  bool is_float_ = false;
  json best_;             ///< min/max/first/last: the value so far (null: none)
  std::unique_ptr<std::unordered_set<std::string>> distinct_; ///< distinct_count
};

} // namespace sluice
