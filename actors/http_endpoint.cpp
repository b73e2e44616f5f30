#include "http_endpoint.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <system_error>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "metrics/prometheus.hpp"

namespace sluice {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

constexpr std::string_view valid_paths =
  "/metrics, /api/v1/pipeline, /api/v1/stages, /api/v1/stages/<id>, /healthz";

// -- routing: a request's method and target to a reply, no sockets ------------------

struct reply {
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string body;
  bool allow_header = false; ///< 405: say which methods are allowed
};

std::string dump(const json& j) {
  // Stage ids and event messages come from user data: replace invalid UTF-8
  // rather than throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

reply json_reply(http::status status, const json& j) {
  return {status, "application/json", dump(j) + "\n"};
}

reply error_reply(http::status status, const std::string& message) {
  return json_reply(status, json{{"error", message}});
}

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/// The decoded path of a request target (origin form "/a/b?q" or absolute
/// form "http://host/a/b"); the query and fragment are ignored. nullopt for a
/// target that is neither, or has a bad %-escape or a NUL.
std::optional<std::string> path_of(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) == scheme) {
      auto slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view{"/"} : target.substr(slash);
    }
  }
  if (target.empty() || target.front() != '/')
    return std::nullopt;
  target = target.substr(0, target.find_first_of("?#"));
  std::string path;
  for (size_t i = 0; i < target.size(); ++i) {
    char ch = target[i];
    if (ch == '%') {
      if (i + 2 >= target.size())
        return std::nullopt;
      int hi = hex_value(target[i + 1]);
      int lo = hex_value(target[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      ch = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (ch == '\0')
      return std::nullopt;
    path += ch;
  }
  if (path.size() > 1 && path.back() == '/')
    path.pop_back();
  return path;
}

std::optional<metrics_snapshot> ask(const http_endpoint::provider& p) {
  try {
    return p();
  } catch (const std::exception& e) {
    spdlog::debug("http endpoint: the snapshot provider threw: {}", e.what());
  } catch (...) {
    spdlog::debug("http endpoint: the snapshot provider threw");
  }
  return std::nullopt;
}

reply unavailable() {
  return error_reply(http::status::service_unavailable,
                     "the metrics collector did not answer in time; try again");
}

reply route(http::verb method, std::string_view target, const http_endpoint::provider& p) {
  auto path = path_of(target);
  if (!path)
    return error_reply(http::status::bad_request,
                       "bad request target '" + std::string{target}
                         + "': expected a path such as /metrics, where a % starts an escape of two hex digits");
  constexpr std::string_view stage_prefix = "/api/v1/stages/";
  bool known = *path == "/metrics" || *path == "/api/v1/pipeline" || *path == "/api/v1/stages"
               || *path == "/healthz" || path->rfind(stage_prefix, 0) == 0;
  if (!known)
    return error_reply(http::status::not_found,
                       "no such path '" + *path + "'; the paths are " + std::string{valid_paths});
  if (method != http::verb::get && method != http::verb::head) {
    auto r = error_reply(http::status::method_not_allowed,
                         "only GET and HEAD are allowed on " + *path);
    r.allow_header = true;
    return r;
  }
  auto snapshot = ask(p);
  if (*path == "/healthz") {
    if (!snapshot)
      return json_reply(http::status::service_unavailable,
                        {{"status", "unavailable"},
                         {"error", "the metrics collector did not answer in time"}});
    return json_reply(http::status::ok, {{"status", "ok"},
                                         {"pipeline", snapshot->pipeline},
                                         {"run_status", snapshot->status}});
  }
  if (!snapshot)
    return unavailable();
  if (*path == "/metrics")
    return {http::status::ok, std::string{prometheus_content_type}, render_prometheus(*snapshot)};
  if (*path == "/api/v1/pipeline")
    return json_reply(http::status::ok, to_json(*snapshot));
  if (*path == "/api/v1/stages") {
    auto stages = json::array();
    for (auto& st : snapshot->stages)
      stages.push_back(to_json(st));
    return json_reply(http::status::ok, stages);
  }
  auto id = path->substr(stage_prefix.size());
  for (auto& st : snapshot->stages)
    if (st.id == id)
      return json_reply(http::status::ok, to_json(st));
  std::string ids;
  for (auto& st : snapshot->stages)
    ids += (ids.empty() ? "" : ", ") + st.id;
  return error_reply(http::status::not_found, "no stage '" + id + "' in pipeline '"
                                                + snapshot->pipeline + "'; its stages are: " + ids);
}

// -- connections ---------------------------------------------------------------------

/// What every session shares with the endpoint; touched on the io thread only.
struct shared_state {
  http_endpoint::provider provider;
  http_endpoint_limits limits;
  size_t open = 0; ///< sessions alive
};

/// One connection: reads a request, answers it, and reads the next while the
/// client keeps the connection alive. Owned by its pending handlers.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, std::shared_ptr<shared_state> state)
    : stream_(std::move(socket)), state_(std::move(state)) {
    ++state_->open;
    beast::error_code ec;
    auto peer = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? std::string{"a client"} : peer.address().to_string() + ":" + std::to_string(peer.port());
  }

  ~session() { --state_->open; }

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void run() { read(); }

private:
  /// Runs a step of the session; whatever it throws ends this connection only.
  template <class F>
  void guarded(F&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      spdlog::debug("http endpoint: {}: {}; closing the connection", peer_, e.what());
      close();
    } catch (...) {
      spdlog::debug("http endpoint: {}: unknown exception; closing the connection", peer_);
      close();
    }
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(std::min<size_t>(state_->limits.header_limit, UINT32_MAX)));
    parser_->body_limit(state_->limits.body_limit);
    stream_.expires_after(state_->limits.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->guarded([&] { self->on_read(ec); });
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message)
      return close();
    if (ec == beast::error::timeout) {
      spdlog::debug("http endpoint: {}: no request within the read timeout; closing", peer_);
      return close();
    }
    if (ec == asio::error::operation_aborted)
      return;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return refuse(http::status::request_header_fields_too_large,
                    "the request line and headers exceed "
                      + std::to_string(state_->limits.header_limit) + " bytes");
    if (ec == http::error::body_limit)
      return refuse(http::status::payload_too_large,
                    "the request body exceeds " + std::to_string(state_->limits.body_limit)
                      + " bytes; GET and HEAD need none");
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category())
      return refuse(http::status::bad_request, "malformed HTTP request: " + ec.message());
    if (ec) {
      spdlog::debug("http endpoint: {}: {}; closing", peer_, ec.message());
      return close();
    }
    auto& req = parser_->get();
    auto target = req.target();
    auto r = route(req.method(), std::string_view{target.data(), target.size()},
                   state_->provider);
    spdlog::debug("http endpoint: {}: {} {} -> {}", peer_, std::string_view{req.method_string().data(), req.method_string().size()},
                  std::string_view{target.data(), target.size()}, static_cast<unsigned>(r.status));
    bool keep_alive = req.keep_alive();
    send(std::move(r), req.version(), req.method() == http::verb::head, keep_alive);
  }

  /// Answers a request that could not be read, then closes.
  void refuse(http::status status, const std::string& why) {
    spdlog::debug("http endpoint: {}: {}", peer_, why);
    send(error_reply(status, why), 11, false, false);
  }

  void send(reply r, unsigned version, bool head, bool keep_alive) {
    response_.emplace(r.status, version);
    auto& res = *response_;
    res.set(http::field::server, "sluice");
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    if (r.allow_header)
      res.set(http::field::allow, "GET, HEAD");
    res.keep_alive(keep_alive);
    if (head) {
      res.content_length(r.body.size());
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
    }
    stream_.expires_after(state_->limits.read_timeout);
    http::async_write(stream_, res,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->guarded([&] { self->on_write(ec, keep_alive); });
                      });
  }

  void on_write(beast::error_code ec, bool keep_alive) {
    response_.reset();
    if (ec) {
      spdlog::debug("http endpoint: {}: writing the response: {}", peer_, ec.message());
      return close();
    }
    if (keep_alive)
      return read();
    linger();
  }

  /// Closes after a response without losing it: stops sending, then reads
  /// and discards what the client still sends (a refused oversized request)
  /// for a short while, so that closing does not reset the connection before
  /// the client has read the response.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
      return close();
    stream_.expires_after(std::min<std::chrono::steady_clock::duration>(
      state_->limits.read_timeout, std::chrono::seconds{2}));
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->guarded([&] {
                                self->drained_ += n;
                                if (ec || self->drained_ > 1024 * 1024)
                                  return self->close();
                                self->drain();
                              });
                            });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<shared_state> state_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::array<char, 4096> drain_;
  size_t drained_ = 0;
};

