// Built-ins on strings and collections: lower, upper, trim, len, contains,
// starts_with, ends_with, matches, replace, split, join.

#include <regex>
#include <string>

#include "expr/functions.hpp"

namespace sluice::expr {

namespace {

const std::string& str(const value& v) {
  return v->get_ref<const std::string&>();
}

// Evaluates argument i and requires a string.
result<value> string_arg(const node& call, size_t i, const record& rec) {
  SLUICE_TRY(v, eval_arg(call, i, rec));
  if (!v->is_string())
    return arg_type_error(call, i, "a string", *v);
  return v;
}

// lower/upper: ASCII letters only; other bytes (all of UTF-8 beyond ASCII)
// pass through unchanged.
template <bool Upper>
result<value> change_case(const node& call, const record& rec) {
  SLUICE_TRY(v, string_arg(call, 0, rec));
  std::string s = str(v);
  for (auto& c : s) {
    if (Upper && c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
    else if (!Upper && c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return value{json(std::move(s))};
}

result<value> fn_trim(const node& call, const record& rec) {
  SLUICE_TRY(v, string_arg(call, 0, rec));
  constexpr std::string_view space = " \t\n\r\f\v";
  std::string_view s = str(v);
  auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos)
    return value{json("")};
  auto last = s.find_last_not_of(space);
  return value{json(std::string{s.substr(first, last - first + 1)})};
}

result<value> fn_len(const node& call, const record& rec) {
  SLUICE_TRY(v, eval_arg(call, 0, rec));
  if (v->is_string())
    return value{json(static_cast<int64_t>(count_code_points(str(v))))};
  if (v->is_array() || v->is_object())
    return value{json(static_cast<int64_t>(v->size()))};
  return arg_type_error(call, 0, "a string, an array or an object", *v);
}

result<value> fn_contains(const node& call, const record& rec) {
  SLUICE_TRY(hay, eval_arg(call, 0, rec));
  SLUICE_TRY(needle, eval_arg(call, 1, rec));
  if (hay->is_string()) {
    if (!needle->is_string())
      return arg_type_error(call, 1, "a string (to look for in a string)", *needle);
    return value{json(str(hay).find(str(needle)) != std::string::npos)};
  }
  if (hay->is_array()) {
    for (auto& e : *hay)
      if (deep_equal(e, *needle))
        return value{json(true)};
    return value{json(false)};
  }
  return arg_type_error(call, 0, "a string or an array", *hay);
}

template <bool Start>
result<value> affix(const node& call, const record& rec) {
  SLUICE_TRY(s, string_arg(call, 0, rec));
  SLUICE_TRY(a, string_arg(call, 1, rec));
  std::string_view text = str(s);
  std::string_view part = str(a);
  if (part.size() > text.size())
    return value{json(false)};
  auto at = Start ? 0 : text.size() - part.size();
  return value{json(text.compare(at, part.size(), part) == 0)};
}

result<value> fn_matches(const node& call, const record& rec) {
  SLUICE_TRY(s, string_arg(call, 0, rec));
  try {
    return value{json(std::regex_search(str(s), *call.regex))};
  } catch (const std::regex_error& e) {
    // Backtracking can exhaust the matcher's limits on some inputs.
    return error{errc::runtime_error,
                 std::string{"matches: the pattern could not be matched against this "
                             "value ("}
                   + e.what() + "); simplify the pattern"};
  }
}

result<value> fn_replace(const node& call, const record& rec) {
  SLUICE_TRY(s, string_arg(call, 0, rec));
  SLUICE_TRY(from, string_arg(call, 1, rec));
  SLUICE_TRY(to, string_arg(call, 2, rec));
  auto& text = str(s);
  auto& pattern = str(from);
  if (pattern.empty())
    return type_error("replace: the text to replace (argument 2) is empty");
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  for (;;) {
    auto hit = text.find(pattern, at);
    if (hit == std::string::npos)
      break;
    out.append(text, at, hit - at);
    out += str(to);
    at = hit + pattern.size();
  }
  out.append(text, at, std::string::npos);
  return value{json(std::move(out))};
}

// An empty string splits into no parts; an empty separator splits into
// code points.
result<value> fn_split(const node& call, const record& rec) {
  SLUICE_TRY(s, string_arg(call, 0, rec));
  SLUICE_TRY(sep, string_arg(call, 1, rec));
  std::string_view text = str(s);
  std::string_view by = str(sep);
  json parts = json::array();
  if (text.empty())
    return value{std::move(parts)};
  if (by.empty()) {
    size_t i = 0;
    while (i < text.size()) {
      size_t j = i + 1;
      while (j < text.size() && (static_cast<unsigned char>(text[j]) & 0xC0) == 0x80)
        ++j;
      parts.push_back(std::string{text.substr(i, j - i)});
      i = j;
    }
    return value{std::move(parts)};
  }
  size_t at = 0;
  for (;;) {
    auto hit = text.find(by, at);
    if (hit == std::string_view::npos) {
      parts.push_back(std::string{text.substr(at)});
      break;
    }
    parts.push_back(std::string{text.substr(at, hit - at)});
    at = hit + by.size();
  }
  return value{std::move(parts)};
}

// Strings are joined as they are, numbers as their JSON text.
result<value> fn_join(const node& call, const record& rec) {
  SLUICE_TRY(arr, eval_arg(call, 0, rec));
  if (!arr->is_array())
    return arg_type_error(call, 0, "an array", *arr);
  SLUICE_TRY(sep, string_arg(call, 1, rec));
  std::string out;
  size_t k = 0;
  for (auto& e : *arr) {
    if (k > 0)
      out += str(sep);
    if (e.is_string())
      out += e.get_ref<const std::string&>();
    else if (e.is_number())
      out += dump_compact(e);
    else
      return type_error("join: element " + std::to_string(k) + " is " + type_name(e)
                        + "; only strings and numbers can be joined");
    ++k;
  }
  return value{json(std::move(out))};
}

} // namespace

void add_text_functions(std::vector<builtin>& table) {
  table.insert(table.end(), {
    {"lower", 1, 1, "lower(string)", arg_rule::values, change_case<false>},
    {"upper", 1, 1, "upper(string)", arg_rule::values, change_case<true>},
    {"trim", 1, 1, "trim(string)", arg_rule::values, fn_trim},
    {"len", 1, 1, "len(string|array|object)", arg_rule::values, fn_len},
    {"contains", 2, 2, "contains(string|array, value)", arg_rule::values, fn_contains},
    {"starts_with", 2, 2, "starts_with(string, prefix)", arg_rule::values, affix<true>},
    {"ends_with", 2, 2, "ends_with(string, suffix)", arg_rule::values, affix<false>},
    {"matches", 2, 2, "matches(string, \"regex\")", arg_rule::regex, fn_matches},
    {"replace", 3, 3, "replace(string, from, to)", arg_rule::values, fn_replace},
    {"split", 2, 2, "split(string, separator)", arg_rule::values, fn_split},
    {"join", 2, 2, "join(array, separator)", arg_rule::values, fn_join},
  });
}

} // namespace sluice::expr
