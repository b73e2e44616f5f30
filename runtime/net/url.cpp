#include "net/url.hpp"

#include <cctype>

namespace sluice::net {

namespace {

bool fail(std::string* error, std::string message) {
  if (error)
    *error = std::move(message);
  return false;
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& ch : out)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

bool is_host_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '_';
}

bool is_ipv6_char(char ch) {
  return std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':' || ch == '.';
}

/// Splits "host[:port]" (host possibly "[v6]") into `out`; false with `error` set.
bool parse_authority(std::string_view authority, url_parts& out, std::string* error) {
  if (authority.find('@') != std::string_view::npos)
    return fail(error, "user info (user:password@) in a URL is not supported; "
                       "send credentials in an Authorization header instead");
  std::string_view host;
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return fail(error, "IPv6 host '" + std::string{authority} + "' lacks its closing ']'");
    host = authority.substr(1, close - 1);
    rest = authority.substr(close + 1);
    if (host.empty() || host.find(':') == std::string_view::npos)
      return fail(error, "bad IPv6 host '[" + std::string{host} + "]': expected an address such as [::1]");
    for (char ch : host)
      if (!is_ipv6_char(ch))
        return fail(error, "bad IPv6 host '[" + std::string{host}
                             + "]': only hex digits, ':' and '.' may appear");
    if (!rest.empty() && rest.front() != ':')
      return fail(error, "unexpected '" + std::string{rest} + "' after IPv6 host '["
                           + std::string{host} + "]': expected ':port' or a path");
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
    if (host.empty())
      return fail(error, "the URL has no host: expected http://host[:port]/path");
    for (char ch : host)
      if (!is_host_char(ch))
        return fail(error, "bad character '" + std::string(1, ch) + "' in host '" + std::string{host}
                             + "': a host is letters, digits, '-', '.' or an IPv6 address in brackets");
  }
  out.host = lower(host);
  if (rest.size() > 1) { // ":digits"; a bare ':' means the default port (RFC 3986 3.2.3)
    auto digits = rest.substr(1);
    uint32_t port = 0;
    bool ok = digits.size() <= 5;
    for (char ch : digits) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) {
        ok = false;
        break;
      }
      port = port * 10 + static_cast<uint32_t>(ch - '0');
    }
    if (!ok || port == 0 || port > 65535)
      return fail(error, "bad port '" + std::string{digits} + "': expected a number from 1 to 65535");
    out.port = static_cast<uint16_t>(port);
  }
  return true;
}

} // namespace

std::optional<url_parts> parse_url(const std::string& url, std::string* error) {
  auto sep = url.find("://");
  if (sep == std::string::npos || sep == 0) {
    fail(error, "not an absolute URL: expected http://host[:port]/path or https://...");
    return std::nullopt;
  }
  url_parts out;
  out.scheme = lower(std::string_view{url}.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    fail(error, "unsupported scheme '" + out.scheme + "': expected http:// or https://");
    return std::nullopt;
  }
  std::string_view rest = std::string_view{url}.substr(sep + 3);
  rest = rest.substr(0, rest.find('#'));
  auto path_start = rest.find_first_of("/?");
  if (!parse_authority(rest.substr(0, path_start), out, error))
    return std::nullopt;
  if (out.port == 0)
    out.port = out.scheme == "https" ? 443 : 80;
  std::string_view target = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  for (char ch : target) {
    auto byte = static_cast<unsigned char>(ch);
    if (byte <= 0x20 || byte == 0x7f) {
      fail(error, "the URL's path or query holds a space or control character: percent-encode it");
      return std::nullopt;
    }
  }
  if (target.empty() || target.front() == '?')
    out.target = "/";
  out.target += target;
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto byte = static_cast<unsigned char>(ch);
    if (std::isalnum(byte) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

std::string host_for_display(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

std::string url_for_display(const url_parts& u) {
  bool usual_port = (u.scheme == "http" && u.port == 80) || (u.scheme == "https" && u.port == 443);
  return u.scheme + "://" + host_for_display(u.host)
         + (usual_port ? "" : ":" + std::to_string(u.port)) + u.target.substr(0, u.target.find('?'));
}

} // namespace sluice::net
