#include "ops/classify.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <regex>

#include "net/url.hpp"
#include "ops/kinds.hpp"

namespace sluice {

namespace {

using namespace std::chrono_literals;

// Completion tokens the mock charges per label it gives: about what a model
// spends on {"n":12,"label":"medium"}.
constexpr uint64_t mock_tokens_per_label = 5;

std::string dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (auto& s : items)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

// -- providers ----------------------------------------------------------------------

class openai_provider final : public classify_provider {
public:
  explicit openai_provider(openai_settings s) : s_(std::move(s)) {
    // The URL was checked by the factory; a query stays after the path.
    auto q = s_.base_url.find('?');
    auto path = s_.base_url.substr(0, q);
    while (!path.empty() && path.back() == '/')
      path.pop_back();
    url_ = path + "/chat/completions" + (q == std::string::npos ? "" : s_.base_url.substr(q));
    // Messages show no query and no user info: either may hold a secret.
    auto parts = net::parse_url(url_);
    what_ = "classify: POST ";
    if (parts)
      what_ += net::url_for_display(*parts);
  }

  status start() override {
    // Unset: refused. Set but empty: no Authorization header, for local
    // OpenAI-compatible servers that take none. Never echo the value.
    const char* key = std::getenv(s_.api_key_env.c_str());
    if (key == nullptr)
      return error{errc::invalid_config,
                   "classify: the environment variable " + s_.api_key_env
                     + " is not set (" + s_.api_key_env_path
                     + " names it); set it to the API key, or to \"\" for a server that needs none"};
    key_ = key;
    if (key_.find_first_of("\r\n") != std::string::npos) {
      key_.clear();
      return error{errc::invalid_config, "classify: the environment variable " + s_.api_key_env
                                           + " (" + s_.api_key_env_path
                                           + ") holds a line break; an API key has none"};
    }
    return {};
  }

  void launch(const classify_request& req,
              std::function<void(net::http_response)> done) const override {
    json body = {{"model", s_.model},
                 {"temperature", s_.temperature},
                 {"messages", json::array({{{"role", "system"}, {"content", req.system}},
                                           {{"role", "user"}, {"content", req.user}}})},
                 {"response_format", {{"type", "json_object"}}}};
    net::http_request r;
    r.method = "POST";
    r.url = url_;
    r.timeout_ms = s_.timeout_ms;
    r.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    if (!key_.empty())
      r.headers.emplace_back("Authorization", "Bearer " + key_);
    r.body = dump(body);
    net::http_client::shared()->request(std::move(r), std::move(done));
  }

  const std::string& what() const override { return what_; }

private:
  openai_settings s_;
  std::string url_;
  std::string what_;
  std::string key_;
};

class mock_provider final : public classify_provider {
public:
  explicit mock_provider(mock_settings s) : s_(std::move(s)) {}

  std::optional<error> check(const record& rec) const override {
    auto l = label_of(rec);
    if (!l)
      return l.err();
    return std::nullopt;
  }

  void launch(const classify_request& req,
              std::function<void(net::http_response)> done) const override {
    json labels = json::array();
    for (auto& item : req.items)
      if (auto l = label_of(*item.rec))
        labels.push_back({{"n", item.n}, {"label", *l}});
    auto prompt = std::max<uint64_t>(1, (req.system.size() + req.user.size()) / 4);
    net::http_response res;
    res.status = 200;
    res.body = chat_completion_body(dump(json{{"labels", labels}}), prompt,
                                    mock_tokens_per_label * labels.size());
    // Through the client's timer even without latency: the answer arrives
    // as a real one does, never inside launch.
    net::http_client::shared()->after(std::chrono::milliseconds{s_.latency_ms},
                                      [done = std::move(done), res = std::move(res)]() mutable {
                                        done(std::move(res));
                                      });
  }

  const std::string& what() const override { return what_; }

private:
  mock_settings s_;
  std::string what_ = "classify (mock)";

