#include "core/result.hpp"

namespace sluice {

const char* to_string(errc code) {
  switch (code) {
    case errc::invalid_config: return "invalid_config";
    case errc::parse_error: return "parse_error";
    case errc::type_error: return "type_error";
    case errc::schema_violation: return "schema_violation";
    case errc::io_error: return "io_error";
    case errc::runtime_error: return "runtime_error";
    case errc::transient: return "transient";
    case errc::crash: return "crash";
  }
  return "unknown";
}

const std::vector<errc>& all_errcs() {
  static const std::vector<errc> all{
    errc::invalid_config, errc::parse_error, errc::type_error, errc::schema_violation,
    errc::io_error,       errc::runtime_error, errc::transient, errc::crash,
  };
  return all;
}

std::optional<errc> errc_from_string(std::string_view name) {
  for (auto c : all_errcs())
    if (name == to_string(c))
      return c;
  return std::nullopt;
}

} // namespace sluice
