#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "core/result.hpp"
#include "metrics/listen_address.hpp"
#include "metrics/snapshot.hpp"

namespace sluice {

/// Bounds that keep one client from holding or flooding the endpoint.
struct http_endpoint_limits {
  /// A connection that sends no complete request for this long is closed
  /// (idle keep-alive connections too); also bounds writing one response.
  std::chrono::milliseconds read_timeout{std::chrono::seconds{10}};
  /// Request line and headers together; more is refused with 431.
  size_t header_limit = 8 * 1024;
  /// A request body; more is refused with 413 (GET and HEAD need none).
  size_t body_limit = 1024;
  /// Connections served at once; more are closed as they are accepted.
  size_t max_connections = 256;
};

/// The HTTP/1.1 endpoint observers scrape: GET /metrics (Prometheus text),
/// /api/v1/pipeline, /api/v1/stages, /api/v1/stages/<id> (JSON) and
/// /healthz; HEAD works like GET (docs/observability.md).
///
/// Not an actor: it serves on a thread of its own, running one io_context
/// with asynchronous sessions, and asks the `provider` for the current
/// snapshot on that thread, once per request. The provider must therefore
/// be thread-safe and bounded in time (it answers nullopt when the metrics
/// collector does not answer soon); an exception it throws counts as
/// nullopt. Nothing a client sends can stop the thread: each connection's
/// failures are logged at debug level and end that connection only.
///
/// Owned by whoever starts it (`sluice run`); destroying it stops accepting,
/// closes every connection and joins the thread.
class http_endpoint {
public:
  /// Returns the current snapshot, or nullopt if the collector did not
  /// answer in time.
  using provider = std::function<std::optional<metrics_snapshot>()>;

  /// Binds synchronously (a busy port is an error here, naming the address
  /// and what to do) and starts serving.
  static result<std::unique_ptr<http_endpoint>> start(const listen_address& at, provider p,
                                                     http_endpoint_limits limits = {});

  ~http_endpoint();

  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;

  /// The bound port (the one the system chose when asked for port 0).
  uint16_t port() const;

  /// The bound address, e.g. "127.0.0.1:9464".
  const listen_address& address() const;

private:
  struct impl;

  explicit http_endpoint(std::unique_ptr<impl> i);

  std::unique_ptr<impl> impl_;
};

} // namespace sluice
