// The HTTP endpoint (actors/http_endpoint.*), driven over real loopback
// sockets by a deliberately small client written on POSIX sockets (not
// Beast, so the server is checked against an independent reading of HTTP).
// Every wait has a deadline; nothing sleeps.

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http_endpoint.hpp"
#include "metrics/prometheus.hpp"
#include "runtime/metrics/sample_snapshot.hpp"

using namespace sluice;
using json = nlohmann::json;

namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto deadline_after = std::chrono::seconds{5};

struct response {
  int status = 0;
  std::map<std::string, std::string> headers; ///< names in lower case
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// One client connection to 127.0.0.1:port. Every read and write gives up
/// after a deadline, so a server that misbehaves fails the test instead of
/// hanging it.
class connection {
public:
  explicit connection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect() failed");
  }
  ~connection() { ::close(fd_); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Sends all of `data`; false if the server closed or the deadline passed.
  bool send(const std::string& data) {
    auto deadline = clock_type::now() + deadline_after;
    size_t sent = 0;
    while (sent < data.size()) {
      if (!wait(POLLOUT, deadline))
        return false;
      auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EINTR && errno != EAGAIN)
        return false;
      if (n > 0)
        sent += static_cast<size_t>(n);
    }
    return true;
  }

  /// Sends a request with the given method and target.
  bool request(const std::string& method, const std::string& target, bool keep_alive = true,
               const std::string& extra_headers = "") {
    return send(method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers
                + (keep_alive ? "" : "Connection: close\r\n") + "\r\n");
  }

  /// Reads one response (no body when `head`); nullopt if the connection
  /// closed first or the deadline passed.
  std::optional<response> read_response(bool head = false) {
    auto deadline = clock_type::now() + deadline_after;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline))
        return std::nullopt;
    response r;
    auto head_text = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    auto line_end = head_text.find("\r\n");
    auto status_line = head_text.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12)
      return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      auto next = head_text.find("\r\n", pos);
      if (next == std::string::npos)
        next = head_text.size();
      auto line = head_text.substr(pos, next - pos);
      auto colon = line.find(':');
      auto name = line.substr(0, colon);
      for (auto& ch : name)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto value = colon == std::string::npos ? std::string{} : line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
      pos = next + 2;
    }
    size_t length = head ? 0 : std::stoul(r.header("content-length").empty() ? "0" : r.header("content-length"));
    while (buffer_.size() < length)
      if (!fill(deadline))
        return std::nullopt;
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }

  /// True once the server has closed the connection (end of stream or a
  /// reset) before the deadline; anything it still sends is discarded.
  bool closed_by_server() {
    auto deadline = clock_type::now() + deadline_after;
    for (;;) {
      if (!wait(POLLIN, deadline))
        return false;
      char chunk[4096];
      auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET))
        return true;
      if (n < 0 && errno != EINTR && errno != EAGAIN)
        return false;
    }
  }

  /// Whether the server has sent nothing and kept the connection open.
  bool quiet() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

private:
  bool wait(short events, clock_type::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0)
        return false;
      pollfd p{fd_, events, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc > 0)
        return true;
      if (rc < 0 && errno != EINTR)
        return false;
    }
  }

  bool fill(clock_type::time_point deadline) {
    if (!wait(POLLIN, deadline))
      return false;
    char chunk[4096];
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0)
      return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

/// An endpoint on a free loopback port serving the sample snapshot.
std::unique_ptr<http_endpoint> serve(http_endpoint::provider p = [] {
  return std::optional<metrics_snapshot>{test::sample_snapshot()};
}, http_endpoint_limits limits = {}) {
  auto ep = http_endpoint::start(listen_address{"127.0.0.1", 0}, std::move(p), limits);
  if (!ep)
    FAIL(ep.err().message);
  REQUIRE((*ep)->port() != 0);
  return std::move(*ep);
}

/// One request on a fresh connection.
std::optional<response> fetch(uint16_t port, const std::string& target,
                              const std::string& method = "GET") {
  connection c{port};
  if (!c.request(method, target, false))
    return std::nullopt;
  return c.read_response(method == "HEAD");
}

} // namespace

// -- routes ---------------------------------------------------------------------------

TEST_CASE("GET /metrics answers the Prometheus text of the provider's snapshot", "[http]") {
  auto ep = serve();
  auto r = fetch(ep->port(), "/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK_THAT(r->body, Catch::Contains("\nsluice_stage_records_out_total{pipeline=\"orders\",stage=\"shape\",replica=\"1\"} 451\n"));
  CHECK(r->body == render_prometheus(test::sample_snapshot()));
}

