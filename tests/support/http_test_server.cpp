#include "support/http_test_server.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace sluice::testing {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using json = nlohmann::json;
using request_type = http::request<http::string_body>;
using response_type = http::response<http::string_body>;

std::string lower(std::string text) {
  for (auto& ch : text)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

std::string decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    out[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return out;
}

long long number(const std::map<std::string, std::string>& query, const std::string& key, long long fallback) {
  auto i = query.find(key);
  if (i == query.end())
    return fallback;
  try {
    return std::stoll(i->second);
  } catch (const std::exception&) {
    return fallback;
  }
}

response_type json_response(int status, const json& body) {
  response_type res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

// -- the routes ---------------------------------------------------------------

response_type echo(const request_type& req, const std::string& path) {
  json headers = json::object();
  for (const auto& field : req)
    headers[lower(std::string{field.name_string()})] = std::string{field.value()};
  json body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded())
    body = req.body();
  return json_response(200, {{"method", std::string{req.method_string()}},
                             {"path", path},
                             {"body", body},
                             {"headers", headers}});
}

response_type customer(const std::string& id) {
  if (id.rfind("missing-", 0) == 0)
    return json_response(404, {{"error", "no such customer"}});
  if (id.rfind("malformed-", 0) == 0) {
    auto res = json_response(200, nullptr);
    res.body() = "{\"id\": ";
    return res;
  }
  bool gold = !id.empty() && std::isdigit(static_cast<unsigned char>(id.back())) && (id.back() - '0') % 2 == 0;
  return json_response(200, {{"id", id}, {"tier", gold ? "gold" : "silver"}, {"credit_limit", 1000}});
}

response_type batch(const request_type& req) {
  json in = json::parse(req.body(), nullptr, false);
  if (!in.is_array())
    return json_response(400, {{"error", "expected a JSON array"}});
  json out = json::array();
  for (size_t i = 0; i < in.size(); ++i) {
    const auto& el = in[i];
    if (el.is_object() && el.value("malformed", false) == true)
      out.push_back("not an object");
    else
      out.push_back({{"n", i}, {"echo", el}});
  }
  return json_response(200, out);
}

bool contains_word(const std::string& text, const char* word) {
  return lower(text).find(word) != std::string::npos;
}

/// A fake OpenAI chat completion: labels each "N: text" line of the last user
/// message; high for outage/down, medium for refund, "urgent-ish" for weird
/// (outside any label set), else low; "garbage" anywhere spoils the content.
response_type chat(const request_type& req) {
  auto auth = std::string{req[http::field::authorization]};
  if (auth.rfind("Bearer ", 0) != 0 || auth.size() <= 7)
    return json_response(401, {{"error", {{"message", "missing key"}}}});
  json in = json::parse(req.body(), nullptr, false);
  if (!in.is_object() || !in.contains("messages") || !in["messages"].is_array())
    return json_response(400, {{"error", {{"message", "expected {\"model\", \"messages\": [...]}"}}}});
  size_t chars = 0;
  std::string user;
  for (const auto& m : in["messages"]) {
    if (!m.is_object())
      continue;
    std::string content = m.contains("content") && m["content"].is_string() ? m["content"].get<std::string>() : "";
    chars += content.size();
    if (m.value("role", "") == "user")
      user = content;
  }
  json labels = json::array();
  bool garbage = false;
  size_t pos = 0;
  while (pos <= user.size()) {
    auto nl = user.find('\n', pos);
    auto line = user.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? user.size() + 1 : nl + 1;
    auto colon = line.find(':');
    auto first = line.find_first_not_of(' ');
    if (colon == std::string::npos || first == std::string::npos || first >= colon)
      continue;
    auto digits = line.substr(first, colon - first);
    if (!std::all_of(digits.begin(), digits.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }))
      continue;
    auto text = line.substr(colon + 1);
    garbage = garbage || contains_word(text, "garbage");
    const char* label = "low";
    if (contains_word(text, "outage") || contains_word(text, "down"))
      label = "high";
    else if (contains_word(text, "refund"))
      label = "medium";
    else if (contains_word(text, "weird"))
      label = "urgent-ish";
    labels.push_back({{"n", std::stoll(digits)}, {"label", label}});
  }
  std::string content = garbage ? "I cannot do that" : json{{"labels", labels}}.dump();
  auto prompt = std::max<size_t>(1, chars / 4);
  auto completion = 5 * labels.size();
  json message = {{"role", "assistant"}, {"content", content}};
  return json_response(200, {{"id", "chatcmpl-test"},
                             {"object", "chat.completion"},
                             {"model", in.value("model", "")},
                             {"choices", json::array({{{"index", 0}, {"message", message}, {"finish_reason", "stop"}}})},
                             {"usage", {{"prompt_tokens", prompt},
                                        {"completion_tokens", completion},
                                        {"total_tokens", prompt + completion}}}});
}

