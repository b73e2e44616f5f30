// The HTTP client (runtime/net/http_client.*) and URL helpers
// (runtime/net/url.*), against the local test server
// (tests/support/http_test_server.*) over real loopback sockets. Every wait
// has a deadline; only the timeout test waits on purpose.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "net/http_client.hpp"
#include "net/url.hpp"
#include "support/http_test_server.hpp"

using namespace sluice::net;
using sluice::testing::http_test_server;
using json = nlohmann::json;

namespace {

constexpr auto deadline = std::chrono::seconds{10};

http_request get(std::string url) {
  http_request req;
  req.url = std::move(url);
  return req;
}

/// Runs `req` and waits for its callback (REQUIREs it comes in time).
http_response fetch(http_client& client, http_request req) {
  auto promise = std::make_shared<std::promise<http_response>>();
  auto answer = promise->get_future();
  client.request(std::move(req), [promise](http_response r) { promise->set_value(std::move(r)); });
  REQUIRE(answer.wait_for(deadline) == std::future_status::ready);
  return answer.get();
}

/// A file removed when the test ends.
struct temp_file {
  explicit temp_file(const std::string& text) {
    path = std::filesystem::temp_directory_path()
           / ("sluice-http-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".pem");
    std::ofstream{path} << text;
  }
  ~temp_file() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  std::filesystem::path path;
  static inline std::atomic<int> counter{0};
};

} // namespace

// -- URLs -----------------------------------------------------------------------

TEST_CASE("net: parse_url takes http and https URLs apart", "[net]") {
  auto u = parse_url("http://Example.COM/a/b?x=1#frag");
  REQUIRE(u);
  CHECK(u->scheme == "http");
  CHECK(u->host == "example.com");
  CHECK(u->port == 80);
  CHECK(u->target == "/a/b?x=1");

  u = parse_url("HTTPS://api.example.com");
  REQUIRE(u);
  CHECK(u->scheme == "https");
  CHECK(u->port == 443);
  CHECK(u->target == "/");

  u = parse_url("http://127.0.0.1:8080?q=2");
  REQUIRE(u);
  CHECK(u->port == 8080);
  CHECK(u->target == "/?q=2");

  u = parse_url("https://[::1]:8443/v1");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 8443);
  CHECK(u->target == "/v1");
  CHECK(host_for_display(u->host) == "[::1]");

  u = parse_url("http://[::1]");
  REQUIRE(u);
  CHECK(u->port == 80);
}

TEST_CASE("net: parse_url says what is wrong with a bad URL", "[net]") {
  std::string error;
  CHECK_FALSE(parse_url("ftp://example.com/x", &error));
  CHECK_THAT(error, Catch::Contains("unsupported scheme 'ftp'"));
  CHECK_FALSE(parse_url("example.com/x", &error));
  CHECK_THAT(error, Catch::Contains("not an absolute URL"));
  CHECK_FALSE(parse_url("http:///path", &error));
  CHECK_THAT(error, Catch::Contains("no host"));
  CHECK_FALSE(parse_url("http://host:abc/", &error));
  CHECK_THAT(error, Catch::Contains("bad port 'abc'"));
  CHECK_FALSE(parse_url("http://host:70000/", &error));
  CHECK_THAT(error, Catch::Contains("bad port '70000'"));
  CHECK_FALSE(parse_url("http://host:0/", &error));
  CHECK_THAT(error, Catch::Contains("1 to 65535"));
  CHECK_FALSE(parse_url("http://[::1/", &error));
  CHECK_THAT(error, Catch::Contains("closing ']'"));
  CHECK_FALSE(parse_url("http://[zz]/", &error));
  CHECK_THAT(error, Catch::Contains("bad IPv6 host"));
  CHECK_FALSE(parse_url("http://a b/", &error));
  CHECK_THAT(error, Catch::Contains("bad character ' ' in host"));
  CHECK_FALSE(parse_url("http://h/a b", &error));
  CHECK_THAT(error, Catch::Contains("percent-encode"));
  CHECK_FALSE(parse_url("https://user:secret@h/", &error));
  CHECK_THAT(error, Catch::Contains("Authorization header"));
  CHECK_THAT(error, !Catch::Contains("secret"));
  CHECK_FALSE(parse_url("http://h/"
                        "x",
                        nullptr)
                == std::nullopt);
}

