#include "ops/schema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <unordered_map>

#include "ops/schema_node.hpp"

// Validation: walks the tree schema.cpp compiled.

namespace sluice {

using namespace schema_detail;

// The merge walk over properties relies on objects iterating in key order.
static_assert(std::is_same_v<json::object_comparator_t, std::less<>>,
              "schema validation expects json objects sorted by key");

// -- validating ---------------------------------------------------------------

namespace {

constexpr size_t max_messages = 20;

/// The instance path while walking; rendered only when a message is built.
struct path_stack {
  struct segment {
    const std::string* key; // nullptr: an array index
    size_t index;
  };
  std::vector<segment> segs;

  std::string render() const {
    if (segs.empty())
      return "/";
    std::string out;
    for (auto& s : segs) {
      if (s.key != nullptr)
        append_pointer(out, *s.key);
      else
        out += "/" + std::to_string(s.index);
    }
    return out;
  }
};

/// Collects messages; a validator given none stops at the first failure
/// without building any text (the fast path for anyOf/oneOf/not probes).
struct collector {
  std::vector<std::string> messages;
  size_t total = 0;

  void add(const path_stack& at, const std::string& message) {
    ++total;
    if (messages.size() < max_messages)
      messages.push_back(at.render() + ": " + message);
  }

  std::string joined(const char* sep) const {
    std::string out;
    for (auto& m : messages) {
      if (!out.empty())
        out += sep;
      out += m;
    }
    if (total > messages.size())
      out += std::string{sep} + "... and " + std::to_string(total - messages.size()) + " more";
    return out;
  }
};

// Records a failure: without a collector, returns false at once.
#define SLUICE_SCHEMA_FAIL(message)                                                                \
  do {                                                                                             \
    ok = false;                                                                                    \
    if (out == nullptr)                                                                            \
      return false;                                                                                \
    out->add(path, message);                                                                       \
  } while (false)

// Records that a nested check failed (it reported its own messages).
#define SLUICE_SCHEMA_NESTED_FAILED()                                                              \
  do {                                                                                             \
    ok = false;                                                                                    \
    if (out == nullptr)                                                                            \
      return false;                                                                                \
  } while (false)

unsigned type_bits(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return t_null;
    case json::value_t::boolean:
      return t_boolean;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return t_integer | t_number;
    case json::value_t::number_float: {
      auto d = v.get<double>();
      return std::isfinite(d) && d == std::trunc(d) ? (t_integer | t_number) : t_number;
    }
    case json::value_t::string:
      return t_string;
    case json::value_t::array:
      return t_array;
    case json::value_t::object:
      return t_object;
    default:
      return 0;
  }
}

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "binary";
  }
}

std::string expected_types(const node& n) {
  std::string out;
  for (size_t i = 0; i < n.type_names.size(); ++i) {
    if (i > 0)
      out += i + 1 == n.type_names.size() ? " or " : ", ";
    out += n.type_names[i];
  }
  return out;
}

