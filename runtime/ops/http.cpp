#include "ops/http.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include "ops/kinds.hpp"

namespace sluice {

namespace {

/// The header that carries a call's number from launch's `done` to read.
constexpr const char* call_header = "x-sluice-call";

/// Calls kept for read() beyond those that can be open; older ones belong
/// to calls whose answer will never come (their actor died).
constexpr size_t pending_slack = 64;

bool has_header(const std::vector<std::pair<std::string, std::string>>& headers,
                std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](auto& h) { return net::same_header_name(h.first, name); });
}

std::string dump(const nlohmann::json& j) {
  // Strings from CSV may hold invalid UTF-8: replaced, never thrown on.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// "an object", "a string", "null": for messages about a value's type.
std::string type_of(const nlohmann::json& j) {
  if (j.is_null())
    return "null";
  if (j.is_number_integer())
    return "an integer";
  if (j.is_number())
    return "a number";
  if (j.is_object() || j.is_array())
    return std::string{"an "} + j.type_name();
  return std::string{"a "} + j.type_name();
}

// -- params ---------------------------------------------------------------------

bool token_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0
         || std::string_view{"!#$%&'*+-.^_`|~"}.find(ch) != std::string_view::npos;
}

bool has_line_break(const std::string& text) {
  return text.find_first_of(std::string_view{"\r\n\0", 3}) != std::string::npos;
}

bool env_name(const std::string& name) {
  return !name.empty() && std::isdigit(static_cast<unsigned char>(name[0])) == 0
         && std::all_of(name.begin(), name.end(), [](char ch) {
              return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_';
            });
}

/// Reads `headers`. Values never appear in a message: they may be secrets.
bool read_headers(params_reader& p, std::vector<http_header_param>& out) {
  auto v = p.raw("headers");
  if (v == nullptr || v->is_null())
    return true;
  if (!v->is_object()) {
    p.error("headers", "expected an object of header names and values, got " + type_of(*v))
      .hint = R"(e.g. "headers": {"Accept-Language": "en", "Authorization": {"env": "API_TOKEN", "prefix": "Bearer "}})";
    return false;
  }
  bool ok = true;
  for (auto& [name, value] : v->items()) {
    auto at = p.path_of("headers", name);
    if (name.empty() || !std::all_of(name.begin(), name.end(), token_char)) {
      p.error_at(at, "'" + name + "' is not a header name: letters, digits and !#$%&'*+-.^_`|~ only");
      ok = false;
      continue;
    }
    http_header_param h;
    h.name = name;
    h.json_path = at;
    if (value.is_string()) {
      h.value = value.get<std::string>();
      if (has_line_break(h.value)) {
        p.error_at(at, "the value holds a line break, which cannot go in a header");
        ok = false;
        continue;
      }
      if (net::same_header_name(name, "Authorization") || net::same_header_name(name, "X-Api-Key"))
        p.diags().warning(at, "a credential written in the config is readable by anyone who reads the config")
          .hint = R"(take it from the environment: {"env": "API_TOKEN", "prefix": "Bearer "})";
    } else if (value.is_object()) {
      bool good = true;
      for (auto& [key, item] : value.items()) {
        if (key == "env" && item.is_string() && env_name(item.get<std::string>())) {
          h.env = item.get<std::string>();
        } else if (key == "env") {
          p.error_at(at + "/env", "expected the name of an environment variable (letters, digits, _)");
          good = false;
        } else if (key == "prefix" && item.is_string() && !has_line_break(item.get<std::string>())) {
          h.prefix = item.get<std::string>();
        } else if (key == "prefix") {
          p.error_at(at + "/prefix", "expected a string without line breaks, put before the variable's value");
          good = false;
        } else {
          p.error_at(at + "/" + key, "unknown key '" + key + "' in a header taken from the environment")
            .hint = "known keys: env, prefix";
          good = false;
        }
      }
      if (good && h.env.empty()) {
        p.error_at(at, "a header taken from the environment needs \"env\": the variable's name")
          .hint = R"(e.g. {"env": "API_TOKEN", "prefix": "Bearer "})";
        good = false;
      }
      if (!good) {
        ok = false;
        continue;
      }
    } else {
      p.error_at(at, "expected a string, or {\"env\": \"NAME\", \"prefix\": \"...\"} for a value "
                     "from the environment, got " + type_of(value));
      ok = false;
      continue;
    }
    out.push_back(std::move(h));
  }
  return ok;
}

