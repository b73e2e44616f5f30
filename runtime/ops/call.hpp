#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "expr/expression.hpp"
#include "net/http_client.hpp"
#include "ops/operator.hpp"

namespace sluice {

/// What one call's answer means for its records, as the operator read it.
/// The stage actor keeps it while it hands the records to `complete` one by
/// one, and adds the usage to the stage's counters.
struct call_answer {
  virtual ~call_answer() = default;

  /// Set when the whole call failed (transport error, a status, an answer
  /// that could not be read at all): every record of the call fails with it.
  std::optional<error> failure;

  // Usage, for the stage's counters (docs/rate-limits.md, "What calls cost").
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  double cost_usd = 0;
};

/// Classifies a response by its status, as every calling kind does:
/// 2xx: none; 429, 5xx, timeouts and transport errors: transient (retried
/// by the stage's `retry`, honouring Retry-After); any other status:
/// permanent, with the status and an excerpt of the body. `what` names the
/// call in messages ("GET http://host/customers/7").
std::optional<error> status_failure(const net::http_response& res, const std::string& what);

/// The first `max` bytes of `body` on one line, for error messages.
std::string excerpt(const std::string& body, size_t max = 200);

/// An operator that calls something outside the process (an HTTP API, an AI
/// model) and waits for the answer without blocking a thread. The stage
/// actor does not call `process` on it; instead, per record it evaluates
/// `cost_of`, gathers `records_per_call()` records into one call, takes a
/// permit from each rate limit the stage names (docs/rate-limits.md),
/// `launch`es the call, and when the answer arrives (as a message) releases
/// the permits, asks `read` what the answer means and hands each record to
/// `complete`, which emits, discards or fails it like `process` would.
///
/// The records of a call stay in the replica's cell until it completes, so
/// when the replica's actor dies the next one launches the call again
/// (calls are at least once; see docs/rate-limits.md).
class calling_op : public op {
public:
  /// Records per call (1: a call per record).
  virtual size_t records_per_call() const = 0;

  /// Calls one replica keeps open at once (waiting for a permit, or on the
  /// wire); a batch waits for room.
  virtual size_t max_in_flight() const = 0;

  /// Tokens a record adds to its call's cost (the stage's `cost`
  /// expression, or 1 per call when there is none: then this returns 0 and
  /// the stage actor counts 1 per call). An error fails the record.
  result<double> cost_of(const record& rec) const;

  /// Whether the stage has a `cost` expression.
  bool has_cost() const noexcept { return cost_.valid(); }

  void set_cost(expr::expression cost) { cost_ = std::move(cost); }

  /// Starts the call for `recs` (kept by the caller until the call
  /// completes). `done` runs exactly once, on any thread.
  virtual void launch(const std::vector<record>& recs,
                      std::function<void(net::http_response)> done) = 0;

  /// What the answer says, for the whole call.
  virtual std::unique_ptr<call_answer> read(const std::vector<record>& recs,
                                            net::http_response&& res) = 0;

  /// Record `index` of the call, with the call's answer: emit, discard or
  /// fail it. The default fails it with the answer's failure.
  virtual void complete(record&& rec, size_t index, call_answer& answer, emitter& out);

  /// Never called: records arrive through launch/complete.
  void process(record&& rec, emitter& out) final;

private:
  expr::expression cost_;
};

} // namespace sluice
