#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "expr/expression.hpp"
#include "net/http_client.hpp"
#include "ops/call.hpp"

namespace sluice {

/// One call's worth of texts for a model, built by the classify operator:
/// the system message (instructions and the answer format) and the user
/// message, one line "N: text" per record asked about, N being the record's
/// 1-based position in the call.
struct classify_request {
  struct item {
    size_t n = 0;                 ///< the record's line number in `user`
    const record* rec = nullptr;  ///< valid only during `launch`
  };
  std::string system;
  std::string user;
  std::vector<item> items;        ///< in line order; never empty
};

/// Where a `classify` stage's labels come from. Both providers answer with
/// the body of an OpenAI chat completion whose content is
/// {"labels":[{"n":1,"label":"..."}]}, so the operator reads every answer
/// the same way, and a mock is a faithful stand-in for dry runs and tests.
///
/// 1. `start` is called once, from the stage's actor, before any `launch`.
/// 2. `check` and `launch` are called from the stage's actor only; `done`
///    runs exactly once, on an io thread of net::http_client::shared(),
///    never inside `launch`. What `done` runs must not reach the provider:
///    the stage may be gone by then.
/// 3. `check` is a pure function of the record: the operator asks it in
///    `launch` and again in `read`, instead of keeping per-call state.
class classify_provider {
public:
  virtual ~classify_provider() = default;

  virtual status start() { return {}; }

  /// A problem that fails `rec` before any call (the mock: a rule that
  /// fails on it); nullopt when the record can be asked about.
  virtual std::optional<error> check(const record& rec) const {
    (void) rec;
    return std::nullopt;
  }

  virtual void launch(const classify_request& req,
                      std::function<void(net::http_response)> done) const = 0;

  /// Names the call in messages: "classify: POST https://api.openai.com/v1/chat/completions".
  virtual const std::string& what() const = 0;
};

/// An OpenAI-compatible chat completions endpoint (OpenAI, Azure, vLLM,
/// llama.cpp, ollama): POST {base_url}/chat/completions.
struct openai_settings {
  std::string base_url = "https://api.openai.com/v1"; ///< may carry a query (Azure's ?api-version=)
  std::string model;
  std::string api_key_env = "OPENAI_API_KEY";
  std::string api_key_env_path; ///< the JSON path naming the variable, for start()'s message
  uint32_t timeout_ms = 30000;
  double temperature = 0;
};

/// Labels by rules, without a network: the first rule whose `when` holds
/// gives the label, else `default_label`.
struct mock_settings {
  struct rule {
    expr::expression when;
    std::string label;
  };
  std::vector<rule> rules;
  std::string default_label;
  uint32_t latency_ms = 0;
};

std::unique_ptr<classify_provider> make_openai_provider(openai_settings s);
std::unique_ptr<classify_provider> make_mock_provider(mock_settings s);

/// The body of a chat completion answering `content`, with that usage: what
/// the mock answers, and what the operator answers itself for a call whose
/// every record failed before asking.
std::string chat_completion_body(const std::string& content, uint64_t prompt_tokens,
                                 uint64_t completion_tokens);

} // namespace sluice