/// Reads `tls`: {"verify": true, "ca_file": "certs/ca.pem"}.
bool read_tls(const stage_spec& spec, params_reader& p, net::tls_options& out) {
  auto v = p.raw("tls");
  if (v == nullptr || v->is_null())
    return true;
  if (!v->is_object()) {
    p.error("tls", "expected an object, got " + type_of(*v)).hint =
      R"(e.g. "tls": {"verify": true, "ca_file": "certs/ca.pem"})";
    return false;
  }
  bool ok = true;
  for (auto& [key, item] : v->items()) {
    auto at = p.path_of("tls", key);
    if (key == "verify" && item.is_boolean()) {
      out.verify = item.get<bool>();
    } else if (key == "verify") {
      p.error_at(at, "expected true or false, got " + type_of(item));
      ok = false;
    } else if (key == "ca_file" && item.is_string() && !item.get<std::string>().empty()) {
      out.ca_file = resolve_path(spec.base_dir, item.get<std::string>());
    } else if (key == "ca_file") {
      p.error_at(at, "expected the path of a PEM file of trusted certificates");
      ok = false;
    } else {
      p.error_at(at, "unknown key '" + key + "' in tls").hint = "known keys: verify, ca_file";
      ok = false;
    }
  }
  return ok;
}

/// The text of `t` before its first hole, braces unescaped.
std::string literal_prefix(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((text[i] == '{' || text[i] == '}') && i + 1 < text.size() && text[i + 1] == text[i])
      ++i;
    else if (text[i] == '{')
      break;
    out += text[i];
  }
  return out;
}

/// Checks what the url's literal part allows: all of it without holes, else
/// the scheme and, when the holes come after it, the host and port. The
/// rest is checked per record when it renders. A hole's value is
/// percent-encoded, so it can never give the scheme's "://": that part must
/// be written out.
bool check_url(const text_template& url, params_reader& p) {
  std::string why;
  if (!url.has_holes()) {
    auto text = url.render(record{});
    if (text && net::parse_url(*text, &why))
      return true;
    p.error("url", text ? why : text.err().message).hint =
      "e.g. \"https://api.example.com/customers/{.customer_id}\"";
    return false;
  }
  auto prefix = literal_prefix(url.text());
  auto sep = prefix.find("://");
  if (sep == std::string::npos) {
    p.error("url", "the url must begin with http:// or https:// written out, before any {expression}")
      .hint = "a value in {...} is percent-encoded, so it cannot give the scheme; write "
              "\"https://api.example.com/customers/{.customer_id}\"";
    return false;
  }
  auto authority_end = prefix.find_first_of("/?", sep + 3);
  auto probe = authority_end == std::string::npos ? prefix.substr(0, sep) + "://x"
                                                  : prefix.substr(0, authority_end);
  if (net::parse_url(probe, &why))
    return true;
  p.error("url", why).hint = "e.g. \"https://api.example.com/customers/{.customer_id}\"";
  return false;
}

