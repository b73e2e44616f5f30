#include "expr/evaluator.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "core/trail_names.hpp"
#include "expr/functions.hpp"

namespace sluice::expr {

const char* symbol(node_kind kind) noexcept {
  switch (kind) {
    case node_kind::negate: return "-";
    case node_kind::logical_not: return "!";
    case node_kind::multiply: return "*";
    case node_kind::divide: return "/";
    case node_kind::modulo: return "%";
    case node_kind::add: return "+";
    case node_kind::subtract: return "-";
    case node_kind::less: return "<";
    case node_kind::less_equal: return "<=";
    case node_kind::greater: return ">";
    case node_kind::greater_equal: return ">=";
    case node_kind::equal: return "==";
    case node_kind::not_equal: return "!=";
    case node_kind::in: return "in";
    case node_kind::logical_and: return "&&";
    case node_kind::logical_or: return "||";
    case node_kind::literal:
    case node_kind::path:
    case node_kind::array:
    case node_kind::index:
    case node_kind::call:
    case node_kind::lineage: break;
  }
  return "?";
}

namespace {

constexpr const char* null_hint = " (a missing field is null; coalesce(.field, 0) gives a default)";

std::string quoted(node_kind kind) {
  return std::string{"'"} + symbol(kind) + "'";
}

error arithmetic_type_error(node_kind kind, const json& l, const json& r) {
  std::string lt = type_name(l);
  std::string rt = type_name(r);
  auto msg = quoted(kind) + ": ";
  switch (kind) {
    case node_kind::add: msg += "cannot add " + rt + " to " + lt; break;
    case node_kind::subtract: msg += "cannot subtract " + rt + " from " + lt; break;
    case node_kind::multiply: msg += "cannot multiply " + lt + " by " + rt; break;
    case node_kind::divide: msg += "cannot divide " + lt + " by " + rt; break;
    default: msg += "cannot take " + lt + " modulo " + rt; break;
  }
  if (l.is_null() || r.is_null())
    msg += null_hint;
  else if (kind == node_kind::add && (l.is_string() || r.is_string()))
    msg += " (to join text, convert the other side with to_string(...))";
  return type_error(std::move(msg));
}

error overflow(node_kind kind, int64_t a, int64_t b) {
  return type_error(quoted(kind) + ": integer overflow in " + std::to_string(a) + " "
                    + symbol(kind) + " " + std::to_string(b)
                    + " (convert with to_float(...) for an approximate result)");
}

result<value> integer_arithmetic(node_kind kind, int64_t a, int64_t b) {
  int64_t out = 0;
  switch (kind) {
    case node_kind::add:
      if (__builtin_add_overflow(a, b, &out))
        return overflow(kind, a, b);
      break;
    case node_kind::subtract:
      if (__builtin_sub_overflow(a, b, &out))
        return overflow(kind, a, b);
      break;
    case node_kind::multiply:
      if (__builtin_mul_overflow(a, b, &out))
        return overflow(kind, a, b);
      break;
    case node_kind::divide:
      if (b == 0)
        return type_error("'/': division by zero");
      if (a == std::numeric_limits<int64_t>::min() && b == -1)
        return overflow(kind, a, b);
      if (a % b != 0)
        return value{json(static_cast<double>(a) / static_cast<double>(b))};
      out = a / b;
      break;
    default:
      if (b == 0)
        return type_error("'%': modulo by zero");
      // INT64_MIN % -1 overflows in C++, though the answer is 0.
      out = b == -1 ? 0 : a % b;
      break;
  }
  return value{json(out)};
}

result<value> float_arithmetic(node_kind kind, double a, double b) {
  double out = 0;
  switch (kind) {
    case node_kind::add: out = a + b; break;
    case node_kind::subtract: out = a - b; break;
    case node_kind::multiply: out = a * b; break;
    case node_kind::divide:
      if (b == 0)
        return type_error("'/': division by zero");
      out = a / b;
      break;
    default:
      if (b == 0)
        return type_error("'%': modulo by zero");
      out = std::fmod(a, b);
      break;
  }
  if (!std::isfinite(out))
    return type_error(quoted(kind) + ": the result is out of the range of a float");
  return value{json(out)};
}

result<value> arithmetic(node_kind kind, const json& l, const json& r) {
  number a;
  number b;
  if (to_number(l, a) && to_number(r, b)) {
    if (a.is_int && b.is_int)
      return integer_arithmetic(kind, a.i, b.i);
    return float_arithmetic(kind, a.as_double(), b.as_double());
  }
  if (kind == node_kind::add) {
    if (l.is_string() && r.is_string())
      return value{json(l.get_ref<const std::string&>() + r.get_ref<const std::string&>())};
    if (l.is_array() && r.is_array()) {
      json out = l;
      for (auto& e : r)
        out.push_back(e);
      return value{std::move(out)};
    }
  }
  return arithmetic_type_error(kind, l, r);
}

// Ordering: numbers by value, strings bytewise (which is code point order
// for UTF-8). Null on either side makes every ordering false, so a missing
// field fails a test instead of failing the record.
result<value> ordering(node_kind kind, const json& l, const json& r) {
  if (l.is_null() || r.is_null())
    return value{json(false)};
  int c = 0;
  number a;
  number b;
  if (to_number(l, a) && to_number(r, b)) {
    if (l.is_number_unsigned() && r.is_number_unsigned()) {
      auto x = l.get<uint64_t>();
      auto y = r.get<uint64_t>();
      c = x < y ? -1 : (x > y ? 1 : 0);
    } else {
      c = compare_numbers(a, b);
      if (c == 2)
        return value{json(false)};
    }
  } else if (l.is_string() && r.is_string()) {
    c = l.get_ref<const std::string&>().compare(r.get_ref<const std::string&>());
  } else {
    return type_error(quoted(kind) + ": cannot compare " + type_name(l) + " with "
                      + type_name(r) + " (only numbers with numbers and strings with "
                                       "strings)");
  }
  bool out = false;
  switch (kind) {
    case node_kind::less: out = c < 0; break;
    case node_kind::less_equal: out = c <= 0; break;
    case node_kind::greater: out = c > 0; break;
    default: out = c >= 0; break;
  }
  return value{json(out)};
}

result<value> membership(const json& l, const json& r) {
  if (r.is_array()) {
    for (auto& e : r)
      if (deep_equal(l, e))
        return value{json(true)};
    return value{json(false)};
  }
  if (r.is_string()) {
    if (!l.is_string())
      return type_error(std::string{"'in': cannot look for "} + type_name(l)
                        + " in a string (convert it with to_string(...))");
    return value{json(r.get_ref<const std::string&>().find(l.get_ref<const std::string&>())
                      != std::string::npos)};
  }
  if (r.is_object()) {
    if (!l.is_string())
      return type_error(std::string{"'in': object keys are strings, cannot look for "}
                        + type_name(l) + " among them");
    return value{json(r.contains(l.get_ref<const std::string&>()))};
  }
  std::string msg = std::string{"'in': the right side must be an array, a string or an "
                                "object, got "}
                    + type_name(r);
  if (r.is_null())
    msg += " (a missing field is null)";
  return type_error(std::move(msg));
}

[[gnu::noinline]] result<value> binary(node_kind kind, const json& l, const json& r) {
  switch (kind) {
    case node_kind::multiply:
    case node_kind::divide:
    case node_kind::modulo:
    case node_kind::add:
    case node_kind::subtract: return arithmetic(kind, l, r);
    case node_kind::less:
    case node_kind::less_equal:
    case node_kind::greater:
    case node_kind::greater_equal: return ordering(kind, l, r);
    case node_kind::equal: return value{json(deep_equal(l, r))};
    case node_kind::not_equal: return value{json(!deep_equal(l, r))};
    default: return membership(l, r);
  }
}

result<value> negate(const json& v) {
  number n;
  if (!to_number(v, n))
    return type_error(std::string{"'-': cannot negate "} + type_name(v)
                      + (v.is_null() ? null_hint : ""));
  if (!n.is_int)
    return value{json(-n.d)};
  if (n.i == std::numeric_limits<int64_t>::min())
    return type_error("'-': integer overflow negating " + std::to_string(n.i));
  return value{json(-n.i)};
}

// A chain `a && b && c` (or `||`): stops at the first operand that decides.
[[gnu::noinline]] result<value> logical(const node& n, const record& rec) {
  bool is_and = n.kind == node_kind::logical_and;
  auto count = n.args.size();
  for (size_t i = 0; i < count; ++i) {
    auto v = eval_node(n.args[i], rec);
    if (!v)
      return std::move(v.err());
    auto& j = **v;
    if (!j.is_boolean()) {
      std::string where = count == 2 ? (i == 0 ? "the left side" : "the right side")
                                     : "operand " + std::to_string(i + 1);
      std::string msg = quoted(n.kind) + ": " + where + " is " + type_name(j)
                        + ", expected true or false";
      if (j.is_null())
        msg += " (a missing field is null; test it with exists(.field) or .field == true)";
      return type_error(std::move(msg));
    }
    if (j.get<bool>() != is_and)
      return value{json(!is_and)};
  }
  return value{json(is_and)};
}

// A postfix index on a computed value; like a path step, anything but an
// array (or an index out of range) gives null.
[[gnu::noinline]] result<value> index(const node& n, const record& rec) {
  SLUICE_TRY(v, eval_node(n.args[0], rec));
  if (!v->is_array())
    return value{};
  auto size = static_cast<int64_t>(v->size());
  auto idx = n.index < 0 ? n.index + size : n.index;
  if (idx < 0 || idx >= size)
    return value{};
  auto at = static_cast<size_t>(idx);
  if (v.borrowed())
    return value::ref((*v)[at]);
  return value{std::move(v.owned()[at])};
}

// Each kind of node is evaluated by its own function, and eval_node only
// dispatches: the recursion then passes through two small frames per level
// instead of one frame sized for every case at once.

[[gnu::noinline]] result<value> eval_path(const node& n, const record& rec) {
  auto* found = rec.get(n.path);
  return found != nullptr ? value::ref(*found) : value{};
}

// `lineage.<member>`: the record's trail, named through the pipeline's table
// (the parser only builds this node with one).
[[gnu::noinline]] result<value> eval_lineage(const node& n, const record& rec) {
  auto& trail = rec.trail();
  auto& names = *n.names;
  switch (n.member) {
    case lineage_member::source: return value{json(names.stage(trail.origin.source))};
    case lineage_member::file: return value{json(names.file(trail.origin))};
    case lineage_member::line: return value{json(static_cast<int64_t>(trail.origin.line))};
    case lineage_member::path: return value{json(names.path(trail))};
  }
  return value{};
}

[[gnu::noinline]] result<value> eval_array(const node& n, const record& rec) {
  json out = json::array();
  out.get_ref<json::array_t&>().reserve(n.args.size());
  for (auto& element : n.args) {
    SLUICE_TRY(v, eval_node(element, rec));
    out.push_back(std::move(v).take());
  }
  return value{std::move(out)};
}

// The hot paths below read operands in place from their results instead of
// moving them out (SLUICE_TRY would): fewer json moves per node.

[[gnu::noinline]] result<value> eval_negate(const node& n, const record& rec) {
  auto v = eval_node(n.args[0], rec);
  if (!v)
    return std::move(v.err());
  return negate(**v);
}

[[gnu::noinline]] result<value> eval_not(const node& n, const record& rec) {
  auto v = eval_node(n.args[0], rec);
  if (!v)
    return std::move(v.err());
  auto& j = **v;
  if (!j.is_boolean())
    return type_error(std::string{"'!': expected true or false, got "} + type_name(j));
  return value{json(!j.get<bool>())};
}

[[gnu::noinline]] result<value> eval_binary(const node& n, const record& rec) {
  auto l = eval_node(n.args[0], rec);
  if (!l)
    return std::move(l.err());
  auto r = eval_node(n.args[1], rec);
  if (!r)
    return std::move(r.err());
  return binary(n.kind, **l, **r);
}

} // namespace

result<value> eval_node(const node& n, const record& rec) {
  switch (n.kind) {
    case node_kind::literal: return value::ref(n.literal);
    case node_kind::path: return eval_path(n, rec);
    case node_kind::array: return eval_array(n, rec);
    case node_kind::index: return index(n, rec);
    case node_kind::call: return n.fn->fn(n, rec);
    case node_kind::lineage: return eval_lineage(n, rec);
    case node_kind::negate: return eval_negate(n, rec);
    case node_kind::logical_not: return eval_not(n, rec);
    case node_kind::logical_and:
    case node_kind::logical_or: return logical(n, rec);
    default: return eval_binary(n, rec);
  }
}

} // namespace sluice::expr
