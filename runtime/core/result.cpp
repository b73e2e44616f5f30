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
  }
  return "unknown";
}

} // namespace sluice
