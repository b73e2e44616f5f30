#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/params.hpp"
#include "core/record.hpp"
#include "expr/expression.hpp"

namespace sluice {

/// A text with `{expression}` holes, as in an `http` stage's url:
/// "https://api.example.com/customers/{.customer_id}?tier={.tier}". `{{`
/// and `}}` stand for literal braces. Each hole's value is inserted
/// percent-encoded (a string as its text, a number as written, anything
/// else as compact JSON); a null or missing value fails the record, since
/// a request to ".../customers/" is never what was meant.
class text_template {
public:
  /// Compiles `text`; problems go to `p` at `json_path`.
  static std::optional<text_template> compile(const std::string& text, const std::string& json_path,
                                              params_reader& p);

  result<std::string> render(const record& rec) const;

  bool has_holes() const noexcept { return holes_ > 0; }
  const std::string& text() const noexcept { return text_; }

private:
  struct piece {
    std::string literal;
    std::optional<expr::expression> hole;
  };
  std::string text_;
  std::vector<piece> parts_;
  size_t holes_ = 0;
};

/// A JSON value whose strings are expressions, as in a map's `set`:
/// {"id": ".customer_id", "source": "'sluice'", "n": 3}. Objects and arrays
/// are walked; numbers, booleans and null are taken as written; a string is
/// compiled as an expression and replaced by its value per record.
class json_template {
public:
  static std::optional<json_template> compile(const nlohmann::json& value,
                                              const std::string& json_path, params_reader& p);

  result<nlohmann::json> render(const record& rec) const;

private:
  struct node {
    enum class kind_t { literal, expression, object, array } kind = kind_t::literal;
    nlohmann::json literal;
    std::optional<expr::expression> expr;
    std::vector<std::pair<std::string, node>> members; ///< objects (keys) and arrays (keys empty)
  };
  static bool compile_node(const nlohmann::json& v, const std::string& at, params_reader& p, node& out);
  static result<nlohmann::json> render_node(const node& n, const record& rec);
  node root_;
};

} // namespace sluice