std::string bind_failure(const listen_address& at, const boost::system::error_code& ec) {
  std::string what = "cannot listen on " + at.text() + ": ";
  if (ec == asio::error::address_in_use)
    return what + "the address is already in use (another sluice run or another program "
                  "listens there); choose another port, or port 0 for any free one";
  if (ec == asio::error::access_denied)
    return what + "permission denied (ports below 1024 need privileges); choose a port above 1023";
  if (ec == boost::system::errc::address_not_available)
    return what + "no network interface of this machine has that address; use 127.0.0.1, "
                  "0.0.0.0 or one of this machine's addresses";
  return what + ec.message();
}

} // namespace

// -- the endpoint ---------------------------------------------------------------------

struct http_endpoint::impl {
  // Destroyed last: destroying it destroys the pending handlers, and with
  // them the sessions and their sockets.
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer retry{ioc};
  std::shared_ptr<shared_state> state = std::make_shared<shared_state>();
  listen_address bound;
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted)
        return;
      if (ec) {
        // E.g. out of file descriptors: wait a little rather than spin.
        spdlog::debug("http endpoint: accepting a connection: {}", ec.message());
        retry.expires_after(std::chrono::milliseconds{100});
        retry.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec)
            accept();
        });
        return;
      }
      if (state->open >= state->limits.max_connections) {
        spdlog::debug("http endpoint: {} connections open; refusing another", state->open);
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        try {
          std::make_shared<session>(std::move(socket), state)->run();
        } catch (const std::exception& e) {
          spdlog::debug("http endpoint: starting a session: {}", e.what());
        }
      }
      accept();
    });
  }

  void serve() {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::debug("http endpoint: {}", e.what());
      } catch (...) {
        spdlog::debug("http endpoint: unknown exception");
      }
    }
  }
};

