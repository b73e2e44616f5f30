#pragma once

#include <string>
#include <vector>

namespace sluice {

/// `key` as one segment of a JSON pointer (RFC 6901): `~` as `~0`, `/` as
/// `~1`, so "a/b" stays one step in "/params/set/a~1b".
std::string json_pointer_escape(const std::string& key);

/// One thing a user is told about their config or data: where (file, JSON
/// pointer into the config, and for text a line and column), what, and a
/// hint on what to do. Config validation collects every problem at once.
struct diagnostic {
  enum class level { error, warning };

  level severity = level::error;
  std::string file;      ///< e.g. "configs/examples/orders.json"
  std::string json_path; ///< JSON pointer, e.g. "/stages/3/params/when"
  std::string message;   ///< what is wrong, e.g. "column 9: expected ..."
  std::string hint;      ///< what to do about it (may be empty)

  /// "orders.json: /stages/3/params/when: column 9: expected ... (hint: ...)"
  std::string render() const;
};

/// Collects diagnostics; adding the same one twice keeps one.
class diagnostics {
public:
  explicit diagnostics(std::string file = {}) : file_(std::move(file)) {}

  /// Adds an error at `json_path`; returns it so a hint can be chained:
  ///   diags.error("/stages/2/type", "unknown stage type 'mapp'").hint = "...";
  diagnostic& error(std::string json_path, std::string message);
  diagnostic& warning(std::string json_path, std::string message);

  bool has_errors() const;
  const std::vector<diagnostic>& all() const noexcept { return items_; }
  const std::string& file() const noexcept { return file_; }
  void file(std::string f) { file_ = std::move(f); }

  /// Every diagnostic, one per line, in the order they were found.
  std::string render() const;

private:
  diagnostic& add(diagnostic::level lvl, std::string path, std::string msg);

  std::string file_;
  std::vector<diagnostic> items_;
};

} // namespace sluice