bool fits_int64(const json& j) {
  return j.is_number_integer()
         && (!j.is_number_unsigned() || j.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
}

// `m` is positive (compile checks it). Integers are tested exactly; anything
// with a float up to a relative error of 1e-9, so 0.3 is a multiple of 0.1.
bool is_multiple(const json& v, const json& m) {
  if (fits_int64(v) && fits_int64(m))
    return v.get<int64_t>() % m.get<int64_t>() == 0;
  if (v.is_number_unsigned() && m.is_number_integer())
    return v.get<uint64_t>() % m.get<uint64_t>() == 0;
  auto q = v.get<double>() / m.get<double>();
  if (!std::isfinite(q))
    return false;
  return std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
}

// Code points of a UTF-8 string: every byte that does not continue one.
uint64_t code_points(const std::string& s) {
  uint64_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

std::string plural(uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

bool check(const node& n, const json& v, path_stack& path, collector* out);

bool check_number(const node& n, const json& v, path_stack& path, collector* out) {
  bool ok = true;
  if (n.minimum && compare_numbers(v, *n.minimum) < 0)
    SLUICE_SCHEMA_FAIL(v.dump() + " is less than the minimum " + n.minimum->dump());
  if (n.maximum && compare_numbers(v, *n.maximum) > 0)
    SLUICE_SCHEMA_FAIL(v.dump() + " is greater than the maximum " + n.maximum->dump());
  if (n.exclusive_minimum && compare_numbers(v, *n.exclusive_minimum) <= 0)
    SLUICE_SCHEMA_FAIL(v.dump() + " is not greater than the exclusive minimum "
                       + n.exclusive_minimum->dump());
  if (n.exclusive_maximum && compare_numbers(v, *n.exclusive_maximum) >= 0)
    SLUICE_SCHEMA_FAIL(v.dump() + " is not less than the exclusive maximum "
                       + n.exclusive_maximum->dump());
  if (n.multiple_of && !is_multiple(v, *n.multiple_of))
    SLUICE_SCHEMA_FAIL(v.dump() + " is not a multiple of " + n.multiple_of->dump());
  return ok;
}

bool check_string(const node& n, const json& v, path_stack& path, collector* out) {
  bool ok = true;
  auto& s = v.get_ref<const std::string&>();
  if (n.min_length || n.max_length) {
    auto len = code_points(s);
    if (n.min_length && len < *n.min_length)
      SLUICE_SCHEMA_FAIL("expected at least " + plural(*n.min_length, "character") + ", got "
                         + std::to_string(len));
    if (n.max_length && len > *n.max_length)
      SLUICE_SCHEMA_FAIL("expected at most " + plural(*n.max_length, "character") + ", got "
                         + std::to_string(len));
  }
  if (n.has_pattern) {
    bool matched = false;
    std::string trouble;
    try {
      matched = std::regex_search(s, n.pattern);
    } catch (const std::regex_error& e) {
      trouble = e.what();
    }
    if (!trouble.empty())
      SLUICE_SCHEMA_FAIL("the pattern '" + n.pattern_text + "' could not be evaluated on "
                         + describe_value(v) + ": " + trouble);
    else if (!matched)
      SLUICE_SCHEMA_FAIL(describe_value(v) + " does not match the pattern '" + n.pattern_text + "'");
  }
  return ok;
}

bool check_array(const node& n, const json& v, path_stack& path, collector* out) {
  bool ok = true;
  if (n.min_items && v.size() < *n.min_items)
    SLUICE_SCHEMA_FAIL("expected at least " + plural(*n.min_items, "item") + ", got "
                       + std::to_string(v.size()));
  if (n.max_items && v.size() > *n.max_items)
    SLUICE_SCHEMA_FAIL("expected at most " + plural(*n.max_items, "item") + ", got "
                       + std::to_string(v.size()));
  if (n.unique_items && v.size() > 1) {
    std::unordered_map<std::string, size_t> seen;
    for (size_t i = 0; i < v.size(); ++i) {
      auto [at, fresh] = seen.emplace(canonical_json(v[i]), i);
      if (!fresh)
        SLUICE_SCHEMA_FAIL("items " + std::to_string(at->second) + " and " + std::to_string(i)
                           + " are equal, but uniqueItems is set");
    }
  }
  if (n.items) {
    for (size_t i = 0; i < v.size(); ++i) {
      path.segs.push_back({nullptr, i});
      bool good = check(*n.items, v[i], path, out);
      path.segs.pop_back();
      if (!good)
        SLUICE_SCHEMA_NESTED_FAILED();
    }
  }
  return ok;
}

bool check_object(const node& n, const json& v, path_stack& path, collector* out) {
  bool ok = true;
  for (auto& name : n.required)
    if (v.find(name) == v.end())
      SLUICE_SCHEMA_FAIL("missing required property '" + name + "'");
  if (n.min_properties && v.size() < *n.min_properties)
    SLUICE_SCHEMA_FAIL("expected at least " + plural(*n.min_properties, "property") + ", got "
                       + std::to_string(v.size()));
  if (n.max_properties && v.size() > *n.max_properties)
    SLUICE_SCHEMA_FAIL("expected at most " + plural(*n.max_properties, "property") + ", got "
                       + std::to_string(v.size()));
  if (n.properties.empty() && !n.additional)
    return ok;
  // Both the instance's keys and `properties` are sorted: walk them together.
  auto prop = n.properties.begin();
  auto end = n.properties.end();
  for (auto it = v.begin(); it != v.end(); ++it) {
    auto& key = it.key();
    while (prop != end && prop->first < key)
      ++prop;
    const node* sub = nullptr;
    if (prop != end && prop->first == key)
      sub = prop->second.get();
    else if (n.additional)
      sub = n.additional.get();
    else
      continue;
    if (sub == n.additional.get() && sub->reject_all) {
      SLUICE_SCHEMA_FAIL("unexpected property '" + key + "' (additionalProperties is false)");
      continue;
    }
    path.segs.push_back({&key, 0});
    bool good = check(*sub, it.value(), path, out);
    path.segs.pop_back();
    if (!good)
      SLUICE_SCHEMA_NESTED_FAILED();
  }
  return ok;
}

// The messages of each failing branch, for anyOf/oneOf reports.
std::string branch_details(const std::vector<node_ptr>& branches, const json& v, path_stack& path) {
  std::string out;
  for (size_t i = 0; i < branches.size(); ++i) {
    collector c;
    if (check(*branches[i], v, path, &c))
      continue;
    if (!out.empty())
      out += "; ";
    out += "#" + std::to_string(i) + ": " + c.joined(", ");
  }
  return out;
}

bool check_combinators(const node& n, const json& v, path_stack& path, collector* out) {
  bool ok = true;
  for (auto& sub : n.all_of)
    if (!check(*sub, v, path, out))
      SLUICE_SCHEMA_NESTED_FAILED();
  if (!n.any_of.empty()) {
    bool any = std::any_of(n.any_of.begin(), n.any_of.end(),
                           [&](const node_ptr& sub) { return check(*sub, v, path, nullptr); });
    if (!any)
      SLUICE_SCHEMA_FAIL("matches no schema in anyOf (" + branch_details(n.any_of, v, path) + ")");
  }
  if (!n.one_of.empty()) {
    std::vector<size_t> matches;
    for (size_t i = 0; i < n.one_of.size() && matches.size() < 2; ++i)
      if (check(*n.one_of[i], v, path, nullptr))
        matches.push_back(i);
    if (matches.empty())
      SLUICE_SCHEMA_FAIL("matches no schema in oneOf (" + branch_details(n.one_of, v, path) + ")");
    else if (matches.size() > 1)
      SLUICE_SCHEMA_FAIL("matches more than one schema in oneOf (#" + std::to_string(matches[0])
                         + " and #" + std::to_string(matches[1]) + "); it must match exactly one");
  }
  if (n.negated && check(*n.negated, v, path, nullptr))
    SLUICE_SCHEMA_FAIL(describe_value(v) + " matches the schema under 'not'");
  return ok;
}

bool check(const node& n, const json& v, path_stack& path, collector* out) {
  bool ok = true;
  if (n.reject_all) {
    SLUICE_SCHEMA_FAIL("no value is allowed here (the schema is false)");
    return ok;
  }
  if (n.types != 0 && (n.types & type_bits(v)) == 0) {
    // Other checks would only add noise about a value of the wrong type.
    SLUICE_SCHEMA_FAIL("expected " + expected_types(n) + ", got " + type_name(v));
    return ok;
  }
  if (n.has_const && v != n.const_value)
    SLUICE_SCHEMA_FAIL("expected the constant " + describe_value(n.const_value) + ", got "
                       + describe_value(v));
  if (n.has_enum
      && std::find(n.enum_values.begin(), n.enum_values.end(), v) == n.enum_values.end())
    SLUICE_SCHEMA_FAIL(describe_value(v) + " is not one of " + describe_value(n.enum_values));
  bool good = true;
  switch (v.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      good = check_number(n, v, path, out);
      break;
    case json::value_t::string:
      good = check_string(n, v, path, out);
      break;
    case json::value_t::array:
      good = check_array(n, v, path, out);
      break;
    case json::value_t::object:
      good = check_object(n, v, path, out);
      break;
    default:
      break;
  }
  if (!good)
    SLUICE_SCHEMA_NESTED_FAILED();
  if (!check_combinators(n, v, path, out))
    SLUICE_SCHEMA_NESTED_FAILED();
  return ok;
}

#undef SLUICE_SCHEMA_FAIL
#undef SLUICE_SCHEMA_NESTED_FAILED

} // namespace

status schema::validate(const json& value) const {
  assert(root_ != nullptr);
  path_stack path;
  if (check(*root_, value, path, nullptr))
    return {};
  // Failed: walk again collecting every message (the fast walk built none).
  collector c;
  check(*root_, value, path, &c);
  return error{errc::schema_violation, c.joined("; ")};
}

} // namespace sluice
