#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/diagnostic.hpp"
#include "core/field_path.hpp"
#include "expr/expression.hpp"

namespace sluice {

/// Reads a stage's `params` object for its kind's factory. Each getter checks
/// the type, reports a problem with its JSON path (e.g.
/// "/stages/2/params/when: column 9: ...") and remembers the key, so that
/// `finish()` can report every key nobody read as an unknown param.
///
///   auto when = p.expression("when", true);
///   auto n = p.integer("count", false, 1, 1'000'000'000);
///   if (!p.finish()) return nullptr;   // errors were reported
class params_reader {
public:
  /// `ordered` (optional) is the same params with keys in the order the user
  /// wrote them; string_map() follows it when given (map's `set` applies in
  /// that order).
  params_reader(const nlohmann::json& params, std::string base_path,
                std::string kind, diagnostics& diags,
                const nlohmann::ordered_json* ordered = nullptr);

  bool has(const std::string& key) const;

  /// The raw value (any JSON), or nullptr if absent; marks the key known.
  const nlohmann::json* raw(const std::string& key);

  std::optional<std::string> string(const std::string& key, bool required);
  std::optional<int64_t> integer(const std::string& key, bool required,
                                 int64_t min, int64_t max);
  std::optional<double> number(const std::string& key, bool required);
  std::optional<bool> boolean(const std::string& key, bool required);
  /// One of `choices`; anything else is an error listing them.
  std::optional<std::string> choice(const std::string& key, bool required,
                                    const std::vector<std::string>& choices);
  std::optional<field_path> path(const std::string& key, bool required);
  std::optional<expr::expression> expression(const std::string& key, bool required);
  /// A list of strings (a single string is accepted as a list of one).
  std::optional<std::vector<std::string>> strings(const std::string& key, bool required);
  /// An object of string values, in the order written.
  std::optional<std::vector<std::pair<std::string, std::string>>>
  string_map(const std::string& key, bool required);

  /// The pipeline's names, for `lineage.*` in the expressions this reader
  /// compiles. The registry sets them from `stage_spec::names` before a
  /// kind's factory runs; without them `lineage.*` is a compile error.
  void names(std::shared_ptr<const trail_names> n) { names_ = std::move(n); }

  /// Compiles `text` as an expression, reporting errors at `json_path`.
  std::optional<expr::expression> compile(const std::string& text,
                                          const std::string& json_path);

  /// Reports an error at params/<key> (or at params itself if key is empty).
  diagnostic& error(const std::string& key, std::string message);

  /// Reports an error at any JSON path (nested params such as
  /// /stages/1/params/schema/properties/x/minimum); counts like error().
  diagnostic& error_at(const std::string& json_path, std::string message);

  /// The JSON pointer of a key: base_path + "/" + escaped key.
  std::string path_of(const std::string& key) const;

  /// The JSON pointer of `sub` inside the object param `key` (a map's `set`
  /// target, a route's name): path_of(key) + "/" + escaped sub. Both are
  /// escaped as RFC 6901 asks (`~` as `~0`, `/` as `~1`).
  std::string path_of(const std::string& key, const std::string& sub) const;

  /// Reports unknown keys; returns true if no error was reported by this reader.
  bool finish();

  bool ok() const noexcept { return errors_ == 0; }
  diagnostics& diags() noexcept { return diags_; }
  const std::string& kind() const noexcept { return kind_; }

private:
  const nlohmann::json& params_;
  const nlohmann::ordered_json* ordered_;
  std::string base_;
  std::string kind_;
  diagnostics& diags_;
  std::shared_ptr<const trail_names> names_;
  std::set<std::string> seen_;
  size_t errors_ = 0;
};

} // namespace sluice