TEST_CASE("GET /api/v1/pipeline answers the whole snapshot as JSON", "[http]") {
  auto ep = serve();
  auto r = fetch(ep->port(), "/api/v1/pipeline");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-type") == "application/json");
  CHECK(json::parse(r->body) == to_json(test::sample_snapshot()));
}

TEST_CASE("GET /api/v1/stages lists the stages and /api/v1/stages/<id> answers one", "[http]") {
  auto ep = serve();
  auto s = test::sample_snapshot();
  auto all = fetch(ep->port(), "/api/v1/stages");
  REQUIRE(all);
  CHECK(all->status == 200);
  auto stages = json::parse(all->body);
  REQUIRE(stages.is_array());
  REQUIRE(stages.size() == 3);
  CHECK(stages[1] == to_json(s.stages[1]));

  auto one = fetch(ep->port(), "/api/v1/stages/shape");
  REQUIRE(one);
  CHECK(one->status == 200);
  CHECK(json::parse(one->body) == to_json(s.stages[1]));

  auto none = fetch(ep->port(), "/api/v1/stages/nope");
  REQUIRE(none);
  CHECK(none->status == 404);
  CHECK(none->header("content-type") == "application/json");
  auto error = json::parse(none->body).at("error").get<std::string>();
  CHECK_THAT(error, Catch::Contains("'nope'"));
  CHECK_THAT(error, Catch::Contains("read, shape, write"));
}

TEST_CASE("query strings are ignored and stage ids are percent-decoded", "[http]") {
  auto ep = serve();
  auto r = fetch(ep->port(), "/metrics?name=x&y");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = fetch(ep->port(), "/api/v1/stages/sh%61pe");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(json::parse(r->body).at("id") == "shape");
  r = fetch(ep->port(), "http://localhost/healthz");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = fetch(ep->port(), "/api/v1/stages/%zz");
  REQUIRE(r);
  CHECK(r->status == 400);
}