std::optional<http_params> read_params(const stage_spec& spec, params_reader& p) {
  http_params hp;
  hp.json_path = p.path_of("");
  bool ok = true;

  auto mode = p.choice("mode", false, {"record", "batch"});
  hp.batch = mode && *mode == "batch";
  bool record_mode = !hp.batch && (mode || !p.has("mode")); // not when mode is wrong

  if (auto text = p.string("url", true)) {
    auto url = text_template::compile(*text, p.path_of("url"), p);
    if (!url) {
      ok = false;
    } else {
      ok = check_url(*url, p) && ok;
      if (hp.batch && url->has_holes()) {
        p.error("url", "in batch mode one request carries many records, so the url cannot hold "
                       "{expressions}")
          .hint = "put per-record values in the body, or use \"mode\": \"record\"";
        ok = false;
      }
      hp.url = std::move(*url);
    }
  }

  if (auto v = p.raw("body"); v != nullptr && !v->is_null()) {
    hp.body = json_template::compile(*v, p.path_of("body"), p);
    ok = hp.body.has_value() && ok;
  }

  auto method = p.choice("method", false, {"GET", "POST", "PUT", "PATCH", "DELETE"});
  hp.method = method ? *method : (hp.body || hp.batch) ? "POST" : "GET";
  if (hp.method == "GET" && (hp.body || hp.batch)) {
    p.error("method", hp.batch ? "batch mode sends its records as the request body, and a GET has none"
                               : "a GET request has no body, so 'body' cannot be sent")
      .hint = "use \"method\": \"POST\" (the default when there is a body), PUT or PATCH";
    ok = false;
  }

  ok = read_headers(p, hp.headers) && ok;

  if (auto n = p.integer("records_per_call", false, 1, 10000)) {
    if (record_mode) {
      p.error("records_per_call", "records_per_call applies to \"mode\": \"batch\" only")
        .hint = "in record mode each record is a call of its own";
      ok = false;
    }
    hp.records_per_call = static_cast<size_t>(*n);
  } else if (hp.batch) {
    hp.records_per_call = 50;
  }
  if (auto field = p.string("batch_field", false)) {
    if (record_mode)
      p.error("batch_field", "batch_field applies to \"mode\": \"batch\" only");
    else if (field->empty())
      p.error("batch_field", "expected the name of the field that holds the records' array");
    hp.batch_field = *field;
  }

  if (auto n = p.integer("timeout_ms", false, 1, 3'600'000))
    hp.timeout_ms = static_cast<uint32_t>(*n);
  if (auto n = p.integer("max_in_flight", false, 1, 1024))
    hp.max_in_flight = static_cast<size_t>(*n);

  hp.into = p.path("into", false);
  if (hp.into && hp.into->empty()) {
    p.error("into", "into takes the field the answer goes into, not '.'")
      .hint = "e.g. \"into\": \"customer\"";
    ok = false;
  }
  hp.answer_at = p.path("answer_at", false);
  if (hp.answer_at && hp.answer_at->empty())
    hp.answer_at.reset(); // '.': the whole response, as without it

  if (auto e = p.boolean("expand", false); e && *e) {
    hp.expand = true;
    if (hp.batch) {
      p.error("expand", "expand works in \"mode\": \"record\" only")
        .hint = "in batch mode each record gets the element of the answer at its position";
      ok = false;
    }
    if (hp.into) {
      p.error("expand", "expand and into exclude each other: expand makes a record of each element "
                        "of the answer, into puts the answer in the record")
        .hint = "drop one of them";
      ok = false;
    }
  }

  ok = read_tls(spec, p, hp.tls) && ok;

  if (!p.finish() || !ok)
    return std::nullopt;
  return hp;
}

} // namespace

// -- http_op ------------------------------------------------------------------------

/// What one call's answer means, per record of the call.
struct http_op::http_answer : call_answer {
  std::vector<std::optional<error>> unrendered; ///< records that were never sent
  std::vector<nlohmann::json> answers;          ///< per record, when the answer is kept
  std::string what;
};

http_op::http_op(http_params params) : p_(std::move(params)) {
  needs_answer_ = p_.into.has_value() || p_.expand;
  sends_body_ = p_.body.has_value() || p_.method == "POST" || p_.method == "PUT"
                || p_.method == "PATCH";
  if (p_.batch) {
    // The url has no holes and parsed when the params were read.
    auto text = p_.url.render(record{});
    batch_url_ = text ? *text : p_.url.text();
    auto parts = net::parse_url(batch_url_);
    batch_what_ = p_.method + " " + (parts ? net::url_for_display(*parts) : std::string{"(bad url)"});
  }
}

status http_op::start() {
  secrets_.clear();
  for (auto& h : p_.headers) {
    if (h.env.empty())
      continue;
    auto& at = h.json_path;
    const char* value = std::getenv(h.env.c_str());
    if (value == nullptr || *value == '\0')
      return error{errc::invalid_config,
                   at + ": environment variable '" + h.env + "' is "
                     + (value == nullptr ? "not set" : "empty")
                     + "; set it before the run (its value is sent as the header '" + h.name
                     + "' and never shown)"};
    std::string text = value;
    if (has_line_break(text))
      return error{errc::invalid_config, at + ": environment variable '" + h.env
                                           + "' holds a line break, which cannot go in a header"};
    h.value = h.prefix + text;
    secrets_.push_back(std::move(text));
  }
  if (!p_.tls.ca_file.empty() && !std::ifstream{p_.tls.ca_file})
    return error{errc::invalid_config,
                 p_.json_path + "/tls/ca_file: cannot read '" + p_.tls.ca_file + "'"};
  client_ = net::http_client::shared();
  return {};
}

std::string http_op::redact(std::string text) const {
  for (auto& secret : secrets_)
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
      text.replace(at, secret.size(), "***");
  return text;
}

