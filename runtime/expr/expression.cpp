#include "expr/expression.hpp"

#include <exception>

#include "expr/evaluator.hpp"
#include "expr/parser.hpp"

namespace sluice::expr {

result<expression> expression::compile(std::string_view text,
                                       std::shared_ptr<const trail_names> names) {
  try {
    auto root = parse(text, std::move(names));
    if (!root)
      return root.err();
    expression e;
    e.text_ = std::string{text};
    e.root_ = std::move(*root);
    return e;
  } catch (const std::exception& ex) {
    // Only resource exhaustion can get here (the parser reports bad input
    // as values); compile still promises not to throw.
    return error{errc::invalid_config,
                 std::string{"could not compile the expression: "} + ex.what()};
  }
}

result<json> expression::eval(const record& rec) const {
  if (root_ == nullptr)
    return error{errc::runtime_error, "evaluated an expression that was never compiled"};
  try {
    auto v = eval_node(*root_, rec);
    if (!v)
      return std::move(v.err());
    return std::move(*v).take();
  } catch (const std::exception& ex) {
    return error{errc::runtime_error,
                 "expression '" + text_ + "' failed: " + ex.what()};
  }
}

result<bool> expression::test(const record& rec) const {
  if (root_ == nullptr)
    return error{errc::runtime_error, "evaluated an expression that was never compiled"};
  try {
    auto v = eval_node(*root_, rec);
    if (!v)
      return std::move(v.err());
    if (!(*v)->is_boolean()) {
      std::string msg = "expression '" + text_ + "' gave " + type_name(**v)
                        + ", expected true or false";
      if ((*v)->is_null())
        msg += " (a missing field is null; exists(.field) tests for presence)";
      return error{errc::type_error, std::move(msg)};
    }
    return (*v)->get<bool>();
  } catch (const std::exception& ex) {
    return error{errc::runtime_error,
                 "expression '" + text_ + "' failed: " + ex.what()};
  }
}

} // namespace sluice::expr