  result<std::string> label_of(const record& rec) const {
    for (size_t i = 0; i < s_.rules.size(); ++i) {
      auto hit = s_.rules[i].when.test(rec);
      if (!hit)
        return error{hit.err().code, "classify: mock rule " + std::to_string(i + 1) + " ("
                                       + s_.rules[i].when.text() + "): " + hit.err().message};
      if (*hit)
        return s_.rules[i].label;
    }
    return s_.default_label;
  }
};

// -- the operator -------------------------------------------------------------------

/// What one call's answer says about each of its records: a label or the
/// reason that record failed.
struct classify_answer final : call_answer {
  std::vector<result<std::string>> labels;
};

struct classify_config {
  std::vector<std::string> labels;
  expr::expression text;
  field_path into;
  size_t per_call = 20;
  size_t in_flight = 4;
  std::string system;
  double prompt_price = 0;     // USD per 1000 prompt tokens
  double completion_price = 0; // USD per 1000 completion tokens
};

/// `classify`: asks a model (through a provider) for one label per record
/// and sets it at `into`. A call carries up to `per_call` records; the user
/// message numbers them by their position in the call.
///
/// A record whose text cannot be computed (the expression fails, or gives
/// null) or that the provider refuses (`check`) fails alone, and is left
/// out of the call. `read` finds those records again by evaluating the same
/// pure expressions, rather than keeping state per call between launch and
/// read: nothing to lose when the actor moves or relaunches the records.
class classify_op final : public calling_op {
public:
  classify_op(classify_config cfg, std::unique_ptr<classify_provider> provider)
    : cfg_(std::move(cfg)), provider_(std::move(provider)) {}

  size_t records_per_call() const override { return cfg_.per_call; }
  size_t max_in_flight() const override { return cfg_.in_flight; }

  status start() override { return provider_->start(); }

  void launch(const std::vector<record>& recs,
              std::function<void(net::http_response)> done) override {
    classify_request req;
    req.system = cfg_.system;
    for (size_t i = 0; i < recs.size(); ++i) {
      auto text = text_of(recs[i]);
      if (!text)
        continue;
      if (!req.user.empty())
        req.user += '\n';
      req.user += std::to_string(i + 1) + ": " + *text;
      req.items.push_back({i + 1, &recs[i]});
    }
    if (req.items.empty()) {
      // Nothing to ask: an empty answer, through the same path as any.
      net::http_response res;
      res.status = 200;
      res.body = chat_completion_body(R"({"labels":[]})", 0, 0);
      net::http_client::shared()->after(0ms, [done = std::move(done), res = std::move(res)]() mutable {
        done(std::move(res));
      });
      return;
    }
    provider_->launch(req, std::move(done));
  }