net::http_request http_op::blank_request() const {
  net::http_request req;
  req.method = p_.method;
  req.timeout_ms = p_.timeout_ms;
  req.tls = p_.tls;
  for (auto& h : p_.headers)
    if (h.env.empty() || !h.value.empty()) // an env header before start(): absent
      req.headers.emplace_back(h.name, h.value);
  if (!has_header(req.headers, "Accept"))
    req.headers.emplace_back("Accept", "application/json");
  return req;
}

result<nlohmann::json> http_op::body_of(const record& rec) const {
  if (!p_.body)
    return rec.content();
  auto v = p_.body->render(rec);
  if (!v)
    return error{v.err().code, "body: " + v.err().message};
  return std::move(*v);
}

status http_op::render(const record& rec, net::http_request& req, std::string& what) const {
  auto url = p_.url.render(rec);
  if (!url)
    return error{url.err().code, "url: " + url.err().message};
  std::string why;
  auto parts = net::parse_url(*url, &why);
  if (!parts)
    return error{errc::type_error, "url: the rendered url is not one to call: " + why};
  if (sends_body_) {
    auto body = body_of(rec);
    if (!body)
      return body.err();
    req.body = dump(*body);
  }
  req.url = std::move(*url);
  what = p_.method + " " + net::url_for_display(*parts);
  return {};
}

void http_op::launch(const std::vector<record>& recs,
                     std::function<void(net::http_response)> done) {
  if (!client_)
    client_ = net::http_client::shared();
  pending_call call;
  call.unrendered.resize(recs.size());
  auto req = blank_request();
  if (p_.batch) {
    auto items = nlohmann::json::array();
    for (size_t i = 0; i < recs.size(); ++i) {
      auto b = body_of(recs[i]);
      if (b)
        items.push_back(std::move(*b));
      else
        call.unrendered[i] = std::move(b.err());
    }
    call.sent = items.size();
    call.what = batch_what_;
    req.url = batch_url_;
    req.body = dump(p_.batch_field.empty() ? items : nlohmann::json{{p_.batch_field, std::move(items)}});
  } else {
    for (size_t i = 0; i < recs.size(); ++i) {
      if (i > 0) { // a stage actor bug; fail the extras rather than drop them
        call.unrendered[i] = error{errc::runtime_error, "http: record mode sends one record per call"};
      } else if (auto st = render(recs[i], req, call.what); !st) {
        call.unrendered[i] = st.err();
      } else {
        call.sent = 1;
      }
    }
  }
  if (call.sent > 0 && !req.body.empty() && !has_header(req.headers, "Content-Type"))
    req.headers.emplace_back("Content-Type", "application/json");

  auto id = next_call_++;
  pending_.emplace(id, std::move(call));
  while (pending_.size() > p_.max_in_flight + pending_slack)
    pending_.erase(pending_.begin());
  auto tag = [id](net::http_response& res) {
    res.headers.erase(std::remove_if(res.headers.begin(), res.headers.end(),
                                     [](auto& h) { return net::same_header_name(h.first, call_header); }),
                      res.headers.end());
    res.headers.emplace_back(call_header, std::to_string(id));
  };
  if (pending_.at(id).sent == 0) {
    // Nothing to send: answer from the client's thread, as a request would.
    client_->after(std::chrono::milliseconds{0}, [done = std::move(done), tag] {
      net::http_response res;
      res.error = "nothing was sent";
      tag(res);
      done(std::move(res));
    });
    return;
  }
  client_->request(std::move(req), [done = std::move(done), tag](net::http_response res) {
    tag(res);
    done(std::move(res));
  });
}

std::unique_ptr<call_answer> http_op::read(const std::vector<record>& recs,
                                           net::http_response&& res) {
  auto ans = std::make_unique<http_answer>();
  auto found = pending_.end();
  auto tag = res.header(call_header);
  if (!tag.empty())
    found = pending_.find(std::strtoull(tag.c_str(), nullptr, 10));
  if (found == pending_.end()) {
    ans->failure = error{errc::transient, "http: the answer of a call this stage no longer "
                                          "waits for came back; the call is made again"};
    return ans;
  }
  auto call = std::move(found->second);
  pending_.erase(found);
  read_answer(call, recs.size(), res, *ans);
  if (ans->failure)
    ans->failure->message = redact(std::move(ans->failure->message));
  return ans;
}

