#include "net/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

namespace sluice::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using strand_type = asio::strand<asio::io_context::executor_type>;
using clock_type = std::chrono::steady_clock;

constexpr size_t max_idle_per_pool = 16;
constexpr auto idle_expiry = std::chrono::seconds{30};
constexpr auto sweep_interval = std::chrono::seconds{5};
constexpr std::string_view user_agent = "sluice/0.1";

std::string size_text(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

/// Retry-After as delta-seconds or an IMF-fixdate; -1 if neither.
int64_t parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  if (value.empty())
    return -1;
  if (std::all_of(value.begin(), value.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
    if (value.size() > 9) // over 30 years: not meant seriously
      return -1;
    return std::stoll(std::string{value}) * 1000;
  }
  std::tm tm{};
  std::string text{value};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0')
    return -1;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(at - std::chrono::system_clock::now());
  return std::max<int64_t>(0, delta.count());
}

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

/// The request message for `req`; an error text if a header cannot be sent.
std::optional<std::string> build_message(const http_request& req, const url_parts& url,
                                         http::request<http::string_body>& msg) {
  if (req.method.empty() || has_line_break(req.method) || req.method.find(' ') != std::string::npos)
    return "bad HTTP method '" + req.method + "'";
  auto verb = http::string_to_verb(req.method);
  if (verb == http::verb::unknown)
    msg.method_string(req.method);
  else
    msg.method(verb);
  msg.target(url.target);
  msg.version(11);
  bool default_port = url.port == (url.scheme == "https" ? 443 : 80);
  auto host = host_for_display(url.host);
  msg.set(http::field::host, default_port ? host : host + ":" + std::to_string(url.port));
  msg.set(http::field::user_agent, beast::string_view{user_agent.data(), user_agent.size()});
  msg.body() = req.body;
  msg.prepare_payload();
  for (const auto& [name, value] : req.headers) {
    // The names are safe to repeat in a message; the values are not.
    if (name.empty() || has_line_break(name) || name.find(':') != std::string::npos)
      return "bad request header name '" + name + "'";
    if (has_line_break(value))
      return "request header '" + name + "': its value contains a line break";
    if (same_header_name(name, "host") || same_header_name(name, "user-agent")
        || same_header_name(name, "content-length"))
      msg.set(name, value);
    else
      msg.insert(name, value);
  }
  return std::nullopt;
}

std::string pool_key(const url_parts& url, const tls_options& tls) {
  std::string key = url.scheme + "://" + url.host + ":" + std::to_string(url.port);
  if (url.scheme == "https")
    key += (tls.verify ? "|verify|" : "|noverify|") + tls.ca_file;
  return key;
}

/// One socket, plain or TLS, with the bytes read past the last response.
struct connection {
  connection(strand_type ex, std::shared_ptr<ssl::context> ctx)
    : strand(ex), context(std::move(ctx)) {
    if (context)
      tls = std::make_unique<ssl::stream<beast::tcp_stream>>(ex, *context);
    else
      plain = std::make_unique<beast::tcp_stream>(ex);
  }

  beast::tcp_stream& lowest() { return plain ? *plain : tls->next_layer(); }

  void close() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

  strand_type strand;
  std::shared_ptr<ssl::context> context; ///< outlives `tls`
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  clock_type::time_point idle_since;
};

class exchange;

} // namespace

// -- the client's shared state: io threads, pools, live requests ------------------

struct http_client::state {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::vector<std::thread> threads;
  strand_type sweep_strand{asio::make_strand(ioc)};
  asio::steady_timer sweeper{sweep_strand};

  std::mutex mutex; // guards everything below
  bool stopping = false;
  std::map<std::string, std::deque<std::unique_ptr<connection>>> idle; ///< oldest first
  std::map<std::string, std::shared_ptr<ssl::context>> contexts;
  std::unordered_map<uint64_t, std::weak_ptr<exchange>> live;
  std::unordered_map<uint64_t, std::shared_ptr<asio::steady_timer>> waits;
  uint64_t next_id = 0;

