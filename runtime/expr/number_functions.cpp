// Built-ins on numbers, conversions and control flow: round, floor, ceil,
// abs, min, max, to_int, to_float, to_string, exists, coalesce, if, now.

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include "expr/functions.hpp"

namespace sluice::expr {

namespace {

constexpr double two_pow_63 = 9223372036854775808.0;

bool fits_int64(double d) noexcept {
  return d >= -two_pow_63 && d < two_pow_63;
}

// An integral double as an integer json when it fits int64, else as a float.
json integral_number(double d) {
  if (fits_int64(d))
    return json(static_cast<int64_t>(d));
  return json(d);
}

// round/floor/ceil: integers pass unchanged; floats are rounded by `f`.
template <double (*F)(double)>
result<value> rounding(const node& call, const record& rec) {
  SLUICE_TRY(v, eval_arg(call, 0, rec));
  if (v->is_number_integer())
    return v;
  if (!v->is_number_float())
    return arg_type_error(call, 0, "a number", *v);
  return value{integral_number(F(v->get<double>()))};
}

// std::round is half away from zero: the same result as std::llround
// wherever llround is defined, and defined beyond int64 too.
double round_half_away(double d) {
  return std::round(d);
}
double floor_of(double d) {
  return std::floor(d);
}
double ceil_of(double d) {
  return std::ceil(d);
}

result<value> fn_abs(const node& call, const record& rec) {
  SLUICE_TRY(v, eval_arg(call, 0, rec));
  number n;
  if (!to_number(*v, n))
    return arg_type_error(call, 0, "a number", *v);
  if (v->is_number_unsigned())
    return v;
  if (n.is_int) {
    if (n.i == std::numeric_limits<int64_t>::min())
      return type_error("abs: integer overflow: " + std::to_string(n.i)
                        + " has no positive int64 counterpart");
    return value{json(n.i < 0 ? -n.i : n.i)};
  }
  return value{json(std::fabs(n.d))};
}

// min (Sign -1) and max (Sign 1): the winning argument, unchanged, so the
// result is an integer if the winner is one. Ties keep the first.
template <int Sign>
result<value> extreme(const node& call, const record& rec) {
  value best;
  number best_n;
  for (size_t i = 0; i < call.args.size(); ++i) {
    SLUICE_TRY(v, eval_arg(call, i, rec));
    number n;
    if (!to_number(*v, n))
      return arg_type_error(call, i, "a number", *v);
    if (i == 0 || compare_numbers(n, best_n) == Sign) {
      best = std::move(v);
      best_n = n;
    }
  }
  return best;
}

std::string_view trim_space(std::string_view s) noexcept {
  constexpr std::string_view space = " \t\n\r\f\v";
  auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos)
    return {};
  auto last = s.find_last_not_of(space);
  return s.substr(first, last - first + 1);
}

// Parses a whole (trimmed) string as a finite double; accepts a leading '+'.
bool parse_double(std::string_view s, double& out) noexcept {
  s = trim_space(s);
  if (s.size() > 1 && s[0] == '+' && s[1] != '-')
    s.remove_prefix(1);
  if (s.empty())
    return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size() && std::isfinite(out);
}

error not_convertible(const char* fn, const json& v, const char* target) {
  return type_error(std::string{fn} + ": cannot convert " + preview(v) + " to " + target);
}

// Floats are truncated toward zero; numeric strings are read as integers,
// or as floats and truncated ("12.7" -> 12); booleans are 1 and 0.
result<value> fn_to_int(const node& call, const record& rec) {
  SLUICE_TRY(v, eval_arg(call, 0, rec));
  auto& j = *v;
  if (j.is_number_integer())
    return v;
  if (j.is_boolean())
    return value{json(int64_t{j.get<bool>() ? 1 : 0})};
  double d = 0;
  if (j.is_number_float()) {
    d = j.get<double>();
  } else if (j.is_string()) {
    auto s = trim_space(j.get_ref<const std::string&>());
    if (s.size() > 1 && s[0] == '+' && s[1] != '-')
      s.remove_prefix(1);
    int64_t i = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (!s.empty() && ec == std::errc{} && ptr == s.data() + s.size())
      return value{json(i)};
    if (!parse_double(s, d))
      return not_convertible("to_int", j, "an integer");
  } else {
    return arg_type_error(call, 0, "a number, a numeric string or a boolean", j);
  }
  double whole = std::trunc(d);
  if (!fits_int64(whole))
    return type_error("to_int: " + preview(j) + " is out of the integer range");
  return value{json(static_cast<int64_t>(whole))};
}

result<value> fn_to_float(const node& call, const record& rec) {
  SLUICE_TRY(v, eval_arg(call, 0, rec));
  auto& j = *v;
  number n;
  if (to_number(j, n))
    return value{json(n.as_double())};
  if (j.is_boolean())
    return value{json(j.get<bool>() ? 1.0 : 0.0)};
  if (j.is_string()) {
    double d = 0;
    if (!parse_double(j.get_ref<const std::string&>(), d))
      return not_convertible("to_float", j, "a float");
    return value{json(d)};
  }
  return arg_type_error(call, 0, "a number, a numeric string or a boolean", j);
}

result<value> fn_to_string(const node& call, const record& rec) {
  SLUICE_TRY(v, eval_arg(call, 0, rec));
  if (v->is_string())
    return v;
  return value{json(dump_compact(*v))};
}

result<value> fn_exists(const node& call, const record& rec) {
  return value{json(rec.get(call.args[0].path) != nullptr)};
}

result<value> fn_coalesce(const node& call, const record& rec) {
  for (size_t i = 0; i < call.args.size(); ++i) {
    SLUICE_TRY(v, eval_arg(call, i, rec));
    if (!v->is_null())
      return v;
  }
  return value{};
}

result<value> fn_if(const node& call, const record& rec) {
  SLUICE_TRY(cond, eval_arg(call, 0, rec));
  if (!cond->is_boolean())
    return type_error(std::string{"if: the condition gave "} + type_name(*cond)
                      + ", expected true or false");
  return eval_arg(call, cond->get<bool>() ? 1 : 2, rec);
}

result<value> fn_now(const node&, const record&) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return value{json(static_cast<int64_t>(ms))};
}

} // namespace

void add_number_functions(std::vector<builtin>& table) {
  table.insert(table.end(), {
    {"round", 1, 1, "round(number)", arg_rule::values, rounding<round_half_away>},
    {"floor", 1, 1, "floor(number)", arg_rule::values, rounding<floor_of>},
    {"ceil", 1, 1, "ceil(number)", arg_rule::values, rounding<ceil_of>},
    {"abs", 1, 1, "abs(number)", arg_rule::values, fn_abs},
    {"min", 1, variadic, "min(number, ...)", arg_rule::values, extreme<-1>},
    {"max", 1, variadic, "max(number, ...)", arg_rule::values, extreme<1>},
    {"to_int", 1, 1, "to_int(value)", arg_rule::values, fn_to_int},
    {"to_float", 1, 1, "to_float(value)", arg_rule::values, fn_to_float},
    {"to_string", 1, 1, "to_string(value)", arg_rule::values, fn_to_string},
    {"exists", 1, 1, "exists(.path)", arg_rule::field_path, fn_exists},
    {"coalesce", 2, variadic, "coalesce(value, value, ...)", arg_rule::values, fn_coalesce},
    {"if", 3, 3, "if(condition, then, else)", arg_rule::values, fn_if},
    {"now", 0, 0, "now()", arg_rule::values, fn_now},
  });
}

} // namespace sluice::expr
