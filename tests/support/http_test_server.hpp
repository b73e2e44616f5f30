#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice::testing {

/// A local HTTP/1.1 server for tests of HTTP clients and the stages using
/// them: 127.0.0.1, an ephemeral port, keep-alive, one thread per connection,
/// optionally TLS. Its behaviour is chosen by the request, so one server
/// serves every test:
///
/// - any path: query `delay_ms=N` waits first; `status=N` answers N with
///   {"error":"injected"}; `fail_first=N` answers 500 to the first N requests
///   on that path (query ignored); `retry429_every=K` answers every K-th
///   request on that path 429 with `Retry-After: 1` (or `retry_after=S`);
///   `drop_connection=1` closes the connection after answering (without
///   saying so, as a server dropping an idle keep-alive connection does).
/// - `/echo`: {"method","path","body" (JSON if it parses, else the string),
///   "headers" {lower-case name: value}}.
/// - `/customers/<id>`: {"id","tier" (gold if the id ends in an even digit,
///   else silver),"credit_limit":1000}; `malformed-*` ids get a truncated
///   JSON body, `missing-*` ids a 404.
/// - `/batch`: a JSON array in, one {"n": i, "echo": element} per element
///   out; an element {"malformed": true} is answered "not an object".
/// - `/v1/chat/completions`: a fake OpenAI chat endpoint labelling the
///   numbered lines ("N: text") of the last user message (see the .cpp);
///   401 without `Authorization: Bearer <key>`.
/// - any other path: 404.
///
/// The destructor stops it, interrupting delays, and joins every thread.
class http_test_server {
public:
  struct options {
    bool tls = false;
    std::string cert_pem, key_pem; ///< for tls; see make_self_signed_cert()
    uint16_t port = 0;             ///< 0: an ephemeral port
  };

  http_test_server();
  explicit http_test_server(options o);
  ~http_test_server();

  http_test_server(const http_test_server&) = delete;
  http_test_server& operator=(const http_test_server&) = delete;

  uint16_t port() const;
  std::string base_url() const; ///< "http://127.0.0.1:PORT" (https:// with tls)

  // -- statistics, thread-safe ------------------------------------------------

  size_t requests() const;        ///< requests answered (counted before the answer is written)
  size_t connections() const;     ///< connections accepted
  size_t max_concurrency() const; ///< most requests between "read" and "answer written" at once
  std::vector<int64_t> request_times_us() const; ///< steady_clock µs at arrival, in order
  std::vector<std::string> bodies(const std::string& path_prefix) const;
  size_t count(const std::string& path_prefix) const;
  void reset_stats(); ///< also restarts the fail_first / retry429_every counts

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

/// A self-signed certificate (CA:TRUE, SAN IP:127.0.0.1 and DNS:localhost,
/// EC P-256, valid for a day) and its key, in PEM, made with the OpenSSL API.
struct test_cert {
  std::string cert_pem, key_pem;
};
test_cert make_self_signed_cert();

} // namespace sluice::testing