response_type route(const request_type& req, const std::string& path) {
  if (path == "/echo")
    return echo(req, path);
  if (path.rfind("/customers/", 0) == 0)
    return customer(decode(path.substr(11)));
  if (path == "/batch")
    return batch(req);
  if (path == "/v1/chat/completions")
    return chat(req);
  return json_response(404, {{"error", "no such path " + path}});
}

} // namespace

// -- the server ---------------------------------------------------------------

struct http_test_server::impl {
  options opts;
  asio::io_context ioc; // the sockets' home; every operation on them is synchronous
  tcp::acceptor acceptor{ioc};
  std::optional<ssl::context> tls;
  uint16_t port = 0;
  std::thread accept_thread;

  mutable std::mutex mutex; // guards everything below
  std::condition_variable stopped;
  bool stopping = false;
  std::vector<std::thread> connection_threads;
  std::set<int> open_sockets;
  size_t requests = 0;
  size_t connections = 0;
  size_t in_flight = 0;
  size_t max_in_flight = 0;
  std::vector<int64_t> times;
  std::vector<std::pair<std::string, std::string>> received; ///< path, body
  std::map<std::string, long long> hits;                     ///< per path, since reset_stats

  explicit impl(options o) : opts(std::move(o)) {
    if (opts.tls) {
      tls.emplace(ssl::context::tls_server);
      tls->use_certificate_chain(asio::buffer(opts.cert_pem));
      tls->use_private_key(asio::buffer(opts.key_pem), ssl::context::pem);
    }
    tcp::endpoint at{asio::ip::make_address("127.0.0.1"), opts.port};
    acceptor.open(at.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(at);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    accept_thread = std::thread{[this] { accept_loop(); }};
  }

  ~impl() {
    {
      std::lock_guard guard{mutex};
      stopping = true;
      for (int fd : open_sockets)
        ::shutdown(fd, SHUT_RDWR); // wakes a thread blocked reading it
    }
    stopped.notify_all();
    { // wakes the acceptor, which then sees `stopping`
      error_code ignored;
      tcp::socket wake{ioc};
      wake.connect({asio::ip::make_address("127.0.0.1"), port}, ignored);
    }
    accept_thread.join();
    for (auto& t : connection_threads)
      t.join();
  }

  void accept_loop() {
    for (;;) {
      tcp::socket socket{ioc};
      error_code ec;
      acceptor.accept(socket, ec);
      std::lock_guard guard{mutex};
      if (stopping)
        return;
      if (ec)
        continue;
      ++connections;
      open_sockets.insert(socket.native_handle());
      connection_threads.emplace_back([this, s = std::move(socket)]() mutable { run_connection(std::move(s)); });
    }
  }

  void run_connection(tcp::socket socket) {
    int fd = socket.native_handle();
    if (tls) {
      ssl::stream<tcp::socket&> stream{socket, *tls};
      error_code ec;
      stream.handshake(ssl::stream_base::server, ec);
      if (!ec)
        serve(stream);
    } else {
      serve(socket);
    }
    std::lock_guard guard{mutex};
    open_sockets.erase(fd); // before the socket closes: the fd number may be reused
  }

  template <class Stream>
  void serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec)
        return;
      auto req = parser.release();
      bool drop = false;
      auto res = answer(req, drop);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      {
        std::lock_guard guard{mutex};
        ++requests;
      }
      http::write(stream, res, ec);
      {
        std::lock_guard guard{mutex};
        --in_flight;
      }
      if (ec || !res.keep_alive() || drop)
        return;
    }
  }

  response_type answer(const request_type& req, bool& drop) {
    auto target = std::string{req.target()};
    auto qmark = target.find('?');
    auto path = target.substr(0, qmark);
    auto query = parse_query(qmark == std::string::npos ? std::string_view{} : std::string_view{target}.substr(qmark + 1));
    long long n = 0;
    {
      std::unique_lock lock{mutex};
      times.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch()).count());
      received.emplace_back(path, req.body());
      n = ++hits[path];
      max_in_flight = std::max(max_in_flight, ++in_flight);
      if (auto delay = number(query, "delay_ms", 0); delay > 0)
        stopped.wait_for(lock, std::chrono::milliseconds{delay}, [this] { return stopping; });
    }
    drop = query.count("drop_connection") && query["drop_connection"] != "0";
    if (auto status = number(query, "status", 0); status >= 100 && status <= 999)
      return json_response(static_cast<int>(status), {{"error", "injected"}});
    if (n <= number(query, "fail_first", 0))
      return json_response(500, {{"error", "injected failure " + std::to_string(n)}});
    if (auto every = number(query, "retry429_every", 0); every > 0 && n % every == 0) {
      auto res = json_response(429, {{"error", "rate limited"}});
      res.set(http::field::retry_after, query.count("retry_after") ? query["retry_after"] : "1");
      return res;
    }
    try {
      return route(req, path);
    } catch (const std::exception& e) { // e.g. a line number too long for the fake chat
      return json_response(500, {{"error", std::string{"test server: "} + e.what()}});
    }
  }
};