  /// A context per TLS settings; nullptr with `error` set if the CA file fails.
  std::shared_ptr<ssl::context> context_for(const tls_options& tls, std::string& error) {
    std::lock_guard guard{mutex};
    auto key = (tls.verify ? "verify|" : "noverify|") + tls.ca_file;
    if (auto i = contexts.find(key); i != contexts.end())
      return i->second;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3, ec);
    if (tls.verify) {
      ctx->set_verify_mode(ssl::verify_peer, ec);
      if (!tls.ca_file.empty())
        ctx->load_verify_file(tls.ca_file, ec);
      else
        ctx->set_default_verify_paths(ec);
      if (ec) {
        error = tls.ca_file.empty()
                  ? "TLS: cannot load the system's CA certificates: " + ec.message()
                  : "TLS CA file '" + tls.ca_file + "': " + ec.message()
                      + "; expected a readable PEM file of CA certificates";
        return nullptr;
      }
    } else {
      ctx->set_verify_mode(ssl::verify_none, ec);
    }
    contexts.emplace(key, ctx);
    return ctx;
  }

  /// The newest live idle connection of `key`, or nullptr. Caller holds `mutex`.
  std::unique_ptr<connection> take_idle(const std::string& key) {
    auto i = idle.find(key);
    if (i == idle.end())
      return nullptr;
    auto& conns = i->second;
    auto now = clock_type::now();
    while (!conns.empty() && now - conns.front()->idle_since > idle_expiry)
      conns.pop_front();
    std::unique_ptr<connection> conn;
    if (!conns.empty()) {
      conn = std::move(conns.back());
      conns.pop_back();
    }
    if (conns.empty())
      idle.erase(i);
    return conn;
  }

  void put_idle(const std::string& key, std::unique_ptr<connection> conn) {
    std::lock_guard guard{mutex};
    if (stopping)
      return;
    conn->idle_since = clock_type::now();
    auto& conns = idle[key];
    conns.push_back(std::move(conn));
    if (conns.size() > max_idle_per_pool)
      conns.pop_front();
  }

  void sweep() {
    sweeper.expires_after(sweep_interval);
    sweeper.async_wait(asio::bind_executor(sweep_strand, [this](error_code ec) {
      if (ec)
        return;
      std::lock_guard guard{mutex};
      if (stopping)
        return;
      auto now = clock_type::now();
      for (auto i = idle.begin(); i != idle.end();) {
        auto& conns = i->second;
        while (!conns.empty() && now - conns.front()->idle_since > idle_expiry)
          conns.pop_front();
        i = conns.empty() ? idle.erase(i) : std::next(i);
      }
      sweep();
    }));
  }
};

namespace {

void invoke(const std::function<void(http_response)>& done, http_response r) {
  try {
    done(std::move(r));
  } catch (const std::exception& e) {
    spdlog::error("http client: a response callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("http client: a response callback threw");
  }
}

uint64_t micros_since(clock_type::time_point start) {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start).count());
}

/// One request from start to callback. Every member is touched only on
/// `strand_`; each pending operation holds a shared_ptr to it.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(http_client::state& st, uint64_t id, url_parts url, std::string key,
           http::request<http::string_body> msg, const http_request& req, size_t body_limit,
           std::shared_ptr<ssl::context> ctx, std::unique_ptr<connection> pooled, strand_type strand,
           std::function<void(http_response)> done, clock_type::time_point start)
    : state_(st), id_(id), url_(std::move(url)), key_(std::move(key)), msg_(std::move(msg)),
      timeout_ms_(req.timeout_ms), verify_(req.tls.verify), body_limit_(body_limit),
      context_(std::move(ctx)), conn_(std::move(pooled)), strand_(strand), resolver_(strand),
      timer_(strand), done_(std::move(done)), start_(start) {
    reused_ = conn_ != nullptr;
    where_ = host_for_display(url_.host) + ":" + std::to_string(url_.port);
  }

  strand_type strand() const { return strand_; }

  void start() {
    if (finished_)
      return;
    timer_.expires_at(start_ + std::chrono::milliseconds{timeout_ms_});
    timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](error_code ec) {
      if (!ec)
        self->on_timeout();
    }));
    if (conn_)
      send();
    else
      connect_fresh();
  }

  void abort(const std::string& reason) {
    if (finished_)
      return;
    fail(reason);
  }

