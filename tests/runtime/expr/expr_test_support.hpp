#pragma once

#include <string>

#include "core/record.hpp"
#include "expr/expression.hpp"

namespace sluice::expr::testing {

inline record make(json content) {
  return record{"test:1", std::move(content), lineage_trail{}};
}

/// Compiles `text` and evaluates it against a record with `content`. The
/// result as compact JSON (so integer 3 and float 3.0 differ), or
/// "<errc>: <message>" for a failure at either step.
inline std::string run(const std::string& text, const json& content = json::object()) {
  auto compiled = expression::compile(text);
  if (!compiled)
    return std::string{to_string(compiled.err().code)} + ": " + compiled.err().message;
  auto out = compiled->eval(make(content));
  if (!out)
    return std::string{to_string(out.err().code)} + ": " + out.err().message;
  return out->dump();
}

/// The message of a compile error (which must be invalid_config), or
/// "compiled" if `text` compiles.
inline std::string compile_error(const std::string& text) {
  auto compiled = expression::compile(text);
  if (compiled)
    return "compiled";
  if (compiled.err().code != errc::invalid_config)
    return "wrong code: " + std::string{to_string(compiled.err().code)};
  return compiled.err().message;
}

} // namespace sluice::expr::testing
