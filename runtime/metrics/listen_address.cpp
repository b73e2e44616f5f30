#include "metrics/listen_address.hpp"

#include <cctype>

namespace sluice {

std::string listen_address::text() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

result<listen_address> parse_listen_address(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return error{errc::invalid_config, "'" + text + "' is not a listen address: " + why
                                         + " (expected HOST:PORT, e.g. 127.0.0.1:9464, or a port)"};
  };
  listen_address out;
  std::string port_text = text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos)
      return bad("the '[' of an IPv6 address is not closed");
    out.host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return bad("a port must follow the IPv6 address");
    port_text = text.substr(close + 2);
  } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
    if (text.find(':') != colon)
      return bad("write an IPv6 address in brackets, e.g. [::1]:9464");
    if (colon > 0)
      out.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty())
    return bad("the host is empty");
  if (port_text.empty())
    return bad("the port is missing");
  unsigned long port = 0;
  for (char ch : port_text) {
    if (!std::isdigit(static_cast<unsigned char>(ch)))
      return bad("the port '" + port_text + "' is not a number");
    port = port * 10 + static_cast<unsigned long>(ch - '0');
    if (port > 65535)
      return bad("the port is above 65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

} // namespace sluice