void http_op::read_answer(pending_call& call, size_t count, const net::http_response& res,
                          http_answer& answer) const {
  auto* ans = &answer;
  ans->unrendered = std::move(call.unrendered);
  ans->unrendered.resize(count);
  ans->what = call.what;
  if (call.sent == 0)
    return;
  if (res.status < 200 || res.status >= 300) {
    auto quoted = res; // the body, redacted before it is cut to an excerpt
    quoted.body = redact(std::move(quoted.body));
    ans->failure = status_failure(quoted, call.what);
    return;
  }
  if (!needs_answer_)
    return;

  auto body = nlohmann::json::parse(res.body, nullptr, false);
  if (body.is_discarded()) {
    ans->failure = error{errc::parse_error,
                         call.what + ": the answer is not JSON: "
                           + (res.body.empty() ? std::string{"(an empty body)"} : excerpt(redact(res.body)))};
    return;
  }
  if (p_.answer_at) {
    // A record's path lookup, so answer_at means what a field path means.
    record holder{{}, std::move(body), {}};
    auto at = holder.get(*p_.answer_at);
    if (at == nullptr) {
      ans->failure = error{errc::parse_error, call.what + ": the answer has no "
                                                + p_.answer_at->str() + " (answer_at): "
                                                + excerpt(redact(res.body))};
      return;
    }
    body = *at;
  }
  ans->answers.resize(count);
  if (!p_.batch) {
    ans->answers[0] = std::move(body);
    return;
  }
  if (!body.is_array() || body.size() != call.sent) {
    ans->failure = error{errc::parse_error,
                         call.what + ": expected " + std::to_string(call.sent)
                           + " answers (an array, one per record sent, in order), got "
                           + (body.is_array() ? std::to_string(body.size()) : type_of(body))
                           + ": " + excerpt(redact(res.body))};
    return;
  }
  size_t next = 0;
  for (size_t i = 0; i < count; ++i)
    if (!ans->unrendered[i])
      ans->answers[i] = std::move(body[next++]);
  return;
}

void http_op::complete(record&& rec, size_t index, call_answer& answer, emitter& out) {
  auto a = dynamic_cast<http_answer*>(&answer);
  if (a == nullptr) {
    calling_op::complete(std::move(rec), index, answer, out);
    return;
  }
  if (index < a->unrendered.size() && a->unrendered[index]) {
    out.fail(std::move(rec), *a->unrendered[index]);
    return;
  }
  if (a->failure) {
    out.fail(std::move(rec), *a->failure);
    return;
  }
  if (!needs_answer_) {
    out.emit(std::move(rec));
    return;
  }
  if (index >= a->answers.size()) {
    out.fail(std::move(rec), error{errc::runtime_error, "http: no answer for record "
                                                          + std::to_string(index) + " of the call"});
    return;
  }
  auto& value = a->answers[index];
  if (p_.into) {
    if (auto st = rec.set(*p_.into, std::move(value)); !st) {
      out.fail(std::move(rec), error{errc::type_error, "into " + p_.into->str() + ": "
                                                         + st.err().message});
      return;
    }
    out.emit(std::move(rec));
    return;
  }
  // expand
  if (!value.is_array()) {
    out.fail(std::move(rec), error{errc::type_error, a->what + ": expand needs the answer to be "
                                                       "an array, got " + type_of(value) + ": "
                                                       + redact(excerpt(dump(value)))});
    return;
  }
  for (size_t n = 0; n < value.size(); ++n) {
    if (!value[n].is_object()) {
      out.fail(std::move(rec), error{errc::type_error, a->what + ": expand makes a record of each "
                                                         "element, and element " + std::to_string(n)
                                                         + " is " + type_of(value[n])
                                                         + ", not an object"});
      return;
    }
  }
  if (value.empty()) {
    out.discard(rec, disposition::filtered);
    return;
  }
  for (size_t n = 0; n < value.size(); ++n) {
    // <id>/<n>, numbered from 1 like a stage's outputs; the source's lineage.
    record child{rec.id() + "/" + std::to_string(n + 1), std::move(value[n]), rec.trail()};
    child.meta() = rec.meta();
    out.emit(std::move(child));
  }
}

// -- the kind -----------------------------------------------------------------------

stage_kind describe_http() {
  stage_kind k;
  k.name = "http";
  k.role = stage_role::transform;
  k.summary = "calls an HTTP API per record (or per batch) and keeps or expands its JSON answer";
  k.calls = true;
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    auto params = read_params(spec, p);
    if (!params)
      return nullptr;
    return std::make_unique<http_op>(std::move(*params));
  };
  return k;
}

} // namespace sluice
