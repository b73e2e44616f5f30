#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {
struct trail_names; // core/trail_names.hpp
}

namespace sluice::expr {

struct node; // the compiled tree; private to expr/

/// A compiled expression of sluice's expression language (docs/expressions.md).
///
/// Rules:
/// 1. `compile` parses the text once, when the pipeline is loaded; evaluation
///    never re-parses. A syntax error names the 1-based column and what was
///    expected: "column 9: expected an expression after '&&'".
/// 2. `eval` is const and thread-compatible: one compiled expression may be
///    evaluated from several stage replicas at once (it holds no mutable state).
/// 3. A run-time type error (a string times a number, `len` of a number, ...)
///    is returned as errc::type_error for that record only; it never throws.
/// 4. A missing field evaluates to null.
/// 5. `lineage.source`, `.file`, `.line` and `.path` read the record's trail
///    through `names` (the pipeline's stage and file names, shared, kept
///    alive by the compiled tree). Compiled without names, an expression
///    using `lineage.` is a compile error saying they are not available.
class expression {
public:
  expression() = default;

  static result<expression> compile(std::string_view text,
                                    std::shared_ptr<const trail_names> names = nullptr);

  /// Evaluates against one record.
  result<json> eval(const record& rec) const;

  /// Evaluates and requires a boolean (filter, route predicates). A
  /// non-boolean result is a type error naming the expression.
  result<bool> test(const record& rec) const;

  /// The source text, for messages.
  const std::string& text() const noexcept { return text_; }

  bool valid() const noexcept { return root_ != nullptr; }

private:
  std::string text_;
  std::shared_ptr<const node> root_;
};

} // namespace sluice::expr
