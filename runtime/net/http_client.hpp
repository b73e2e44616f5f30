#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/url.hpp"

namespace sluice::net {

/// How an https request checks its peer.
struct tls_options {
  bool verify = true;  ///< verify the chain and that the certificate names the URL's host
  std::string ca_file; ///< PEM file of trusted CAs; empty: the system's default paths
};

/// One HTTP/1.1 exchange to make. Headers are sent as given (a Host,
/// User-Agent or Content-Length given here replaces the client's own); the
/// client never logs them, nor the body, nor the URL's query.
struct http_request {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint32_t timeout_ms = 30000; ///< the whole exchange: resolve, connect, TLS, write and read
  tls_options tls;
};

/// Whether two header names are the same (HTTP header names ignore case).
bool same_header_name(std::string_view a, std::string_view b);

/// What came back. `status` 0 means no HTTP response arrived and `error`
/// says why; with a status, `error` is empty (a 4xx/5xx is not an error here).
struct http_response {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// For people: "connect to 127.0.0.1:9: Connection refused",
  /// "timed out after 2000 ms", "response body over 16 MiB".
  std::string error;
  bool timed_out = false;
  /// Retry-After in ms (delta-seconds, or an HTTP-date relative to now,
  /// at least 0); -1 when absent or unparseable.
  int64_t retry_after_ms = -1;
  uint64_t latency_us = 0; ///< from request() to the response (or error)

  /// The first header of that name, case-insensitive; "" if absent.
  std::string header(std::string_view name) const;
};

/// An asynchronous HTTP(S) client: requests run on the client's own io
/// thread(s) and never block the caller.
///
/// 1. request() and after() may be called from any thread, also from inside
///    a callback. A callback never runs on the calling thread synchronously.
/// 2. `done` runs exactly once, on an io thread, even when the URL is bad or
///    the client is being destroyed (then with error "client shut down").
/// 3. Connections are kept alive in a pool per (scheme, host, port, TLS
///    options): at most 16 idle per pool, closed after 30 s idle. A reused
///    connection that fails before any response byte (the server had closed
///    it) is retried once on a fresh one, whatever the method.
/// 4. Redirects are not followed: a 3xx is returned as is.
/// 5. The destructor fails outstanding requests with "client shut down",
///    runs pending after() functions at once, and joins the io threads. It
///    must not run on an io thread; if it does (the last owner dropped in a
///    callback), the threads are detached and finish on their own.
class http_client {
public:
  explicit http_client(unsigned threads = 1);
  ~http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// The process-wide client (2 io threads), created on first use. It is
  /// never destroyed, so no callback runs during static destruction.
  static std::shared_ptr<http_client> shared();

  /// Starts `req`; `done` runs exactly once on an io thread.
  void request(http_request req, std::function<void(http_response)> done);

  /// Runs `fn` on an io thread after `delay` (a mock provider's latency).
  void after(std::chrono::milliseconds delay, std::function<void()> fn);

  /// Longer bodies fail the request ("response body over 16 MiB"). Set it
  /// before the first request; a request reads it when it starts.
  size_t max_response_bytes = 16 << 20;

  struct state;

private:
  std::shared_ptr<state> state_;
};

} // namespace sluice::net