  std::unique_ptr<call_answer> read(const std::vector<record>& recs,
                                    net::http_response&& res) override {
    auto answer = std::make_unique<classify_answer>();
    auto& what = provider_->what();
    if (auto failure = status_failure(res, what)) {
      answer->failure = std::move(failure);
      return answer;
    }
    auto whole = [&](std::string message) {
      answer->failure = error{errc::parse_error, what + ": " + std::move(message)};
      return std::move(answer);
    };
    auto body = json::parse(res.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return whole("the response is not a JSON object: " + excerpt(res.body));
    // Tokens are paid for even when the content turns out unreadable.
    if (auto u = body.find("usage"); u != body.end() && u->is_object()) {
      answer->prompt_tokens = tokens(*u, "prompt_tokens");
      answer->completion_tokens = tokens(*u, "completion_tokens");
      answer->cost_usd = double(answer->prompt_tokens) / 1000 * cfg_.prompt_price
                         + double(answer->completion_tokens) / 1000 * cfg_.completion_price;
    }
    const json* content = nullptr;
    if (auto c = body.find("choices"); c != body.end() && c->is_array() && !c->empty()
                                       && (*c)[0].is_object() && (*c)[0].contains("message")
                                       && (*c)[0]["message"].is_object()) {
      auto& msg = (*c)[0]["message"];
      if (auto t = msg.find("content"); t != msg.end() && t->is_string())
        content = &*t;
    }
    if (content == nullptr)
      return whole("the response has no choices[0].message.content: " + excerpt(res.body));
    auto& text = content->get_ref<const std::string&>();
    auto parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
      return whole("the model's answer is not a JSON object: " + excerpt(text));
    auto list = parsed.find("labels");
    if (list == parsed.end() || !list->is_array())
      return whole("the model's answer has no \"labels\" list: " + excerpt(text));
    // n -> label as given (not a string: as JSON, so the message shows it).
    std::vector<std::optional<std::string>> given(recs.size());
    for (auto& entry : *list) {
      if (!entry.is_object() || !entry.contains("n") || !entry.contains("label"))
        continue;
      auto n = number_of(entry["n"]);
      if (n < 1 || n > recs.size() || given[n - 1])
        continue;
      auto& l = entry["label"];
      given[n - 1] = l.is_string() ? l.get<std::string>() : dump(l);
    }
    answer->labels.reserve(recs.size());
    for (size_t i = 0; i < recs.size(); ++i) {
      if (auto t = text_of(recs[i]); !t) {
        answer->labels.emplace_back(std::move(t.err()));
      } else if (!given[i]) {
        answer->labels.emplace_back(error{
          errc::parse_error, "classify: the model gave no label for record " + std::to_string(i + 1)
                               + " of " + std::to_string(recs.size())});
      } else if (std::find(cfg_.labels.begin(), cfg_.labels.end(), *given[i]) == cfg_.labels.end()) {
        answer->labels.emplace_back(error{
          errc::parse_error, "classify: the model answered '" + excerpt(*given[i], 60)
                               + "' for record " + std::to_string(i + 1) + ", which is not one of "
                               + join(cfg_.labels)});
      } else {
        answer->labels.emplace_back(std::move(*given[i]));
      }
    }
    return answer;
  }

  void complete(record&& rec, size_t index, call_answer& answer, emitter& out) override {
    auto* mine = dynamic_cast<classify_answer*>(&answer);
    if (mine == nullptr || answer.failure || index >= mine->labels.size()) {
      calling_op::complete(std::move(rec), index, answer, out);
      return;
    }
    auto& label = mine->labels[index];
    if (!label) {
      out.fail(std::move(rec), label.err());
      return;
    }
    if (auto st = rec.set(cfg_.into, *label); !st) {
      auto err = st.err();
      err.message = "classify: into " + cfg_.into.str() + ": " + err.message;
      out.fail(std::move(rec), std::move(err));
      return;
    }
    out.emit(std::move(rec));
  }

private:
  classify_config cfg_;
  std::unique_ptr<classify_provider> provider_;

  // The record's text on one line, or why it cannot be asked about.
  result<std::string> text_of(const record& rec) const {
    auto v = cfg_.text.eval(rec);
    if (!v)
      return error{v.err().code, "classify: text: " + v.err().message};
    if (v->is_null())
      return error{errc::type_error,
                   "classify: text (" + cfg_.text.text() + ") is null or missing"};
    std::string text = v->is_string() ? v->get<std::string>() : dump(*v);
    std::replace_if(text.begin(), text.end(), [](char ch) { return ch == '\n' || ch == '\r'; },
                    ' ');
    if (auto refused = provider_->check(rec))
      return std::move(*refused);
    return text;
  }

  static uint64_t tokens(const json& usage, const char* key) {
    auto i = usage.find(key);
    return i != usage.end() && i->is_number_unsigned() ? i->get<uint64_t>() : 0;
  }

  // A line number as the model wrote it: 3 or "3"; 0 for anything else.
  static size_t number_of(const json& n) {
    if (n.is_number_unsigned())
      return n.get<size_t>();
    if (n.is_string()) {
      auto& s = n.get_ref<const std::string&>();
      auto digit = [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; };
      if (!s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), digit))
        return std::stoul(s);
    }
    return 0;
  }
};

// -- params -------------------------------------------------------------------------

const char* type_name(const json& v) {
  return v.is_number_integer() ? "integer" : v.is_number_float() ? "number" : v.type_name();
}

std::optional<std::vector<std::string>> read_labels(params_reader& p) {
  auto labels = p.strings("labels", true);
  if (!labels)
    return std::nullopt;
  if (labels->empty()) {
    p.error("labels", "expected at least one label").hint = R"(e.g. "labels": ["high", "medium", "low"])";
    return std::nullopt;
  }
  bool ok = true;
  for (size_t i = 0; i < labels->size(); ++i) {
    auto& l = (*labels)[i];
    auto at = p.path_of("labels") + "/" + std::to_string(i);
    if (l.empty()) {
      p.error_at(at, "a label must not be empty");
      ok = false;
    } else if (std::find(labels->begin(), labels->begin() + i, l) != labels->begin() + i) {
      p.error_at(at, "label '" + l + "' is listed twice");
      ok = false;
    }
  }
  return ok ? labels : std::nullopt;
}

// An object param (`key`) for a sub-reader; nullptr when absent or wrong.
const json* object_param(params_reader& p, const std::string& key) {
  auto v = p.raw(key);
  if (v == nullptr || v->is_null())
    return nullptr;
  if (!v->is_object()) {
    p.error(key, std::string{"expected an object, got "} + type_name(*v));
    return nullptr;
  }
  return v;
}

bool is_label(const std::optional<std::vector<std::string>>& labels, const std::string& l) {
  return !labels || std::find(labels->begin(), labels->end(), l) != labels->end();
}

std::unique_ptr<classify_provider> read_openai(const json& block, params_reader& p) {
  params_reader o{block, p.path_of("openai"), p.kind(), p.diags()};
  openai_settings s;
  if (auto url = o.string("base_url", false)) {
    std::string why;
    auto parts = net::parse_url(*url, &why);
    if (!parts)
      o.error("base_url", why).hint = "e.g. \"https://api.openai.com/v1\"";
    s.base_url = *url;
  }
  if (auto model = o.string("model", true)) {
    if (model->empty())
      o.error("model", "expected a model's name").hint = R"(e.g. "model": "gpt-4o-mini")";
    s.model = *model;
  }
  if (auto env = o.string("api_key_env", false)) {
    static const std::regex name_re{"[A-Za-z_][A-Za-z0-9_]*"};
    if (!std::regex_match(*env, name_re))
      o.error("api_key_env", "expected the name of an environment variable, got '" + *env + "'")
        .hint = "the variable holds the key; the key never goes into the config";
    s.api_key_env = *env;
  }
  s.api_key_env_path = o.path_of("api_key_env");
  s.timeout_ms = static_cast<uint32_t>(o.integer("timeout_ms", false, 1, 600'000).value_or(30'000));
  if (auto t = o.number("temperature", false)) {
    if (*t < 0 || *t > 2)
      o.error("temperature", "expected a number from 0 to 2");
    s.temperature = *t;
  }
  if (!o.finish())
    return nullptr;
  return make_openai_provider(std::move(s));
}

std::unique_ptr<classify_provider> read_mock(const stage_spec& spec, const json& block,
                                             params_reader& p,
                                             const std::optional<std::vector<std::string>>& labels) {
  params_reader m{block, p.path_of("mock"), p.kind(), p.diags()};
  m.names(spec.names);
  mock_settings s;
  auto not_a_label = [&](const std::string& l) {
    return "'" + l + "' is not one of the labels (" + join(*labels) + ")";
  };
  if (auto def = m.string("default", true)) {
    if (!is_label(labels, *def))
      m.error("default", not_a_label(*def));
    s.default_label = *def;
  }
  s.latency_ms = static_cast<uint32_t>(m.integer("latency_ms", false, 0, 3'600'000).value_or(0));
  bool ok = true;
  if (auto rules = m.raw("rules"); rules != nullptr && !rules->is_null()) {
    if (!rules->is_array()) {
      m.error("rules", std::string{"expected a list of {\"when\", \"label\"}, got "} + type_name(*rules));
    } else {
      for (size_t i = 0; i < rules->size(); ++i) {
        auto& item = (*rules)[i];
        auto at = m.path_of("rules") + "/" + std::to_string(i);
        if (!item.is_object()) {
          m.error_at(at, std::string{"expected an object {\"when\", \"label\"}, got "} + type_name(item));
          continue;
        }
        params_reader r{item, at, p.kind(), p.diags()};
        r.names(spec.names);
        auto when = r.expression("when", true);
        auto label = r.string("label", true);
        if (label && !is_label(labels, *label))
          r.error("label", not_a_label(*label));
        if (r.finish() && when && label)
          s.rules.push_back({std::move(*when), *label});
        else
          ok = false;
      }
    }
  }
  if (!m.finish() || !ok)
    return nullptr;
  return make_mock_provider(std::move(s));
}

std::string default_prompt(const std::vector<std::string>& labels) {
  return "Classify each numbered text into exactly one of these labels: " + join(labels) + ".";
}

// The part of the system message a custom prompt cannot drop: the answer's
// shape, which read() depends on.
std::string answer_format(const std::vector<std::string>& labels) {
  return "Answer only with a JSON object and nothing else: "
         R"({"labels":[{"n":<number>,"label":"<one of the labels>"}]})"
         ", with one entry for each numbered line of the user's message (n is the line's "
         "number) and each label one of: " + join(labels) + ".";
}

} // namespace

