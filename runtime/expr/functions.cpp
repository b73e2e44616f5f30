#include "expr/functions.hpp"

#include <algorithm>
#include <string>

namespace sluice::expr {

const std::vector<builtin>& builtins() {
  // Built on first use; C++ guarantees that is thread-safe.
  static const std::vector<builtin> table = [] {
    std::vector<builtin> t;
    add_number_functions(t);
    add_text_functions(t);
    std::sort(t.begin(), t.end(),
              [](const builtin& a, const builtin& b) { return a.name < b.name; });
    return t;
  }();
  return table;
}

const builtin* find_builtin(std::string_view name) noexcept {
  auto& table = builtins();
  auto it = std::lower_bound(table.begin(), table.end(), name,
                             [](const builtin& b, std::string_view n) { return b.name < n; });
  return it != table.end() && it->name == name ? &*it : nullptr;
}

error arg_type_error(const node& call, size_t i, const char* expected, const json& got) {
  std::string msg{call.fn->name};
  if (call.fn->max_args == 1)
    msg += std::string{": expected "} + expected + ", got " + type_name(got);
  else
    msg += ": argument " + std::to_string(i + 1) + " must be " + expected + ", got "
           + type_name(got);
  if (got.is_null())
    msg += " (a missing field is null)";
  return type_error(std::move(msg));
}

} // namespace sluice::expr
