#include "ops/schema.hpp"

#include <algorithm>
#include <cmath>

#include "ops/schema_node.hpp"

namespace sluice {

using namespace schema_detail;

// -- shared helpers -----------------------------------------------------------

namespace {

constexpr double int64_limit = 9223372036854775808.0; // 2^63

void write_canonical(const json& v, std::string& out) {
  switch (v.type()) {
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto& [key, item] : v.items()) {
        if (!first)
          out.push_back(',');
        first = false;
        out += json(key).dump();
        out.push_back(':');
        write_canonical(item, out);
      }
      out.push_back('}');
      return;
    }
    case json::value_t::array: {
      out.push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0)
          out.push_back(',');
        write_canonical(v[i], out);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::number_float: {
      auto d = v.get<double>();
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < int64_limit) {
        out += std::to_string(static_cast<int64_t>(d));
        return;
      }
      out += v.dump();
      return;
    }
    default:
      out += v.dump();
  }
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

} // namespace

std::string canonical_json(const json& value) {
  std::string out;
  write_canonical(value, out);
  return out;
}

int compare_numbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    bool au = a.is_number_unsigned();
    bool bu = b.is_number_unsigned();
    if (!au && !bu) {
      auto x = a.get<int64_t>();
      auto y = b.get<int64_t>();
      return (x > y) - (x < y);
    }
    // A negative signed value is below every unsigned one.
    if (!au && a.get<int64_t>() < 0)
      return -1;
    if (!bu && b.get<int64_t>() < 0)
      return 1;
    auto x = a.get<uint64_t>();
    auto y = b.get<uint64_t>();
    return (x > y) - (x < y);
  }
  auto x = a.get<double>();
  auto y = b.get<double>();
  return (x > y) - (x < y);
}