TEST_CASE("net: percent_encode keeps unreserved characters only", "[net]") {
  CHECK(percent_encode("") == "");
  CHECK(percent_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(percent_encode("a b/c?d=e&f") == "a%20b%2Fc%3Fd%3De%26f");
  CHECK(percent_encode("ü") == "%C3%BC");
  CHECK(percent_encode(std::string_view{"\0\xff", 2}) == "%00%FF");
}

// -- requests and responses -----------------------------------------------------

TEST_CASE("http client: a GET and a POST reach the server with their headers and body", "[net]") {
  http_test_server server;
  http_client client;

  auto r = fetch(client, get(server.base_url() + "/echo?x=1"));
  REQUIRE(r.error == "");
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.header("CONTENT-TYPE") == "application/json");
  CHECK(r.header("x-absent") == "");
  auto echo = json::parse(r.body);
  CHECK(echo["method"] == "GET");
  CHECK(echo["path"] == "/echo");
  CHECK(echo["headers"]["user-agent"] == "sluice/0.1");
  CHECK(echo["headers"]["host"] == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(r.latency_us > 0);

  http_request post = get(server.base_url() + "/echo");
  post.method = "POST";
  post.headers = {{"Content-Type", "application/json"}, {"X-Api-Key", "k-123"}, {"X-Multi", "a"}};
  post.body = R"({"a":[1,2]})";
  r = fetch(client, post);
  REQUIRE(r.status == 200);
  echo = json::parse(r.body);
  CHECK(echo["method"] == "POST");
  CHECK(echo["body"] == json{{"a", {1, 2}}});
  CHECK(echo["headers"]["x-api-key"] == "k-123");
  CHECK(echo["headers"]["content-length"] == std::to_string(post.body.size()));
  CHECK(server.bodies("/echo") == std::vector<std::string>{"", post.body});

  post.body = "plain text";
  r = fetch(client, post);
  CHECK(json::parse(r.body)["body"] == "plain text");
}

TEST_CASE("http client: a header with a line break is refused before sending", "[net]") {
  http_test_server server;
  http_client client;
  http_request req = get(server.base_url() + "/echo");
  req.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  auto r = fetch(client, req);
  CHECK(r.status == 0);
  CHECK_THAT(r.error, Catch::Contains("'X-Evil': its value contains a line break"));
  CHECK(server.requests() == 0);
}

TEST_CASE("http client: error statuses are responses, not transport errors", "[net]") {
  http_test_server server;
  http_client client;

  auto r = fetch(client, get(server.base_url() + "/no/such/path"));
  CHECK(r.status == 404);
  CHECK(r.error == "");

  r = fetch(client, get(server.base_url() + "/customers/missing-7"));
  CHECK(r.status == 404);

  r = fetch(client, get(server.base_url() + "/customers/3?status=500"));
  CHECK(r.status == 500);
  CHECK(r.error == "");
  CHECK(json::parse(r.body) == json{{"error", "injected"}});
  CHECK(r.retry_after_ms == -1);

  r = fetch(client, get(server.base_url() + "/echo?status=302"));
  CHECK(r.status == 302); // redirects are not followed
}

TEST_CASE("http client: a 429 carries Retry-After in milliseconds", "[net]") {
  http_test_server server;
  http_client client;

  auto r = fetch(client, get(server.base_url() + "/customers/2?retry429_every=2"));
  CHECK(r.status == 200);
  r = fetch(client, get(server.base_url() + "/customers/2?retry429_every=2"));
  CHECK(r.status == 429);
  CHECK(r.header("retry-after") == "1");
  CHECK(r.retry_after_ms == 1000);

  r = fetch(client, get(server.base_url() + "/customers/2?retry429_every=1&retry_after=7"));
  CHECK(r.retry_after_ms == 7000);
  // An HTTP-date in the past: retry now.
  r = fetch(client, get(server.base_url() + "/customers/2?retry429_every=1&retry_after="
                        + percent_encode("Wed, 21 Oct 2015 07:28:00 GMT")));
  CHECK(r.retry_after_ms == 0);
  r = fetch(client, get(server.base_url() + "/customers/2?retry429_every=1&retry_after=soon"));
  CHECK(r.retry_after_ms == -1);
}

TEST_CASE("http client: fail_first answers 500 to the first requests on a path only", "[net]") {
  http_test_server server;
  http_client client;
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i)
    statuses.push_back(fetch(client, get(server.base_url() + "/customers/4?fail_first=2")).status);
  CHECK(statuses == std::vector<int>{500, 500, 200});
  CHECK(fetch(client, get(server.base_url() + "/customers/5?fail_first=2")).status == 500);
  server.reset_stats();
  CHECK(fetch(client, get(server.base_url() + "/customers/4?fail_first=1")).status == 500);
}