std::unique_ptr<classify_provider> make_openai_provider(openai_settings s) {
  return std::make_unique<openai_provider>(std::move(s));
}

std::unique_ptr<classify_provider> make_mock_provider(mock_settings s) {
  return std::make_unique<mock_provider>(std::move(s));
}

std::string chat_completion_body(const std::string& content, uint64_t prompt_tokens,
                                  uint64_t completion_tokens) {
  json message = {{"role", "assistant"}, {"content", content}};
  return dump({{"object", "chat.completion"},
               {"choices", json::array({{{"index", 0}, {"message", message}, {"finish_reason", "stop"}}})},
               {"usage", {{"prompt_tokens", prompt_tokens},
                          {"completion_tokens", completion_tokens},
                          {"total_tokens", prompt_tokens + completion_tokens}}}});
}

stage_kind describe_classify() {
  stage_kind k;
  k.name = "classify";
  k.role = stage_role::transform;
  k.summary = "labels each record's text with one of a fixed set of labels, by an AI model or mock rules";
  k.calls = true;
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    bool ok = true;
    auto provider = p.choice("provider", true, {"mock", "openai"});
    auto labels = read_labels(p);
    auto text = p.expression("text", true);
    classify_config cfg;
    cfg.into = *field_path::parse("label");
    if (auto into = p.path("into", false)) {
      if (into->empty())
        p.error("into", "expected a field to set, not the whole record").hint = R"(e.g. "into": "priority")";
      cfg.into = *into;
    }
    cfg.per_call = static_cast<size_t>(p.integer("records_per_request", false, 1, 100).value_or(20));
    cfg.in_flight = static_cast<size_t>(p.integer("max_in_flight", false, 1, 256).value_or(4));
    auto prompt = p.string("prompt", false);
    if (prompt && prompt->empty())
      p.error("prompt", "expected instructions for the model, or no prompt for the default");
    if (auto price = object_param(p, "price_per_1k_tokens")) {
      params_reader r{*price, p.path_of("price_per_1k_tokens"), p.kind(), p.diags()};
      for (auto [key, slot] : {std::pair{"prompt", &cfg.prompt_price},
                               std::pair{"completion", &cfg.completion_price}}) {
        if (auto x = r.number(key, false)) {
          if (*x < 0)
            r.error(key, "expected a price >= 0 (USD per 1000 tokens)");
          *slot = *x;
        }
      }
      ok = r.finish() && ok;
    }
    // The chosen provider's block is needed. The other's may be there too,
    // so that a config switches provider by one value (e.g.
    // "${SLUICE_CLASSIFY_PROVIDER:-mock}"); it is checked the same way, so
    // a switch never meets an error that validation could have shown.
    auto absent = [&](const char* key) {
      auto v = p.raw(key);
      return v == nullptr || v->is_null();
    };
    auto openai = object_param(p, "openai");
    auto mock = object_param(p, "mock");
    std::unique_ptr<classify_provider> made;
    auto openai_made = openai != nullptr ? read_openai(*openai, p) : nullptr;
    auto mock_made = mock != nullptr ? read_mock(spec, *mock, p, labels) : nullptr;
    if (openai != nullptr && !openai_made)
      ok = false;
    if (mock != nullptr && !mock_made)
      ok = false;
    if (provider == "openai") {
      made = std::move(openai_made);
      if (absent("openai"))
        p.error("openai", "provider 'openai' needs an 'openai' object naming the model")
          .hint = R"(e.g. "openai": {"model": "gpt-4o-mini"})";
    } else if (provider == "mock") {
      made = std::move(mock_made);
      if (absent("mock"))
        p.error("mock", "provider 'mock' needs a 'mock' object with at least its 'default' label")
          .hint = R"(e.g. "mock": {"rules": [{"when": "...", "label": "..."}], "default": "..."})";
    }
    if (!p.finish() || !ok || !made || !labels || !text)
      return nullptr;
    cfg.labels = std::move(*labels);
    cfg.text = std::move(*text);
    cfg.system = (prompt ? *prompt : default_prompt(cfg.labels)) + "\n\n" + answer_format(cfg.labels);
    return std::make_unique<classify_op>(std::move(cfg), std::move(made));
  };
  return k;
}

} // namespace sluice