private:
  template <class F>
  auto on_strand(F f) {
    return asio::bind_executor(strand_, [self = shared_from_this(), f = std::move(f)](auto&&... args) {
      if (!self->finished_)
        f(*self, std::forward<decltype(args)>(args)...);
    });
  }

  void on_timeout() {
    if (finished_)
      return;
    timed_out_ = true;
    fail("timed out after " + std::to_string(timeout_ms_) + " ms");
  }

  void connect_fresh() {
    conn_ = std::make_unique<connection>(strand_, context_);
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            on_strand([](exchange& self, error_code ec, tcp::resolver::results_type results) {
                              self.on_resolve(ec, std::move(results));
                            }));
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return fail("resolve " + host_for_display(url_.host) + ": " + ec.message());
    conn_->lowest().async_connect(results, on_strand([](exchange& self, error_code ec2, const tcp::endpoint&) {
                                    self.on_connect(ec2);
                                  }));
  }

  void on_connect(error_code ec) {
    if (ec)
      return fail("connect to " + where_ + ": " + ec.message());
    error_code ignored;
    conn_->lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!conn_->tls)
      return send();
    auto* ssl_handle = conn_->tls->native_handle();
    error_code not_ip;
    asio::ip::make_address(url_.host, not_ip);
    if (not_ip) // SNI names hosts, never addresses (RFC 6066)
      SSL_set_tlsext_host_name(ssl_handle, url_.host.c_str());
    if (verify_) {
      // OpenSSL checks the name itself, so a mismatch is reported as such.
      auto* param = SSL_get0_param(ssl_handle);
      if (not_ip)
        X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), url_.host.size());
      else
        X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str());
    }
    conn_->tls->async_handshake(ssl::stream_base::client,
                                on_strand([](exchange& self, error_code ec2) { self.on_handshake(ec2); }));
  }

  void on_handshake(error_code ec) {
    if (!ec)
      return send();
    std::string text = "TLS handshake with " + where_ + ": " + ec.message();
    long verify = SSL_get_verify_result(conn_->tls->native_handle());
    if (verify != X509_V_OK)
      text += std::string{" ("} + X509_verify_cert_error_string(verify) + ")";
    fail(text);
  }

  void send() {
    auto handler = on_strand([](exchange& self, error_code ec, size_t) { self.on_write(ec); });
    if (conn_->tls)
      http::async_write(*conn_->tls, msg_, std::move(handler));
    else
      http::async_write(*conn_->plain, msg_, std::move(handler));
  }

  void on_write(error_code ec) {
    if (ec) {
      if (retry_stale())
        return;
      return fail("send request to " + where_ + ": " + ec.message());
    }
    read();
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(body_limit_);
    parser_->header_limit(64 * 1024);
    if (msg_.method() == http::verb::head)
      parser_->skip(true);
    // The header first: Beast 1.74's eager parse (async_read) skips the
    // Content-Length check against body_limit when the body arrives with
    // the header; read_header stops after the header and reports it.
    auto handler = on_strand([](exchange& self, error_code ec, size_t n) { self.on_header(ec, n); });
    if (conn_->tls)
      http::async_read_header(*conn_->tls, conn_->buffer, *parser_, std::move(handler));
    else
      http::async_read_header(*conn_->plain, conn_->buffer, *parser_, std::move(handler));
  }

  void on_header(error_code ec, size_t bytes) {
    if (ec || parser_->is_done())
      return on_read(ec, bytes);
    auto handler = on_strand([bytes](exchange& self, error_code ec2, size_t n) { self.on_read(ec2, bytes + n); });
    if (conn_->tls)
      http::async_read(*conn_->tls, conn_->buffer, *parser_, std::move(handler));
    else
      http::async_read(*conn_->plain, conn_->buffer, *parser_, std::move(handler));
  }

  void on_read(error_code ec, size_t bytes) {
    if (ec) {
      if (bytes == 0 && conn_->buffer.size() == 0 && !got_interim_ && retry_stale())
        return;
      if (ec == http::error::body_limit)
        return fail("response body over " + size_text(body_limit_));
      if (ec == http::error::end_of_stream || ec == ssl::error::stream_truncated)
        return fail("read response from " + where_ + ": the server closed the connection"
                    + (bytes == 0 ? " without answering" : " mid-response"));
      return fail("read response from " + where_ + ": " + ec.message());
    }
    auto& res = parser_->get();
    if (res.result_int() >= 100 && res.result_int() < 200 && res.result_int() != 101) {
      got_interim_ = true; // 100 Continue and friends: the answer follows
      return read();
    }
    http_response r;
    r.status = static_cast<int>(res.result_int());
    for (const auto& field : res)
      r.headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
    r.retry_after_ms = parse_retry_after(r.header("retry-after"));
    bool reusable = res.keep_alive() && !res.need_eof() && conn_->buffer.size() == 0;
    r.body = std::move(res.body());
    if (reusable)
      state_.put_idle(key_, std::move(conn_));
    finish(std::move(r));
  }

  /// A reused connection failed before any response byte: the server had
  /// closed it while idle. Tries once more on a fresh one.
  bool retry_stale() {
    if (!reused_ || retried_ || finished_)
      return false;
    retried_ = true;
    reused_ = false;
    conn_->close();
    connect_fresh();
    return true;
  }

  void fail(std::string message) {
    http_response r;
    r.error = std::move(message);
    r.timed_out = timed_out_;
    if (conn_)
      conn_->close(); // pending operations end with operation_aborted and see finished_
    finish(std::move(r));
  }

  void finish(http_response r) {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    {
      std::lock_guard guard{state_.mutex};
      state_.live.erase(id_);
    }
    r.latency_us = micros_since(start_);
    invoke(done_, std::move(r));
    done_ = nullptr;
  }

  http_client::state& state_;
  uint64_t id_;
  url_parts url_;
  std::string key_;
  std::string where_; ///< "host:port" for messages
  http::request<http::string_body> msg_;
  uint32_t timeout_ms_;
  bool verify_;
  size_t body_limit_;
  std::shared_ptr<ssl::context> context_;
  std::unique_ptr<connection> conn_;
  strand_type strand_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::function<void(http_response)> done_;
  clock_type::time_point start_;
  bool reused_ = false;
  bool retried_ = false;
  bool got_interim_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
};

} // namespace