http_test_server::http_test_server() : http_test_server(options{}) {}

http_test_server::http_test_server(options o) : impl_(std::make_unique<impl>(std::move(o))) {}

http_test_server::~http_test_server() = default;

uint16_t http_test_server::port() const {
  return impl_->port;
}

std::string http_test_server::base_url() const {
  return std::string{impl_->tls ? "https" : "http"} + "://127.0.0.1:" + std::to_string(impl_->port);
}

size_t http_test_server::requests() const {
  std::lock_guard guard{impl_->mutex};
  return impl_->requests;
}

size_t http_test_server::connections() const {
  std::lock_guard guard{impl_->mutex};
  return impl_->connections;
}

size_t http_test_server::max_concurrency() const {
  std::lock_guard guard{impl_->mutex};
  return impl_->max_in_flight;
}

std::vector<int64_t> http_test_server::request_times_us() const {
  std::lock_guard guard{impl_->mutex};
  return impl_->times;
}

std::vector<std::string> http_test_server::bodies(const std::string& path_prefix) const {
  std::lock_guard guard{impl_->mutex};
  std::vector<std::string> out;
  for (const auto& [path, body] : impl_->received)
    if (path.rfind(path_prefix, 0) == 0)
      out.push_back(body);
  return out;
}

size_t http_test_server::count(const std::string& path_prefix) const {
  return bodies(path_prefix).size();
}

void http_test_server::reset_stats() {
  std::lock_guard guard{impl_->mutex};
  impl_->requests = 0;
  impl_->connections = 0;
  impl_->max_in_flight = impl_->in_flight;
  impl_->times.clear();
  impl_->received.clear();
  impl_->hits.clear();
}

// -- the certificate ----------------------------------------------------------

namespace {

std::string pem_of(const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  if (!bio || write(bio.get()) != 1)
    throw std::runtime_error("make_self_signed_cert: writing PEM failed");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr)
    throw std::runtime_error("make_self_signed_cert: bad extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

} // namespace

test_cert make_self_signed_cert() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_EC_gen("P-256"), &EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> cert{X509_new(), &X509_free};
  if (!key || !cert)
    throw std::runtime_error("make_self_signed_cert: OpenSSL could not make a key");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()),
                   static_cast<long>(std::chrono::system_clock::now().time_since_epoch().count() & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    throw std::runtime_error("make_self_signed_cert: signing failed");
  test_cert out;
  out.cert_pem = pem_of([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); });
  out.key_pem = pem_of([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return out;
}

} // namespace sluice::testing
