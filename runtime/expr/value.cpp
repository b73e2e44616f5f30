#include "expr/value.hpp"

#include <cmath>
#include <limits>

namespace sluice::expr {

namespace {

// 2^63 as a double: the first double above every int64.
constexpr double two_pow_63 = 9223372036854775808.0;

// Exact comparison of an integer with a double.
int compare_int_double(int64_t i, double d) noexcept {
  if (std::isnan(d))
    return 2;
  if (d >= two_pow_63)
    return -1;
  if (d < -two_pow_63)
    return 1;
  // -2^63 <= d < 2^63, so its integral part fits int64 exactly.
  double whole = std::trunc(d);
  auto t = static_cast<int64_t>(whole);
  if (i < t)
    return -1;
  if (i > t)
    return 1;
  double frac = d - whole;
  if (frac > 0)
    return -1;
  if (frac < 0)
    return 1;
  return 0;
}

} // namespace

const char* type_name(const json& v) noexcept {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "float";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::binary: return "binary";
    case json::value_t::discarded: break;
  }
  return "invalid";
}

bool to_number(const json& v, number& out) noexcept {
  switch (v.type()) {
    case json::value_t::number_integer:
      out = number{true, v.get<int64_t>(), 0.0};
      return true;
    case json::value_t::number_unsigned: {
      auto u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        out = number{true, static_cast<int64_t>(u), 0.0};
      else
        out = number{false, 0, static_cast<double>(u)};
      return true;
    }
    case json::value_t::number_float:
      out = number{false, 0, v.get<double>()};
      return true;
    default:
      return false;
  }
}

int compare_numbers(const number& a, const number& b) noexcept {
  if (a.is_int && b.is_int)
    return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  if (a.is_int)
    return compare_int_double(a.i, b.d);
  if (b.is_int) {
    int c = compare_int_double(b.i, a.d);
    return c == 2 ? 2 : -c;
  }
  if (a.d < b.d)
    return -1;
  if (a.d > b.d)
    return 1;
  return a.d == b.d ? 0 : 2;
}

bool deep_equal(const json& a, const json& b) noexcept {
  if (a.is_number() && b.is_number()) {
    number x;
    number y;
    to_number(a, x);
    to_number(b, y);
    // Two unsigned integers above INT64_MAX both became doubles; compare
    // them exactly instead.
    if (a.is_number_unsigned() && b.is_number_unsigned())
      return a.get<uint64_t>() == b.get<uint64_t>();
    return compare_numbers(x, y) == 0;
  }
  if (a.type() != b.type())
    return false;
  switch (a.type()) {
    case json::value_t::array: {
      if (a.size() != b.size())
        return false;
      for (size_t k = 0; k < a.size(); ++k)
        if (!deep_equal(a[k], b[k]))
          return false;
      return true;
    }
    case json::value_t::object: {
      if (a.size() != b.size())
        return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        auto other = b.find(it.key());
        if (other == b.end() || !deep_equal(*it, *other))
          return false;
      }
      return true;
    }
    case json::value_t::discarded:
      return false;
    default:
      return a == b;
  }
}

std::string dump_compact(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string preview(const json& v) {
  constexpr size_t limit = 40;
  auto text = dump_compact(v);
  if (text.size() > limit) {
    // Cut at a code point boundary so the message stays valid UTF-8.
    size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

size_t count_code_points(std::string_view s) noexcept {
  size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++n;
  return n;
}

} // namespace sluice::expr