bool same_header_name(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
            });
}

std::string http_response::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (same_header_name(key, name))
      return value;
  return {};
}

// -- http_client ----------------------------------------------------------------

http_client::http_client(unsigned threads) : state_(std::make_shared<state>()) {
  state_->sweep();
  for (unsigned i = 0; i < std::max(threads, 1u); ++i)
    state_->threads.emplace_back([s = state_] {
      // Handlers catch what they call; this is a last line of defence.
      for (;;) {
        try {
          s->ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http client: an io handler threw: {}", e.what());
        }
      }
    });
}

http_client::~http_client() {
  auto& s = *state_;
  std::vector<std::weak_ptr<exchange>> live;
  std::vector<std::shared_ptr<asio::steady_timer>> waits;
  std::map<std::string, std::deque<std::unique_ptr<connection>>> idle;
  {
    std::lock_guard guard{s.mutex};
    s.stopping = true;
    for (auto& entry : s.live)
      live.push_back(entry.second);
    for (auto& entry : s.waits)
      waits.push_back(entry.second);
    idle.swap(s.idle);
  }
  for (auto& weak : live)
    if (auto ex = weak.lock())
      asio::post(ex->strand(), [ex] { ex->abort("client shut down"); });
  for (auto& timer : waits)
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  asio::post(s.sweep_strand, [&s] { s.sweeper.cancel(); });
  idle.clear(); // no operation is pending on an idle connection
  s.work.reset();
  bool on_io_thread = std::any_of(s.threads.begin(), s.threads.end(),
                                  [](const std::thread& t) { return t.get_id() == std::this_thread::get_id(); });
  for (auto& t : s.threads) {
    // From an io thread, joining would wait for the handler we are in: the
    // threads own the state and finish once the cancelled work has run.
    if (on_io_thread)
      t.detach();
    else
      t.join();
  }
}