result<std::unique_ptr<http_endpoint>> http_endpoint::start(const listen_address& at, provider p,
                                                           http_endpoint_limits limits) {
  auto i = std::make_unique<impl>();
  i->state->provider = std::move(p);
  i->state->limits = limits;
  boost::system::error_code ec;
  tcp::endpoint ep;
  auto address = asio::ip::make_address(at.host, ec);
  if (!ec) {
    ep = tcp::endpoint{address, at.port};
  } else {
    tcp::resolver resolver{i->ioc};
    auto found = resolver.resolve(at.host, std::to_string(at.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || found.empty())
      return error{errc::io_error, "cannot listen on " + at.text() + ": the host '" + at.host
                                     + "' does not resolve (" + ec.message()
                                     + "); use an IP address such as 127.0.0.1"};
    ep = found.begin()->endpoint();
    for (auto& entry : found) // prefer IPv4, which every client tries
      if (entry.endpoint().address().is_v4()) {
        ep = entry.endpoint();
        break;
      }
  }
  auto& acceptor = i->acceptor;
  acceptor.open(ep.protocol(), ec);
  if (!ec)
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor.bind(ep, ec);
  if (!ec)
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return error{errc::io_error, bind_failure(at, ec)};
  auto local = acceptor.local_endpoint(ec);
  if (ec)
    return error{errc::io_error, bind_failure(at, ec)};
  i->bound.host = local.address().to_string();
  i->bound.port = local.port();
  i->accept();
  auto* raw = i.get();
  try {
    i->thread = std::thread([raw] { raw->serve(); });
  } catch (const std::system_error& e) {
    return error{errc::io_error, "cannot serve on " + at.text() + ": no thread: " + e.what()};
  }
  spdlog::debug("http endpoint: serving on http://{}/", i->bound.text());
  return std::unique_ptr<http_endpoint>(new http_endpoint(std::move(i)));
}

http_endpoint::http_endpoint(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

http_endpoint::~http_endpoint() {
  impl_->ioc.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
  beast::error_code ec;
  impl_->acceptor.close(ec);
  impl_->retry.cancel();
  // The sessions' handlers are still queued; the io_context destroys them,
  // and so the sessions, closing their connections.
}

uint16_t http_endpoint::port() const {
  return impl_->bound.port;
}

const listen_address& http_endpoint::address() const {
  return impl_->bound;
}

} // namespace sluice