std::string describe_value(const json& value) {
  auto text = value.dump();
  if (text.size() > 60) {
    // Cut on a UTF-8 character boundary.
    size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

void append_pointer(std::string& pointer, std::string_view key) {
  pointer.push_back('/');
  for (char c : key) {
    if (c == '~')
      pointer += "~0";
    else if (c == '/')
      pointer += "~1";
    else
      pointer.push_back(c);
  }
}

std::string closest_name(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;
  for (auto& c : candidates) {
    auto d = edit_distance(word, c);
    if (d < best_distance && d * 2 < std::max<size_t>(word.size(), 2)) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string schema_problem::render() const {
  if (pointer.empty())
    return message;
  return pointer.substr(1) + ": " + message;
}

// -- compiling ----------------------------------------------------------------

namespace {

const std::vector<std::pair<std::string, unsigned>>& type_table() {
  static const std::vector<std::pair<std::string, unsigned>> table = {
    {"null", t_null},     {"boolean", t_boolean}, {"integer", t_integer}, {"number", t_number},
    {"string", t_string}, {"array", t_array},     {"object", t_object},
  };
  return table;
}

// Keywords that only describe; accepted and without effect. `format` is
// among them: sluice does not assert formats (docs/stages.md).
const std::vector<std::string>& annotation_keywords() {
  static const std::vector<std::string> names = {
    "title", "description", "$schema", "$id", "$comment", "default", "examples", "format",
  };
  return names;
}

// JSON Schema keywords outside the supported subset: named as such, so a
// user is not told that a real keyword is a typo.
const std::vector<std::string>& unsupported_keywords() {
  static const std::vector<std::string> names = {
    "$defs",           "definitions",       "patternProperties",     "propertyNames",
    "dependencies",    "dependentRequired", "dependentSchemas",      "if",
    "then",            "else",              "contains",              "minContains",
    "maxContains",     "prefixItems",       "additionalItems",       "unevaluatedItems",
    "unevaluatedProperties", "$anchor",     "$dynamicRef",           "$recursiveRef",
    "contentEncoding", "contentMediaType",  "contentSchema",
  };
  return names;
}

/// Builds the node tree and collects every problem with its pointer.
class compiler {
public:
  std::vector<schema_problem> problems;

  node_ptr compile(const json& s, const std::string& ptr) {
    auto n = std::make_unique<node>();
    if (s.is_boolean()) {
      n->reject_all = !s.get<bool>();
      return n;
    }
    if (!s.is_object()) {
      problem(ptr, "expected a schema (an object, or true/false), got " + describe_value(s));
      return n;
    }
    for (auto& [key, value] : s.items()) {
      auto at = ptr;
      append_pointer(at, key);
      keyword(*n, key, value, at);
    }
    return n;
  }

private:
  using handler = void (compiler::*)(node&, const json&, const std::string&);

  static const std::vector<std::pair<std::string, handler>>& handlers() {
    static const std::vector<std::pair<std::string, handler>> table = {
      {"type", &compiler::on_type},
      {"enum", &compiler::on_enum},
      {"const", &compiler::on_const},
      {"minimum", &compiler::on_minimum},
      {"maximum", &compiler::on_maximum},
      {"exclusiveMinimum", &compiler::on_exclusive_minimum},
      {"exclusiveMaximum", &compiler::on_exclusive_maximum},
      {"multipleOf", &compiler::on_multiple_of},
      {"minLength", &compiler::on_min_length},
      {"maxLength", &compiler::on_max_length},
      {"pattern", &compiler::on_pattern},
      {"items", &compiler::on_items},
      {"minItems", &compiler::on_min_items},
      {"maxItems", &compiler::on_max_items},
      {"uniqueItems", &compiler::on_unique_items},
      {"required", &compiler::on_required},
      {"properties", &compiler::on_properties},
      {"additionalProperties", &compiler::on_additional},
      {"minProperties", &compiler::on_min_properties},
      {"maxProperties", &compiler::on_max_properties},
      {"anyOf", &compiler::on_any_of},
      {"allOf", &compiler::on_all_of},
      {"oneOf", &compiler::on_one_of},
      {"not", &compiler::on_not},
    };
    return table;
  }

  void problem(const std::string& ptr, std::string message) {
    problems.push_back(schema_problem{ptr, std::move(message)});
  }

  void keyword(node& n, const std::string& key, const json& value, const std::string& at) {
    for (auto& [name, fn] : handlers())
      if (name == key)
        return (this->*fn)(n, value, at);
    auto& notes = annotation_keywords();
    if (std::find(notes.begin(), notes.end(), key) != notes.end())
      return;
    if (key == "$ref")
      return problem(at, "$ref is not supported: a schema must be self-contained; "
                         "inline the referenced schema here");
    auto& unsupported = unsupported_keywords();
    if (std::find(unsupported.begin(), unsupported.end(), key) != unsupported.end())
      return problem(at, "schema keyword '" + key + "' is not supported by sluice "
                         "(see the validate section of docs/stages.md)");
    std::vector<std::string> known = notes;
    for (auto& h : handlers())
      known.push_back(h.first);
    auto msg = "unknown schema keyword '" + key + "'";
    if (auto near = closest_name(key, known); !near.empty())
      msg += " (did you mean '" + near + "'?)";
    problem(at, std::move(msg));
  }

  // -- keyword handlers -------------------------------------------------------

  void on_type(node& n, const json& v, const std::string& at) {
    auto add = [&](const json& name, const std::string& where) {
      if (!name.is_string())
        return problem(where, "expected a type name, got " + describe_value(name));
      auto text = name.get<std::string>();
      for (auto& [tname, bit] : type_table()) {
        if (tname != text)
          continue;
        if ((n.types & bit) != 0)
          return problem(where, "type '" + text + "' is listed twice");
        n.types |= bit;
        n.type_names.push_back(text);
        return;
      }
      std::vector<std::string> names;
      for (auto& t : type_table())
        names.push_back(t.first);
      auto msg = "unknown type '" + text + "'";
      if (auto near = closest_name(text, names); !near.empty())
        msg += " (did you mean '" + near + "'?)";
      problem(where, msg + "; types are null, boolean, integer, number, string, array, object");
    };
    if (v.is_string())
      return add(v, at);
    if (!v.is_array() || v.empty())
      return problem(at, "expected a type name or a non-empty list of them");
    for (size_t i = 0; i < v.size(); ++i)
      add(v[i], at + "/" + std::to_string(i));
  }

  void on_enum(node& n, const json& v, const std::string& at) {
    if (!v.is_array() || v.empty())
      return problem(at, "expected a non-empty list of values");
    n.has_enum = true;
    n.enum_values = v;
  }

  void on_const(node& n, const json& v, const std::string&) {
    n.has_const = true;
    n.const_value = v;
  }

  std::optional<json> number(const json& v, const std::string& at) {
    if (!v.is_number()) {
      problem(at, "expected a number, got " + describe_value(v));
      return std::nullopt;
    }
    return v;
  }

  void on_minimum(node& n, const json& v, const std::string& at) { n.minimum = number(v, at); }
  void on_maximum(node& n, const json& v, const std::string& at) { n.maximum = number(v, at); }

  void on_exclusive_minimum(node& n, const json& v, const std::string& at) {
    if (v.is_boolean())
      return problem(at, "expected a number: the draft-4 boolean form is not supported; "
                         "write \"exclusiveMinimum\": <bound> instead of minimum plus true");
    n.exclusive_minimum = number(v, at);
  }

  void on_exclusive_maximum(node& n, const json& v, const std::string& at) {
    if (v.is_boolean())
      return problem(at, "expected a number: the draft-4 boolean form is not supported; "
                         "write \"exclusiveMaximum\": <bound> instead of maximum plus true");
    n.exclusive_maximum = number(v, at);
  }

  void on_multiple_of(node& n, const json& v, const std::string& at) {
    if (!v.is_number() || v.get<double>() <= 0)
      return problem(at, "expected a number greater than 0, got " + describe_value(v));
    n.multiple_of = v;
  }

  std::optional<uint64_t> count(const json& v, const std::string& at) {
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0))
      return v.get<uint64_t>();
    if (v.is_number_float() && v.get<double>() >= 0 && v.get<double>() == std::trunc(v.get<double>())
        && v.get<double>() < int64_limit)
      return static_cast<uint64_t>(v.get<double>());
    problem(at, "expected a non-negative integer, got " + describe_value(v));
    return std::nullopt;
  }

  void on_min_length(node& n, const json& v, const std::string& at) { n.min_length = count(v, at); }
  void on_max_length(node& n, const json& v, const std::string& at) { n.max_length = count(v, at); }
  void on_min_items(node& n, const json& v, const std::string& at) { n.min_items = count(v, at); }
  void on_max_items(node& n, const json& v, const std::string& at) { n.max_items = count(v, at); }
  void on_min_properties(node& n, const json& v, const std::string& at) {
    n.min_properties = count(v, at);
  }
  void on_max_properties(node& n, const json& v, const std::string& at) {
    n.max_properties = count(v, at);
  }

  void on_pattern(node& n, const json& v, const std::string& at) {
    if (!v.is_string())
      return problem(at, "expected a regular expression string, got " + describe_value(v));
    n.pattern_text = v.get<std::string>();
    try {
      n.pattern = std::regex(n.pattern_text, std::regex::ECMAScript);
      n.has_pattern = true;
    } catch (const std::regex_error& e) {
      problem(at, "invalid regular expression '" + n.pattern_text + "': " + e.what());
    }
  }

  void on_items(node& n, const json& v, const std::string& at) {
    if (v.is_array())
      return problem(at, "expected a schema applied to every element; the list (tuple) "
                         "form of items is not supported");
    n.items = compile(v, at);
  }

  void on_unique_items(node& n, const json& v, const std::string& at) {
    if (!v.is_boolean())
      return problem(at, "expected true or false, got " + describe_value(v));
    n.unique_items = v.get<bool>();
  }

  void on_required(node& n, const json& v, const std::string& at) {
    if (!v.is_array())
      return problem(at, "expected a list of property names");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) {
        problem(at + "/" + std::to_string(i), "expected a property name, got " + describe_value(v[i]));
        continue;
      }
      n.required.push_back(v[i].get<std::string>());
    }
  }

  void on_properties(node& n, const json& v, const std::string& at) {
    if (!v.is_object())
      return problem(at, "expected an object of property name -> schema");
    // Iterating a json object yields keys in sorted order: `properties` stays
    // sorted, which the validator's merge walk relies on.
    for (auto& [key, sub] : v.items()) {
      auto where = at;
      append_pointer(where, key);
      n.properties.emplace_back(key, compile(sub, where));
    }
  }

  void on_additional(node& n, const json& v, const std::string& at) {
    if (v.is_boolean() && v.get<bool>())
      return; // the default
    n.additional = compile(v, at);
  }

  void list(std::vector<node_ptr>& out, const json& v, const std::string& at) {
    if (!v.is_array() || v.empty())
      return problem(at, "expected a non-empty list of schemas");
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(compile(v[i], at + "/" + std::to_string(i)));
  }

  void on_any_of(node& n, const json& v, const std::string& at) { list(n.any_of, v, at); }
  void on_all_of(node& n, const json& v, const std::string& at) { list(n.all_of, v, at); }
  void on_one_of(node& n, const json& v, const std::string& at) { list(n.one_of, v, at); }
  void on_not(node& n, const json& v, const std::string& at) { n.negated = compile(v, at); }
};

} // namespace

result<schema> schema::compile(const json& s, std::vector<schema_problem>* problems) {
  compiler c;
  auto root = c.compile(s, "");
  if (!c.problems.empty()) {
    std::string msg;
    for (auto& p : c.problems) {
      if (!msg.empty())
        msg += "; ";
      msg += p.render();
    }
    if (problems != nullptr)
      *problems = std::move(c.problems);
    return error{errc::invalid_config, std::move(msg)};
  }
  schema result;
  result.root_ = std::move(root);
  return result;
}

} // namespace sluice
