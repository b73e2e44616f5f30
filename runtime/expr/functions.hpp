#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/record.hpp"
#include "core/result.hpp"
#include "expr/evaluator.hpp"
#include "expr/node.hpp"
#include "expr/value.hpp"

namespace sluice::expr {

/// Evaluates a call node. Each function evaluates its own arguments, so
/// `if` and `coalesce` can be lazy.
using builtin_fn = result<value> (*)(const node& call, const record& rec);

/// What the parser must check about a function's arguments beyond arity.
enum class arg_rule : uint8_t {
  values,     ///< any expressions
  field_path, ///< exists(): the one argument is a field path
  regex,      ///< matches(): argument 2 is a string literal, compiled once
};

/// `max_args` of a function taking any number of arguments.
constexpr uint8_t variadic = 255;

/// One built-in function: its name, arity, signature for messages and docs,
/// and implementation. The parser resolves a call to a `builtin*` once, so
/// evaluation never looks a name up.
struct builtin {
  std::string_view name;
  uint8_t min_args = 0;
  uint8_t max_args = 0;
  std::string_view signature; ///< "round(number)"
  arg_rule rule = arg_rule::values;
  builtin_fn fn = nullptr;
};

/// Every built-in, in alphabetical order. Built once, never modified.
const std::vector<builtin>& builtins();

/// The built-in called `name`, or nullptr.
const builtin* find_builtin(std::string_view name) noexcept;

/// The registrations of each group, called once to build the table.
void add_number_functions(std::vector<builtin>& table);
void add_text_functions(std::vector<builtin>& table);

// -- helpers for implementations ----------------------------------------------

inline result<value> eval_arg(const node& call, size_t i, const record& rec) {
  return eval_node(call.args[i], rec);
}

/// "round: expected a number, got string" for a one-argument function,
/// "replace: argument 2 must be a string, got integer" otherwise.
error arg_type_error(const node& call, size_t i, const char* expected, const json& got);

} // namespace sluice::expr
