#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ops/call.hpp"
#include "ops/call_templates.hpp"

namespace sluice {

/// One header of an `http` stage: a literal value, or one read from the
/// environment in start() (`{"env": "API_TOKEN", "prefix": "Bearer "}`).
struct http_header_param {
  std::string name;
  std::string value; ///< the literal, or (env) the value once start() read it
  std::string env;   ///< the variable's name; empty for a literal
  std::string prefix;
  std::string json_path; ///< "/stages/3/params/headers/Authorization", for start()
};

/// An `http` stage's params, checked (docs/stages.md#http).
struct http_params {
  text_template url;
  std::string method = "GET";
  std::vector<http_header_param> headers;
  std::optional<json_template> body;
  bool batch = false;         ///< mode "batch": records_per_call records per call
  size_t records_per_call = 1;
  std::string batch_field;    ///< batch: wrap the array as {batch_field: [...]}
  uint32_t timeout_ms = 10000;
  size_t max_in_flight = 8;
  std::optional<field_path> into;      ///< where the answer goes; none: not kept
  std::optional<field_path> answer_at; ///< the part of the response that is the answer
  bool expand = false;                 ///< each element of the answer becomes a record
  net::tls_options tls;
  std::string json_path; ///< "/stages/3/params", for start()'s messages
};

/// The `http` stage's operator: one HTTP request per record (or per batch of
/// records), its JSON answer put into the record, expanded into records, or
/// (webhooks) not kept.
///
/// Rendering happens in `launch`, so a record whose url or body does not
/// render never reaches the wire: `launch` keeps, per call, which records
/// failed to render and with what (`pending_`, keyed by a call number that
/// travels back in the response as the `x-sluice-call` header its `done`
/// adds). `read` takes that state back, so `complete` fails exactly those
/// records (type_error) while the others of a batch get their answers. A
/// call with no renderable record sends nothing: its `done` runs on the
/// client's io thread with an empty response. State of a call whose answer
/// never comes back (its actor died; the next one launches it anew) is
/// dropped once it is far behind the newest call.
class http_op final : public calling_op {
public:
  explicit http_op(http_params params);

  /// Reads the headers taken from the environment; a variable missing or
  /// empty fails the start, naming the param and the variable (never a value).
  status start() override;

  size_t records_per_call() const override { return p_.records_per_call; }
  size_t max_in_flight() const override { return p_.max_in_flight; }

  void launch(const std::vector<record>& recs,
              std::function<void(net::http_response)> done) override;

  std::unique_ptr<call_answer> read(const std::vector<record>& recs,
                                    net::http_response&& res) override;

  void complete(record&& rec, size_t index, call_answer& answer, emitter& out) override;

private:
  /// What launch knew about a call, for read().
  struct pending_call {
    std::vector<std::optional<error>> unrendered; ///< per record of the call
    std::string what;                             ///< "GET http://host/path"
    size_t sent = 0;                              ///< records in the request
  };

  struct http_answer;

  /// Fills `answer` from the response of `call` (of `count` records).
  void read_answer(pending_call& call, size_t count, const net::http_response& res,
                   http_answer& answer) const;

  /// Renders `rec`'s url and (when it sends one) body into `req`, and names
  /// the call in `what`; an error says why the record cannot be sent.
  status render(const record& rec, net::http_request& req, std::string& what) const;
  /// The JSON a record contributes to a body: the body template's value, or
  /// the record's content.
  result<nlohmann::json> body_of(const record& rec) const;
  net::http_request blank_request() const;
  /// `text` with every secret (a value from the environment) blanked out:
  /// a server may echo a header back in the body a message quotes.
  std::string redact(std::string text) const;

  http_params p_;
  std::string batch_url_;  ///< batch mode: the one url (it has no holes)
  std::string batch_what_; ///< batch mode: "POST http://host/path" for messages
  bool sends_body_ = false; ///< record mode: whether a request has a body
  bool needs_answer_ = false;
  std::vector<std::string> secrets_; ///< the environment's values, for redact()
  std::shared_ptr<net::http_client> client_;
  uint64_t next_call_ = 1;
  std::map<uint64_t, pending_call> pending_;
};

} // namespace sluice