TEST_CASE("http client: a slow server times out the whole exchange", "[net]") {
  http_test_server server;
  http_client client;
  http_request req = get(server.base_url() + "/echo?delay_ms=5000");
  req.timeout_ms = 300;
  auto r = fetch(client, req);
  CHECK(r.status == 0);
  CHECK(r.timed_out);
  CHECK(r.error == "timed out after 300 ms");
  CHECK(r.latency_us >= 300'000);
  CHECK(r.latency_us < 5'000'000); // the delay was not waited out
  // The client is still usable, on another connection.
  CHECK(fetch(client, get(server.base_url() + "/echo")).status == 200);
}

TEST_CASE("http client: a refused connection names the host and port", "[net]") {
  uint16_t port = 0;
  {
    http_test_server gone;
    port = gone.port();
  }
  http_client client;
  auto r = fetch(client, get("http://127.0.0.1:" + std::to_string(port) + "/echo"));
  CHECK(r.status == 0);
  CHECK_FALSE(r.timed_out);
  CHECK(r.error == "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_CASE("http client: a bad URL fails in the callback on an io thread", "[net]") {
  http_client client;
  auto caller = std::this_thread::get_id();
  auto promise = std::make_shared<std::promise<std::pair<http_response, std::thread::id>>>();
  auto answer = promise->get_future();
  client.request(get("gopher://x/"), [promise](http_response r) {
    promise->set_value({std::move(r), std::this_thread::get_id()});
  });
  REQUIRE(answer.wait_for(deadline) == std::future_status::ready);
  auto [r, thread] = answer.get();
  CHECK(thread != caller);
  CHECK(r.status == 0);
  CHECK_THAT(r.error, Catch::StartsWith("bad URL: unsupported scheme 'gopher'"));
}

TEST_CASE("http client: a body over the limit fails the request", "[net]") {
  http_test_server server;
  http_client client;
  client.max_response_bytes = 10;
  auto r = fetch(client, get(server.base_url() + "/customers/8"));
  CHECK(r.status == 0);
  CHECK(r.error == "response body over 10 bytes");
}

// -- connections ------------------------------------------------------------------

TEST_CASE("http client: sequential requests reuse one keep-alive connection", "[net]") {
  http_test_server server;
  http_client client;
  for (int i = 0; i < 20; ++i) {
    http_request req = get(server.base_url() + "/echo");
    req.method = "POST";
    req.body = std::to_string(i);
    REQUIRE(fetch(client, req).status == 200);
  }
  CHECK(server.requests() == 20);
  CHECK(server.count("/echo") == 20);
  CHECK(server.connections() == 1);
}

TEST_CASE("http client: a pooled connection the server dropped is retried on a fresh one", "[net]") {
  http_test_server server;
  http_client client;
  REQUIRE(fetch(client, get(server.base_url() + "/echo?drop_connection=1")).status == 200);
  auto r = fetch(client, get(server.base_url() + "/echo"));
  CHECK(r.error == "");
  CHECK(r.status == 200);
  CHECK(server.requests() == 2);
  CHECK(server.connections() == 2);
}

TEST_CASE("http client: 50 concurrent requests each complete exactly once", "[net]") {
  http_test_server server;
  constexpr int n = 50;
  std::vector<std::atomic<int>> calls(n);
  std::vector<int> statuses(n, 0);
  std::atomic<int> finished{0};
  std::promise<void> all;
  {
    http_client client{2};
    for (int i = 0; i < n; ++i) {
      http_request req = get(server.base_url() + "/echo?delay_ms=50");
      req.method = "POST";
      req.body = std::to_string(i);
      client.request(req, [&, i](http_response r) {
        statuses[static_cast<size_t>(i)] = r.status;
        if (++calls[static_cast<size_t>(i)] == 1 && ++finished == n)
          all.set_value();
      });
    }
    REQUIRE(all.get_future().wait_for(deadline) == std::future_status::ready);
  } // the destructor joins the io threads: no callback can come later
  for (int i = 0; i < n; ++i) {
    CHECK(calls[static_cast<size_t>(i)] == 1);
    CHECK(statuses[static_cast<size_t>(i)] == 200);
  }
  CHECK(server.requests() == n);
  CHECK(server.max_concurrency() > 1);
  auto bodies = server.bodies("/echo");
  std::sort(bodies.begin(), bodies.end());
  std::vector<std::string> expected;
  for (int i = 0; i < n; ++i)
    expected.push_back(std::to_string(i));
  std::sort(expected.begin(), expected.end());
  CHECK(bodies == expected);
}

TEST_CASE("http client: the destructor fails outstanding requests with client shut down", "[net]") {
  http_test_server server;
  std::promise<http_response> promise;
  auto answer = promise.get_future();
  std::atomic<bool> ran_after{false};
  {
    http_client client;
    client.request(get(server.base_url() + "/echo?delay_ms=5000"),
                   [&](http_response r) { promise.set_value(std::move(r)); });
    client.after(std::chrono::hours{1}, [&] { ran_after = true; });
    // Wait until the server has the request, so it is in flight.
    for (auto until = std::chrono::steady_clock::now() + deadline;
         server.count("/echo") == 0 && std::chrono::steady_clock::now() < until;)
      std::this_thread::yield();
  }
  REQUIRE(answer.wait_for(std::chrono::seconds{0}) == std::future_status::ready);
  auto r = answer.get();
  CHECK(r.status == 0);
  CHECK(r.error == "client shut down");
  CHECK(ran_after); // pending after() functions run at shutdown
}

TEST_CASE("http client: after runs a function later on an io thread", "[net]") {
  http_client client;
  auto caller = std::this_thread::get_id();
  auto start = std::chrono::steady_clock::now();
  std::promise<std::thread::id> promise;
  auto ran = promise.get_future();
  client.after(std::chrono::milliseconds{20}, [&] { promise.set_value(std::this_thread::get_id()); });
  REQUIRE(ran.wait_for(deadline) == std::future_status::ready);
  CHECK(ran.get() != caller);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds{20});
}

TEST_CASE("http client: the shared client is one client", "[net]") {
  auto a = http_client::shared();
  auto b = http_client::shared();
  CHECK(a == b);
  http_test_server server;
  CHECK(fetch(*a, get(server.base_url() + "/customers/1")).status == 200);
}

// -- TLS ------------------------------------------------------------------------

TEST_CASE("http client: https verifies the server against a CA file", "[net]") {
  auto cert = sluice::testing::make_self_signed_cert();
  http_test_server server{{true, cert.cert_pem, cert.key_pem, 0}};
  REQUIRE(server.base_url().rfind("https://127.0.0.1:", 0) == 0);
  temp_file ca{cert.cert_pem};
  http_client client;

  http_request req = get(server.base_url() + "/echo");
  req.tls.ca_file = ca.path.string();
  auto r = fetch(client, req);
  CHECK(r.error == "");
  CHECK(r.status == 200);
  // By name, too (SNI and the DNS name in the certificate), on a kept-alive connection.
  req.url = "https://localhost:" + std::to_string(server.port()) + "/echo";
  r = fetch(client, req);
  CHECK(r.error == "");
  CHECK(r.status == 200);
  REQUIRE(fetch(client, req).status == 200);
  CHECK(server.connections() == 2);

  SECTION("without the CA the certificate is refused") {
    http_request untrusted = get(server.base_url() + "/echo");
    auto refused = fetch(client, untrusted);
    CHECK(refused.status == 0);
    CHECK_THAT(refused.error, Catch::Contains("TLS handshake with 127.0.0.1:"));
    CHECK_THAT(refused.error, Catch::Contains("certificate verify failed"));
  }
  SECTION("verify=false accepts it") {
    http_request unchecked = get(server.base_url() + "/echo");
    unchecked.tls.verify = false;
    CHECK(fetch(client, unchecked).status == 200);
  }
  SECTION("an unreadable CA file says so") {
    http_request bad = get(server.base_url() + "/echo");
    bad.tls.ca_file = "/nonexistent/ca.pem";
    auto refused = fetch(client, bad);
    CHECK(refused.status == 0);
    CHECK_THAT(refused.error, Catch::StartsWith("TLS CA file '/nonexistent/ca.pem'"));
  }
}

// -- the test server's fake services ----------------------------------------------

TEST_CASE("http test server: the fake chat endpoint answers in the OpenAI shape", "[net]") {
  http_test_server server;
  http_client client;
  http_request req = get(server.base_url() + "/v1/chat/completions");
  req.method = "POST";
  json messages = json::array({{{"role", "system"}, {"content", "Label each ticket."}},
                               {{"role", "user"}, {"content", "1: the site is DOWN\n2: I want a refund\n"
                                                              "3: something weird\n4: thanks"}}});
  req.body = json{{"model", "gpt-test"}, {"messages", messages}}.dump();

  auto r = fetch(client, req);
  CHECK(r.status == 401);
  CHECK(json::parse(r.body)["error"]["message"] == "missing key");

  req.headers = {{"Authorization", "Bearer sk-test"}, {"Content-Type", "application/json"}};
  r = fetch(client, req);
  REQUIRE(r.status == 200);
  auto answer = json::parse(r.body);
  CHECK(answer["object"] == "chat.completion");
  CHECK(answer["model"] == "gpt-test");
  CHECK(answer["choices"][0]["finish_reason"] == "stop");
  CHECK(answer["choices"][0]["message"]["role"] == "assistant");
  auto content = json::parse(answer["choices"][0]["message"]["content"].get<std::string>());
  CHECK(content == json::parse(R"({"labels":[{"n":1,"label":"high"},{"n":2,"label":"medium"},
                                              {"n":3,"label":"urgent-ish"},{"n":4,"label":"low"}]})"));
  size_t chars = messages[0]["content"].get<std::string>().size() + messages[1]["content"].get<std::string>().size();
  CHECK(answer["usage"]["prompt_tokens"] == chars / 4);
  CHECK(answer["usage"]["completion_tokens"] == 20);
  CHECK(answer["usage"]["total_tokens"] == chars / 4 + 20);

  req.body = json{{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "1: garbage in"}}}}}.dump();
  r = fetch(client, req);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["choices"][0]["message"]["content"] == "I cannot do that");
}

TEST_CASE("http test server: customers and batch answer per record", "[net]") {
  http_test_server server;
  http_client client;
  CHECK(json::parse(fetch(client, get(server.base_url() + "/customers/c4")).body)
        == json{{"id", "c4"}, {"tier", "gold"}, {"credit_limit", 1000}});
  CHECK(json::parse(fetch(client, get(server.base_url() + "/customers/c3")).body)["tier"] == "silver");
  auto malformed = fetch(client, get(server.base_url() + "/customers/malformed-1"));
  CHECK(malformed.status == 200);
  CHECK(json::parse(malformed.body, nullptr, false).is_discarded());

  http_request req = get(server.base_url() + "/batch");
  req.method = "POST";
  req.body = R"([{"a":1},{"malformed":true},7])";
  auto r = fetch(client, req);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body) == json::parse(R"([{"n":0,"echo":{"a":1}},"not an object",{"n":2,"echo":7}])"));
}
