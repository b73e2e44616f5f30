#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::net {

/// An absolute http:// or https:// URL taken apart for a request.
struct url_parts {
  std::string scheme; ///< "http" or "https", lower case
  std::string host;   ///< lower case; an IPv6 literal without its brackets ("::1")
  uint16_t port = 0;  ///< the explicit port, else 80 (http) or 443 (https)
  std::string target; ///< path?query as sent on the request line; "/" if empty; no fragment
};

/// Parses an http:// or https:// URL (scheme and host case-insensitive;
/// default ports 80/443; "[::1]" hosts; a fragment is dropped). nullopt if it
/// is not one, and `*error` (when given) says what is wrong. The message
/// never repeats the query or user info, which may hold secrets.
std::optional<url_parts> parse_url(const std::string& url, std::string* error = nullptr);

/// Percent-encodes `text` for a path segment or a query value: RFC 3986
/// unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes
/// %XX (upper-case hex).
std::string percent_encode(std::string_view text);

/// The host as written in a Host header or a message: "[::1]" for IPv6.
std::string host_for_display(const std::string& host);

/// A URL for messages: "http://127.0.0.1:8080/customers/7", without its
/// query (which may hold a key) and with the port only when it is not the
/// scheme's own.
std::string url_for_display(const url_parts& u);

} // namespace sluice::net