std::shared_ptr<http_client> http_client::shared() {
  static auto* client = new std::shared_ptr<http_client>(std::make_shared<http_client>(2));
  return *client;
}

void http_client::request(http_request req, std::function<void(http_response)> done) {
  auto start = clock_type::now();
  auto& s = *state_;
  auto fail_soon = [&](std::string message) {
    asio::post(s.ioc, [done = std::move(done), message = std::move(message), start] {
      http_response r;
      r.error = message;
      r.latency_us = micros_since(start);
      invoke(done, std::move(r));
    });
  };
  std::string error;
  auto url = parse_url(req.url, &error);
  if (!url)
    return fail_soon("bad URL: " + error);
  http::request<http::string_body> msg;
  if (auto problem = build_message(req, *url, msg))
    return fail_soon(*problem);
  std::shared_ptr<ssl::context> ctx;
  if (url->scheme == "https" && !(ctx = s.context_for(req.tls, error)))
    return fail_soon(error);
  auto key = pool_key(*url, req.tls);
  std::unique_lock lock{s.mutex};
  if (s.stopping) {
    lock.unlock();
    return fail_soon("client shut down");
  }
  auto pooled = s.take_idle(key);
  auto strand = pooled ? pooled->strand : asio::make_strand(s.ioc);
  auto id = ++s.next_id;
  auto ex = std::make_shared<exchange>(s, id, std::move(*url), std::move(key), std::move(msg), req,
                                       max_response_bytes, std::move(ctx), std::move(pooled), strand,
                                       std::move(done), start);
  s.live.emplace(id, ex);
  // Posted under the lock, so the destructor's abort queues behind it.
  asio::post(strand, [ex] { ex->start(); });
}

void http_client::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto& s = *state_;
  auto run = [fn = std::move(fn)] {
    try {
      fn();
    } catch (const std::exception& e) {
      spdlog::error("http client: an after() function threw: {}", e.what());
    } catch (...) {
      spdlog::error("http client: an after() function threw");
    }
  };
  std::unique_lock lock{s.mutex};
  if (s.stopping) {
    lock.unlock();
    asio::post(s.ioc, std::move(run));
    return;
  }
  auto id = ++s.next_id;
  auto timer = std::make_shared<asio::steady_timer>(asio::make_strand(s.ioc), delay);
  s.waits.emplace(id, timer);
  // Armed on the timer's strand, queued under the lock before any cancel
  // from the destructor; cancelled, `run` runs at once (see the class comment).
  asio::post(timer->get_executor(), [&s, id, timer, run = std::move(run)]() mutable {
    timer->async_wait([&s, id, timer, run = std::move(run)](error_code) {
      {
        std::lock_guard guard{s.mutex};
        s.waits.erase(id);
      }
      run();
    });
  });
}

} // namespace sluice::net