TEST_CASE("/healthz answers 200 while the provider answers and 503 when it does not", "[http]") {
  SECTION("answering") {
    auto ep = serve();
    auto r = fetch(ep->port(), "/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(json::parse(r->body)
          == json{{"status", "ok"}, {"pipeline", "orders"}, {"run_status", "running"}});
  }
  SECTION("not answering") {
    auto ep = serve([] { return std::optional<metrics_snapshot>{}; });
    auto r = fetch(ep->port(), "/healthz");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(json::parse(r->body).at("status") == "unavailable");
    r = fetch(ep->port(), "/metrics");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(json::parse(r->body).contains("error"));
  }
  SECTION("throwing: counted as not answering, and the endpoint keeps serving") {
    std::atomic<int> calls{0};
    auto ep = serve([&]() -> std::optional<metrics_snapshot> {
      if (calls++ == 0)
        throw std::runtime_error("collector gone");
      return test::sample_snapshot();
    });
    auto r = fetch(ep->port(), "/healthz");
    REQUIRE(r);
    CHECK(r->status == 503);
    r = fetch(ep->port(), "/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

TEST_CASE("HEAD answers like GET without a body", "[http]") {
  auto ep = serve();
  connection c{ep->port()};
  REQUIRE(c.request("HEAD", "/metrics"));
  auto head = c.read_response(true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("content-length")
        == std::to_string(render_prometheus(test::sample_snapshot()).size()));
  // Had a body been sent, it would be read here as the next response.
  REQUIRE(c.request("GET", "/healthz"));
  auto next = c.read_response();
  REQUIRE(next);
  CHECK(next->status == 200);
}

// -- refusals -------------------------------------------------------------------------

TEST_CASE("an unknown path is 404 and the message lists the valid paths", "[http]") {
  auto ep = serve();
  auto r = fetch(ep->port(), "/nothing/here");
  REQUIRE(r);
  CHECK(r->status == 404);
  auto error = json::parse(r->body).at("error").get<std::string>();
  CHECK_THAT(error, Catch::Contains("/nothing/here"));
  CHECK_THAT(error, Catch::Contains("/metrics, /api/v1/pipeline, /api/v1/stages"));
  CHECK_THAT(error, Catch::Contains("/healthz"));
}

TEST_CASE("a method other than GET and HEAD is 405 with an Allow header", "[http]") {
  auto ep = serve();
  for (auto method : {"POST", "DELETE", "BREW"}) {
    INFO(method);
    auto r = fetch(ep->port(), "/metrics", method);
    REQUIRE(r);
    CHECK(r->status == 405);
    CHECK(r->header("allow") == "GET, HEAD");
    CHECK(json::parse(r->body).contains("error"));
  }
}

TEST_CASE("bytes that are not HTTP get 400 and the connection is closed", "[http]") {
  auto ep = serve();
  connection c{ep->port()};
  REQUIRE(c.send("NOT HTTP\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(json::parse(r->body).contains("error"));
  CHECK(c.closed_by_server());
}

TEST_CASE("a 64 KiB header is refused with 431", "[http]") {
  auto ep = serve();
  connection c{ep->port()};
  REQUIRE(c.request("GET", "/metrics", true, "X-Big: " + std::string(64 * 1024, 'a') + "\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(c.closed_by_server());
  // and the endpoint goes on serving
  auto next = fetch(ep->port(), "/healthz");
  REQUIRE(next);
  CHECK(next->status == 200);
}

TEST_CASE("a request body over the limit is refused with 413", "[http]") {
  auto ep = serve();
  connection c{ep->port()};
  REQUIRE(c.request("POST", "/metrics", true, "Content-Length: 100000\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 413);
}

// -- connections ----------------------------------------------------------------------

TEST_CASE("two requests on one kept-alive connection are both answered", "[http]") {
  auto ep = serve();
  connection c{ep->port()};
  REQUIRE(c.request("GET", "/healthz"));
  auto first = c.read_response();
  REQUIRE(first);
  CHECK(first->status == 200);
  REQUIRE(c.request("GET", "/api/v1/stages/write"));
  auto second = c.read_response();
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(json::parse(second->body).at("id") == "write");
  CHECK(c.quiet());
}

TEST_CASE("a client that connects and sends nothing does not hold back another", "[http]") {
  auto ep = serve();
  connection idle{ep->port()};
  auto r = fetch(ep->port(), "/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("several clients at once are all answered", "[http]") {
  auto ep = serve();
  std::vector<std::unique_ptr<connection>> clients;
  for (int i = 0; i < 8; ++i)
    clients.push_back(std::make_unique<connection>(ep->port()));
  for (auto& c : clients)
    REQUIRE(c->request("GET", "/api/v1/pipeline"));
  for (auto& c : clients) {
    auto r = c->read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

TEST_CASE("a connection idle past the read timeout is closed", "[http]") {
  http_endpoint_limits limits;
  limits.read_timeout = std::chrono::milliseconds{100};
  auto ep = serve([] { return std::optional<metrics_snapshot>{test::sample_snapshot()}; }, limits);
  connection c{ep->port()};
  CHECK(c.closed_by_server());
}

// -- start and stop -------------------------------------------------------------------

TEST_CASE("starting on a port in use fails with a message naming the address", "[http]") {
  auto first = serve();
  auto second = http_endpoint::start(listen_address{"127.0.0.1", first->port()},
                                     [] { return std::optional<metrics_snapshot>{}; });
  REQUIRE_FALSE(second);
  auto address = "127.0.0.1:" + std::to_string(first->port());
  CHECK_THAT(second.err().message, Catch::Contains(address));
  CHECK_THAT(second.err().message, Catch::Contains("already in use"));
  CHECK_THAT(second.err().message, Catch::Contains("choose another port"));
}

TEST_CASE("a host that is not an address of this machine is refused at start", "[http]") {
  auto r = http_endpoint::start(listen_address{"192.0.2.1", 0},
                                [] { return std::optional<metrics_snapshot>{}; });
  REQUIRE_FALSE(r);
  CHECK_THAT(r.err().message, Catch::Contains("192.0.2.1:0"));
}

TEST_CASE("destroying the endpoint with an idle connection open returns and closes it",
          "[http]") {
  auto ep = serve();
  connection idle{ep->port()};
  REQUIRE(idle.request("GET", "/healthz")); // make sure the session exists
  REQUIRE(idle.read_response());
  auto destroyed = std::async(std::launch::async, [&] { ep.reset(); });
  // Well within the 10 s read timeout, which a waiting destructor would take.
  REQUIRE(destroyed.wait_for(std::chrono::seconds{5}) == std::future_status::ready);
  CHECK(idle.closed_by_server());
}
