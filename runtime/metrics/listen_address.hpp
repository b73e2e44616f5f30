#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace sluice {

/// Where an observer endpoint listens (the console port, the HTTP
/// endpoint): "127.0.0.1:7464", "localhost:9464", "[::1]:9464", ":9464" or
/// just "9464" (host 127.0.0.1). Port 0 asks the system for a free port.
struct listen_address {
  std::string host = "127.0.0.1";
  uint16_t port = 0;

  std::string text() const;
};

/// Parses an address as above; the error says what is wrong and shows the
/// expected form.
result<listen_address> parse_listen_address(const std::string& text);

/// The console port `sluice run` opens when nothing else is configured,
/// and the one `sluice top` attaches to without an address.
constexpr uint16_t default_console_port = 7464;

} // namespace sluice
