#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {

namespace schema_detail {
struct node; // the compiled tree; private to schema.cpp
} // namespace schema_detail

/// One problem found while compiling a schema: where (a JSON pointer into the
/// schema: "" for its root, "/properties/amount/minimum") and what.
struct schema_problem {
  std::string pointer;
  std::string message;

  /// "properties/amount/minimum: expected a number" (no leading slash).
  std::string render() const;
};

/// A compiled JSON Schema of the subset docs/stages.md (`validate`) lists.
///
/// Compile once, when the pipeline is loaded; `validate` walks a tree of
/// precompiled checks (no keyword lookups, regexes compiled once) and is
/// const: one schema may be shared by several replicas. Unknown keywords are
/// compile errors, never silently ignored; annotations (title, format, ...)
/// are accepted and have no effect.
///
///   std::vector<schema_problem> problems;
///   auto s = schema::compile(j, &problems);   // problems: one per mistake
///   if (auto st = s->validate(value); !st) report(st.err().message);
class schema {
public:
  schema() = default;

  /// Compiles `s`. On failure the error (errc::invalid_config) lists every
  /// problem joined with "; ", and `problems`, if given, receives each one
  /// so a caller can report it at its own JSON path.
  static result<schema> compile(const json& s, std::vector<schema_problem>* problems = nullptr);

  /// Checks `value`. A failure (errc::schema_violation) names each broken
  /// rule with its instance path, joined with "; " (at most 20, then
  /// "... and N more"):
  /// "/amount: -5 is less than the minimum 0; /: missing required property 'user'".
  status validate(const json& value) const;

  bool valid() const noexcept { return root_ != nullptr; }

private:
  std::shared_ptr<const schema_detail::node> root_;
};

// -- JSON value helpers shared by validate, dedupe and aggregate ------------

/// A JSON value as canonical compact text: objects with sorted keys (as
/// nlohmann keeps them) and numbers by value, so 2 and 2.0 give "2". Two
/// values are equal in JSON terms exactly when their texts are equal. Used
/// for uniqueItems, dedupe keys, group keys and distinct_count.
std::string canonical_json(const json& value);

/// Compares two JSON numbers by value: integers exactly (signed or
/// unsigned), anything involving a float as doubles. Returns <0, 0 or >0.
int compare_numbers(const json& a, const json& b);

/// A JSON value for a message: compact, cut to about 60 characters.
std::string describe_value(const json& value);

/// Appends `key` to a JSON pointer as a new segment ("/" + key with '~' and
/// '/' escaped, RFC 6901).
void append_pointer(std::string& pointer, std::string_view key);

/// The candidate closest to a misspelt `word` (edit distance at most 2 and
/// less than half its length), or "" if none is close: for "did you mean".
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

} // namespace sluice
