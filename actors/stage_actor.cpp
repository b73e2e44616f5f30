#include "stage_actor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "core/fault.hpp"
#include "lineage/event.hpp"
#include "messages.hpp"
#include "ops/call.hpp"
#include "ops/chaos.hpp"
#include "ops/registry.hpp"
#include "outbox.hpp"
#include "rate_limiter.hpp"
#include "seq_marks.hpp"
#include "trail_text.hpp"

namespace sluice {

std::string describe_record(const pipeline_plan& plan, const record& rec) {
  return "record " + rec.id() + " (" + origin_text(plan, rec) + ")";
}

namespace {

using clock_type = std::chrono::steady_clock;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using lineage_tick_atom = caf::atom_constant<caf::atom("lintick")>;
constexpr auto ask_timeout = std::chrono::seconds(110); // under the coordinator's 120 s

/// One input edge as the receiver sees it: the marks that make delivery
/// exactly-once (a contiguous watermark plus the seqs done ahead of it, never
/// "highest seq seen": resends arrive behind later seqs).
struct input_edge {
  caf::actor keeper;         ///< the upstream's stable address (resend requests)
  caf::actor upstream;       ///< acks go here: whoever sent the latest batch
  seq_marks processed;       ///< processed and acked
  std::set<uint64_t> held;   ///< received, not processed yet (pending or current)
  bool eos = false;
  uint64_t last_seq = 0;
  uint64_t records = 0;      ///< records received (first copies only)

  bool done(uint64_t seq) const { return processed.has(seq); }

  void mark_done(uint64_t seq) {
    held.erase(seq);
    processed.mark(seq);
  }

  bool complete() const { return eos && processed.upto() >= last_seq; }
};

/// A batch received and not yet acknowledged.
struct pending_batch {
  edge_id edge = 0;
  uint64_t seq = 0;
  batch_payload records;
  uint32_t attempts = 0;     ///< whole-batch attempts that failed so far
  int64_t first_failure_us = 0;
  int64_t not_before_us = 0; ///< batch retry backoff or injected latency
  bool latency_done = false;
};

/// A record waiting for its next attempt after a transient failure.
struct retry_item {
  record rec;
  uint32_t attempts = 0;     ///< attempts made (and failed) so far
  int64_t first_failure_us = 0;
  int64_t due_us = 0;
};

/// What one attempt at a record knows of its earlier attempts.
struct attempt_ctx {
  uint32_t attempts = 1; ///< this attempt's number
  int64_t first_failure_us = 0;
};

// -- calls (calling stages: ops/call.hpp, docs/rate-limits.md) ---------------------

/// A permit granted or an answer arrived. Grants reach the keeper (the
/// permit holder the limiters know), answers arrive on the HTTP client's
/// threads; both land in the cell's inbox, so a worker that dies between
/// their arrival and their handling loses neither: the next one finds them.
struct call_event {
  bool grant = false;
  uint64_t id = 0;       ///< grant: the ticket; answer: the call
  std::string resource;  ///< grant: the limiter's name
  uint64_t waited_us = 0;
  net::http_response response;
};

/// The one structure of a cell touched by other threads: a locked queue.
struct call_inbox {
  std::mutex mtx;
  std::vector<call_event> events;

  void push(call_event e) {
    std::lock_guard<std::mutex> lock{mtx};
    events.push_back(std::move(e));
  }

  /// The oldest event, taken out. One at a time: a worker that dies
  /// handling one leaves the rest here for the next worker (the one it died
  /// on is covered by the cell's `step`).
  std::optional<call_event> pop() {
    std::lock_guard<std::mutex> lock{mtx};
    if (events.empty())
      return std::nullopt;
    auto e = std::move(events.front());
    events.erase(events.begin());
    return e;
  }
};

/// One call of a calling stage, from its first permit request to its answer.
struct call_in_flight {
  uint64_t id = 0;
  std::vector<record> recs;
  std::vector<attempt_ctx> ctxs;
  double cost = 1;
  size_t next_limit = 0;                           ///< limiters granted so far
  uint64_t ticket = 0;                             ///< the permit being waited for
  std::vector<std::pair<size_t, uint64_t>> held;   ///< (limiter, ticket) granted
  uint64_t permit_wait_us = 0;
  int64_t launched_us = 0;                         ///< 0: not launched yet
};

/// A call whose answer is being handed to its records, one by one.
struct completing_call {
  std::vector<record> recs;
  std::vector<attempt_ctx> ctxs;
  std::unique_ptr<call_answer> answer; ///< null: read() threw
  size_t next = 0;
};

/// Where a worker was, inside the operator, on a call's behalf (so that
/// its successor knows what the crash left half done).
enum class call_step : uint8_t { none, launch, read, complete };

/// Everything of a replica that outlives its worker actor. Touched by one
/// actor at a time: the keeper while no worker runs (wiring, restarts), the
/// worker otherwise; messages between them order the accesses.
struct replica_cell {
  std::shared_ptr<const pipeline_plan> plan;
  const stage_spec& spec;
  uint32_t replica;
  op_ptr op;
  outbox out;
  outbox dlq;
  caf::actor coordinator;
  caf::actor keeper;
  std::map<edge_id, input_edge> inputs;
  std::deque<pending_batch> pending;
  std::optional<pending_batch> current; ///< the batch being processed
  size_t next_index = 0;                ///< its next record
  size_t counted = 0;                   ///< its records counted in stats.in
  bool in_op = false;                   ///< inside an operator call (crash: record not intact)
  std::deque<retry_item> retries;       ///< ordered by due time
  std::optional<retry_item> retrying;   ///< taken out of `retries`, being processed
  stage_stats stats;
  chaos_monkey chaos;
  circuit_breaker breaker;
  std::string last_crash;               ///< why the last worker died
  // Calls (a calling stage only; docs/rate-limits.md).
  calling_op* caller = nullptr;         ///< `op` as a calling_op, or null
  std::vector<caf::actor> limiters;     ///< one per spec.rate_limits name, same order
  std::vector<std::pair<record, attempt_ctx>> gathering; ///< the next call's records
  double gathering_cost = 0;
  std::map<uint64_t, call_in_flight> calls;  ///< waiting for permits or on the wire
  std::optional<completing_call> completing;
  uint64_t next_call = 0;
  uint64_t next_ticket = 0;
  call_step step = call_step::none;     ///< inside the operator for a call
  bool accounted = false;               ///< the record in the operator got an outcome (the
                                        ///< worker's flag, kept here for its successor)
  bool gathered_current = false;        ///< process_current's record is being gathered
  uint64_t step_call = 0;               ///< ... for this one
  std::shared_ptr<call_inbox> inbox = std::make_shared<call_inbox>();
  // Lineage (docs/lineage.md): the events of the unit of work in progress,
  // and the event batches sent to the recorder and not acknowledged yet.
  caf::actor lineage;                   ///< the recorder; unset: lineage is off
  lineage_sampler sampled{1.0};         ///< which records are traced (all unless sampled)
  std::vector<lineage_event> lin_events;
  std::deque<std::pair<uint64_t, lineage_payload>> lin_unacked;
  uint64_t lin_seq = 0;
  bool finished = false;
  bool failed = false;
  bool ended = false;                   ///< committed or aborted

  replica_cell(std::shared_ptr<const pipeline_plan> p, stage_index stage, uint32_t r)
    : plan(std::move(p)), spec(plan->stage(stage)), replica(r),
      chaos(spec.chaos, stage, r), breaker(spec.circuit) {
    stats.stage = stage;
    stats.replica = r;
  }

  size_t retry_capacity() const {
    return size_t{spec.flow.batch_size} * std::max<uint32_t>(1, spec.flow.window);
  }

  /// What this replica counted, with its outputs and inputs per edge.
  stage_stats snapshot() const {
    auto s = stats;
    s.out = out.records_out();
    s.batches_out = out.batches_out();
    s.sent = out.sent_per_edge();
    s.received.clear();
    for (auto& [id, in] : inputs)
      s.received.emplace_back(id, in.records);
    return s;
  }

  /// What the metrics collector asks for (the worker adds its mailbox).
  replica_metrics metrics() const {
    replica_metrics m;
    m.stats = snapshot();
    m.finished = finished;
    m.failed = failed;
    m.breaker_open = breaker.enabled() && breaker.current() == circuit_breaker::state::open;
    m.edges = out.loads();
    for (auto& e : dlq.loads())
      m.edges.push_back(e);
    return m;
  }
};

using cell_ptr = std::shared_ptr<replica_cell>;

/// What a map stage does to every record, for its `changed` lineage
/// events: "set amount_cents; rename user->customer; drop note".
template <class Json>
std::string map_changes(const Json& params) {
  std::string out;
  auto part = [&](const std::string& text) { out += (out.empty() ? "" : "; ") + text; };
  auto names = [](const auto& list) {
    std::string t;
    for (auto& v : list)
      t += (t.empty() ? "" : ", ") + (v.is_string() ? v.template get<std::string>() : v.dump());
    return t;
  };
  if (auto it = params.find("set"); it != params.end() && it->is_object() && !it->empty()) {
    std::string t;
    for (auto& [k, v] : it->items()) {
      (void) v;
      t += (t.empty() ? "" : ", ") + k;
    }
    part("set " + t);
  }
  if (auto it = params.find("rename"); it != params.end() && it->is_object() && !it->empty()) {
    std::string t;
    for (auto& [k, v] : it->items())
      t += (t.empty() ? "" : ", ") + k + "->" + (v.is_string() ? v.template get<std::string>() : v.dump());
    part("rename " + t);
  }
  if (auto it = params.find("drop"); it != params.end() && it->is_array() && !it->empty())
    part("drop " + names(*it));
  if (auto it = params.find("keep"); it != params.end() && it->is_array() && !it->empty())
    part("keep " + names(*it));
  return out;
}

/// One worker actor's state: the operator's emitter, the timers it armed.
/// Everything that must survive the worker lives in the cell.
struct worker final : emitter {
  caf::event_based_actor* self;
  cell_ptr cell;
  replica_cell& c;
  const stage_spec& spec;
  attempt_ctx ctx;
  bool& accounted;          ///< the current input record got an emit/discard/fail (in the cell)
  bool in_finish = false;   ///< emits now are derived records, not inputs passing
  bool in_end_batch = false; ///< emits in end_batch are derived records too
  bool transient_failure = false; ///< a transient failure in the current unit of work
  bool linger_armed = false;
  int64_t resume_at_us = 0; ///< a resume timer is armed for this time (0: none)
  int64_t batch_time = 0;
  const bool chaos_on;      ///< any injected fault configured (skips the clock read)

  lineage_outcome pass_outcome = lineage_outcome::passed; ///< what emitting an input means here
  std::string pass_detail;  ///< a map's changes, for `changed` events

  worker(caf::event_based_actor* s, cell_ptr cp)
    : self(s), cell(std::move(cp)), c(*cell), spec(c.spec), accounted(c.accounted),
      chaos_on(spec.chaos.any()) {
    auto kind = c.plan->kinds[spec.index];
    if (kind->role == stage_role::source) {
      pass_outcome = lineage_outcome::read;
    } else if (spec.type == "route") {
      pass_outcome = lineage_outcome::routed;
    } else if (spec.type == "map") {
      pass_outcome = lineage_outcome::changed;
      pass_detail = map_changes(spec.params_ordered);
    }
  }

  // -- lineage --------------------------------------------------------------------

  /// Records what this stage did to `rec` (if lineage is on and the record
  /// is traced), into the current unit of work's events.
  void trace(const record& rec, lineage_outcome o, std::string detail = {}, uint32_t attempt = 0) {
    if (traced(rec))
      record_event(rec, o, std::move(detail), attempt);
  }

  /// trace() for a record already known to be traced.
  void record_event(const record& rec, lineage_outcome o, std::string detail,
                    uint32_t attempt = 0) {
    // The store keeps a record's id only in the events of the stage where
    // the record began (its source, or the aggregate that made it).
    auto key = lineage_key::of(rec);
    c.lin_events.push_back(lineage_event{key, key.source == spec.index ? rec.id() : std::string{},
                                         spec.index, c.replica, batch_time, o, attempt,
                                         std::move(detail)});
  }

  /// Whether lineage is on and `rec` is among the traced records (checked
  /// before any event text is built: in sampled mode most records are not).
  bool traced(const record& rec) const {
    return c.lineage
           && c.sampled(lineage_key::of(rec));
  }

  /// An event whose detail is an error's class and message, built only
  /// when the record is traced.
  void trace_error(const record& rec, lineage_outcome o, const error& err,
                   uint32_t attempt = 0) {
    if (traced(rec))
      record_event(rec, o, std::string{to_string(err.code)} + ": " + err.message, attempt);
  }

  /// A route sent the record on another port too: add it to its event.
  void trace_more_ports(const record& rec, port_index port) {
    if (!c.lineage || c.lin_events.empty())
      return;
    auto& last = c.lin_events.back();
    if (last.outcome == lineage_outcome::routed && last.key == lineage_key::of(rec))
      last.detail += "," + port_name(port);
  }

  /// The id of this replica's output number `n` (an aggregate's group):
  /// "totals:7", or with replicas, which each number from 1, "totals#1:7".
  std::string output_id(uint64_t n) const {
    return spec.parallelism > 1 ? spec.id + "#" + std::to_string(c.replica) + ":" + std::to_string(n)
                                : spec.id + ":" + std::to_string(n);
  }

  std::string port_name(port_index port) const {
    auto& names = c.plan->ports[spec.index];
    return port < names.size() ? names[port] : std::string{};
  }

  /// Sends the events gathered so far as one batch (kept until
  /// acknowledged) once there are `lineage_min_events` of them, or with
  /// `force`; what is left waits at most lineage_linger (a timer). Fewer,
  /// larger batches: every message wakes the recorder's thread, and in
  /// sampled mode a data batch holds only a few traced records.
  void lineage_flush(bool force = false) {
    if (!c.lineage || c.lin_events.empty())
      return;
    if (!force && c.lin_events.size() < lineage_min_events) {
      if (!lineage_timer) {
        lineage_timer = true;
        self->delayed_send(self, lineage_linger, lineage_tick_atom::value);
      }
      return;
    }
    auto payload = std::make_shared<std::vector<lineage_event>>(std::move(c.lin_events));
    c.lin_events.clear();
    // In full mode the next flush comes at the end of a data batch once 256
    // events gathered: room for them without growing the vector step by step.
    // (Not after a forced flush: a timer's or the end's few events.)
    if (c.sampled.all() && !force)
      c.lin_events.reserve(lineage_min_events + spec.flow.batch_size);
    auto seq = ++c.lin_seq;
    c.lin_unacked.emplace_back(seq, payload);
    self->send(c.lineage, lineage_batch_msg{spec.index, c.replica, seq, std::move(payload)});
  }

  /// Room for another unit of work: fewer than lineage_window of this
  /// replica's event batches are unacknowledged (credit, as on data edges).
  /// Wider than a data window: the recorder stops acknowledging while it
  /// writes to the store, and a data window's worth of batches is gone in
  /// a millisecond; the bound is still batches x batch_size events.
  bool lineage_room() const {
    return !c.lineage || c.lin_unacked.size() < lineage_window;
  }
  static constexpr size_t lineage_window = 64;
  static constexpr size_t lineage_min_events = 256;
  static constexpr auto lineage_linger = std::chrono::milliseconds(100);
  bool lineage_timer = false; ///< a lineage_tick_atom is on its way

  // -- emitter --------------------------------------------------------------------

  void emit(record&& rec, port_index port) override {
    bool derived = in_finish || in_end_batch;
    if (derived) {
      // A record this stage made (an aggregate's output): its lineage key
      // is (this stage, this replica, its output number).
      auto& o = rec.trail().origin;
      if (o.source == spec.index && rec.trail().hops.empty()) {
        o.file = c.replica;
        // Replicas number their outputs each from 1: with more than one,
        // "totals:1" would name two records. Make the id the run's own.
        if (spec.parallelism > 1 && rec.id().rfind(spec.id + ":", 0) == 0)
          rec.id(output_id(o.line));
      }
      trace(rec, lineage_outcome::derived);
    } else if (!accounted) {
      accounted = true;
      ++c.stats.passed;
      if (traced(rec))
        record_event(rec, pass_outcome,
                     pass_outcome == lineage_outcome::routed ? port_name(port) : pass_detail);
    } else if (pass_outcome == lineage_outcome::routed) {
      trace_more_ports(rec, port);
    }
    rec.stamp(spec.index, batch_time);
    if (auto st = c.out.push(rec, port); !st) {
      // The record could not be placed downstream: fail it here, once.
      if (!derived) {
        --c.stats.passed;
        accounted = false;
        if (c.lineage && !c.lin_events.empty() && c.lin_events.back().key == lineage_key::of(rec))
          c.lin_events.pop_back();
      }
      fail(std::move(rec), st.err());
    }
  }

  void fold(const record& rec, uint64_t output) override {
    if (accounted)
      return;
    accounted = true;
    ++c.stats.folded;
    if (traced(rec))
      record_event(rec, lineage_outcome::folded, output_id(output));
  }

  void discard(const record& rec, disposition why) override {
    if (accounted)
      return;
    accounted = true;
    switch (why) {
      case disposition::filtered:
        ++c.stats.filtered;
        trace(rec, lineage_outcome::filtered);
        break;
      case disposition::folded:
        ++c.stats.folded;
        trace(rec, lineage_outcome::folded);
        break;
      case disposition::written:
        ++c.stats.written;
        trace(rec, lineage_outcome::written);
        // End-to-end latency: the first hop is the source stage decoding
        // the record right after it was read.
        if (auto& hops = rec.trail().hops; !hops.empty() && batch_time > hops.front().at_us)
          c.stats.end_to_end.observe(static_cast<uint64_t>(batch_time - hops.front().at_us));
        else
          c.stats.end_to_end.observe(0);
        break;
    }
  }

  void fail(record&& rec, error err) override {
    if (accounted && !in_finish)
      return;
    accounted = true;
    ++c.stats.errors;
    auto now = call_basis ? call_basis->now_us : now_us();
    bool transient = spec.retry.retries(err.code);
    if (transient) {
      transient_failure = true;
      if (!c.caller) // a calling stage's calls report, once each
        breaker_failure(now);
    }
    auto first = ctx.first_failure_us != 0 ? ctx.first_failure_us : now;
    if (transient && !in_finish && ctx.attempts < spec.retry.max_attempts) {
      ++c.stats.retries;
      trace_error(rec, lineage_outcome::retried, err, ctx.attempts);
      int64_t wait_ms =
        spec.retry.backoff_ms(ctx.attempts, call_basis ? call_basis->jitter : c.chaos.uniform());
      // A service that said when to come back (Retry-After) is believed, up
      // to max_retry_after_ms (docs/rate-limits.md).
      if (err.retry_after_ms > wait_ms)
        wait_ms = std::min<int64_t>(err.retry_after_ms, max_retry_after_ms);
      retry_item item{std::move(rec), ctx.attempts, first, now + wait_ms * 1000};
      auto at = std::upper_bound(c.retries.begin(), c.retries.end(), item.due_us,
                                 [](int64_t due, const retry_item& x) { return due < x.due_us; });
      c.retries.insert(at, std::move(item));
      return;
    }
    apply_policy(std::move(rec), std::move(err), ctx.attempts, first, now);
  }

  static constexpr int64_t max_retry_after_ms = 300'000;

  /// While a call's records complete: one time and one jitter draw for all
  /// of them, so the records of a failed call fall due together and go
  /// back as one call (process_retry gathers what is due).
  struct retry_basis {
    int64_t now_us;
    double jitter;
  };
  std::optional<retry_basis> call_basis;

  /// A unit of work failed transiently: a record, or a calling stage's call.
  void breaker_failure(int64_t now) {
    if (!c.breaker.enabled())
      return;
    auto was_open = c.breaker.current() == circuit_breaker::state::open;
    c.breaker.on_failure(now);
    if (!was_open && c.breaker.current() == circuit_breaker::state::open) {
      ++c.stats.breaker_opened;
      spdlog::warn("stage '{}': circuit breaker open after {} failures in a row; "
                   "input waits {} ms", spec.id, spec.circuit.failures,
                   spec.circuit.cooldown_ms);
    }
  }

  void apply_policy(record&& rec, error err, uint32_t attempts, int64_t first_us, int64_t last_us) {
    switch (spec.on_error) {
      case error_policy::drop:
        ++c.stats.dropped;
        trace_error(rec, lineage_outcome::dropped, err);
        return;
      case error_policy::dlq: {
        ++c.stats.dead_lettered;
        trace_error(rec, lineage_outcome::dead_lettered, err);
        auto& m = rec.meta();
        m["dlq"] = {{"stage", spec.id},
                    {"class", to_string(err.code)},
                    {"message", err.message},
                    {"attempts", attempts},
                    {"first_failure_us", first_us},
                    {"last_failure_us", last_us},
                    {"time_us", last_us}};
        (void) c.dlq.push(rec, 0);
        return;
      }
      case error_policy::fail: {
        ++c.stats.failed;
        trace_error(rec, lineage_outcome::failed, err);
        lineage_flush(true);
        std::string tries =
          attempts > 1 ? " after " + std::to_string(attempts) + " attempts" : std::string{};
        fail_stage("stage '" + spec.id + "' failed on " + describe_record(*c.plan, rec) + tries
                   + ": " + err.message
                   + " (set \"on_error\": \"dlq\" or \"drop\" on the stage to keep going)");
        return;
      }
    }
  }

  // -- the work loop --------------------------------------------------------------

  void fail_stage(std::string message) {
    if (c.failed)
      return;
    c.failed = true;
    c.pending.clear();
    c.current.reset();
    self->send(c.coordinator, stage_failed{spec.index, c.replica, std::move(message)});
  }

  bool inputs_complete() const {
    for (auto& [id, in] : c.inputs)
      if (!in.complete())
        return false;
    return true;
  }

  /// Runs the operator on one record (or, for an injected record fault,
  /// fails or crashes it before the operator sees it).
  void run_record(record&& rec) {
    accounted = false;
    switch (chaos_on ? c.chaos.on_record(now_us()) : chaos_monkey::record_fate::none) {
      case chaos_monkey::record_fate::none:
        break;
      case chaos_monkey::record_fate::throw_exception:
        // The record is untouched: after the restart it is processed again.
        throw chaos_exception("chaos: injected exception on " + describe_record(*c.plan, rec));
      case chaos_monkey::record_fate::fail_transient:
        fail(std::move(rec), error{errc::transient, "chaos: injected transient failure"});
        return;
      case chaos_monkey::record_fate::fail_permanent:
        fail(std::move(rec), error{errc::runtime_error, "chaos: injected permanent failure"});
        return;
    }
    if (c.caller) {
      gather(std::move(rec));
      return;
    }
    c.in_op = true;
    c.op->process(std::move(rec), *this);
    c.in_op = false;
    if (!accounted)
      ++c.stats.unaccounted;
  }

  // -- calls (calling stages: ops/call.hpp, docs/rate-limits.md) ------------------

  /// Whether another call may open: fewer than the operator's max_in_flight
  /// are waiting for permits or on the wire.
  bool call_room() const {
    if (!c.caller)
      return true;
    // A half-open breaker probes the service with one call, not a window.
    if (c.breaker.enabled() && c.breaker.current() == circuit_breaker::state::half_open)
      return c.calls.empty();
    return c.calls.size() < c.caller->max_in_flight();
  }

  /// Adds a record to the next call; opens it when it is full.
  void gather(record&& rec) {
    auto cost = c.caller->cost_of(rec);
    if (!cost) {
      fail(std::move(rec), cost.err());
      return;
    }
    accounted = true; // in a call now; counted when the call completes
    c.gathering_cost += *cost;
    c.gathering.emplace_back(std::move(rec), ctx);
    // The record is the call's now. A batch moves past it before the call
    // can launch, and a retry item is done with: a crash in launch fails
    // it with its call, and nothing may find it again where it came from.
    if (c.gathered_current) {
      ++c.next_index;
      c.gathered_current = false;
    }
    c.retrying.reset();
    if (c.gathering.size() >= c.caller->records_per_call())
      open_call();
  }

  /// Turns the gathered records into a call and asks for its first permit.
  void open_call() {
    if (c.gathering.empty())
      return;
    call_in_flight call;
    call.id = ++c.next_call;
    call.cost = c.caller->has_cost() ? c.gathering_cost : 1.0;
    call.recs.reserve(c.gathering.size());
    for (auto& [rec, x] : c.gathering) {
      call.recs.push_back(std::move(rec));
      call.ctxs.push_back(x);
    }
    c.gathering.clear();
    c.gathering_cost = 0;
    auto& placed = c.calls.emplace(call.id, std::move(call)).first->second;
    acquire_next(placed);
  }

  /// Requests the call's next permit, in the order of spec.rate_limits
  /// (sorted: every stage takes shared limits in the same order, so two
  /// calls never hold one limit each while waiting for the other's); with
  /// all of them held, launches it. Requests go out as the keeper: the
  /// limiters hold permits for the replica, which outlives worker crashes
  /// (its calls are still on the wire), and free them if the replica dies.
  void acquire_next(call_in_flight& call) {
    if (call.next_limit < c.limiters.size()) {
      call.ticket = ++c.next_ticket;
      caf::send_as(caf::actor_cast<caf::actor>(c.keeper), c.limiters[call.next_limit],
                   permit_request{call.ticket, call.cost});
      return;
    }
    launch(call);
  }

  void launch(call_in_flight& call) {
    call.launched_us = now_us();
    auto inbox = c.inbox;
    auto keeper = caf::actor_cast<caf::weak_actor_ptr>(c.keeper);
    auto id = call.id;
    c.step = call_step::launch;
    c.step_call = id;
    c.caller->launch(call.recs, [inbox, keeper, id](net::http_response res) {
      // Any thread; the actor system may be gone (a forced stop): a weak
      // handle, and nothing of the worker is touched here.
      call_event e;
      e.id = id;
      e.response = std::move(res);
      inbox->push(std::move(e));
      if (auto k = caf::actor_cast<caf::actor>(keeper))
        caf::anon_send(k, calls_atom::value);
    });
    c.step = call_step::none;
  }

  /// Handles every permit and answer that arrived.
  void drain_inbox() {
    while (!c.failed) {
      auto e = c.inbox->pop();
      if (!e)
        break;
      if (e->grant)
        on_grant(*e);
      else
        on_answer(e->id, std::move(e->response));
    }
    lineage_flush();
    after_output();
    pump();
  }

  void on_grant(const call_event& e) {
    auto limiter = std::find(spec.rate_limits.begin(), spec.rate_limits.end(), e.resource);
    if (limiter == spec.rate_limits.end())
      return;
    auto index = static_cast<size_t>(limiter - spec.rate_limits.begin());
    for (auto& [id, call] : c.calls) {
      if (call.launched_us == 0 && call.next_limit == index && call.ticket == e.id) {
        call.held.emplace_back(index, e.id);
        call.permit_wait_us += e.waited_us;
        ++call.next_limit;
        acquire_next(call);
        return;
      }
    }
    // Nobody waits for it (cannot happen while tickets are unique; if it
    // did, holding it would starve the limiter): give it back.
    caf::send_as(caf::actor_cast<caf::actor>(c.keeper), c.limiters[index],
                 permit_release{e.id});
  }

  void on_answer(uint64_t id, net::http_response&& res) {
    auto it = c.calls.find(id);
    if (it == c.calls.end() || it->second.launched_us == 0)
      return;
    auto call = std::move(it->second);
    c.calls.erase(it);
    auto keeper = caf::actor_cast<caf::actor>(c.keeper);
    for (auto& [index, ticket] : call.held)
      caf::send_as(keeper, c.limiters[index], permit_release{ticket});
    auto now = now_us();
    ++c.stats.calls;
    c.stats.permit_wait_us += call.permit_wait_us;
    c.stats.call_latency.observe(static_cast<uint64_t>(std::max<int64_t>(0, now - call.launched_us)));
    c.completing = completing_call{std::move(call.recs), std::move(call.ctxs), nullptr, 0};
    c.step = call_step::read;
    c.step_call = id;
    auto answer = c.caller->read(c.completing->recs, std::move(res));
    c.step = call_step::none;
    if (answer->failure)
      ++c.stats.call_failures;
    c.stats.prompt_tokens += answer->prompt_tokens;
    c.stats.completion_tokens += answer->completion_tokens;
    c.stats.cost_usd += answer->cost_usd;
    c.completing->answer = std::move(answer);
    continue_completing();
  }

  /// Hands the completing call's records, from the next one, to the
  /// operator's `complete` (or, when `read` threw, fails them all).
  void continue_completing() {
    auto& done = *c.completing;
    batch_time = now_us();
    transient_failure = false;
    call_basis = retry_basis{batch_time, c.chaos.uniform()};
    while (done.next < done.recs.size() && !c.failed) {
      auto i = done.next++;
      ctx = done.ctxs[i];
      accounted = false;
      if (!done.answer) {
        fail(std::move(done.recs[i]),
             error{errc::crash, "the operator threw reading its call's answer: " + c.last_crash});
        continue;
      }
      c.step = call_step::complete;
      c.caller->complete(std::move(done.recs[i]), i, *done.answer, *this);
      c.step = call_step::none;
      if (!accounted)
        ++c.stats.unaccounted;
    }
    call_basis.reset();
    // One report per call: a 50-record call that got a 503 is one failure.
    if (transient_failure)
      breaker_failure(batch_time);
    else if (c.breaker.enabled())
      c.breaker.on_success();
    c.completing.reset();
  }

  /// A new worker on a cell whose worker died inside the operator on a
  /// call's behalf: the record it died on fails with class `crash` (like a
  /// record a `process` threw on); a launch that threw fails its records.
  void recover_calls() {
    auto step = c.step;
    c.step = call_step::none;
    batch_time = now_us();
    if (step == call_step::launch) {
      auto it = c.calls.find(c.step_call);
      if (it != c.calls.end()) {
        auto call = std::move(it->second);
        c.calls.erase(it);
        auto keeper = caf::actor_cast<caf::actor>(c.keeper);
        for (auto& [index, ticket] : call.held)
          caf::send_as(keeper, c.limiters[index], permit_release{ticket});
        for (size_t i = 0; i < call.recs.size() && !c.failed; ++i) {
          ctx = call.ctxs[i];
          accounted = false;
          fail(std::move(call.recs[i]),
               error{errc::crash, "the operator threw starting its call: " + c.last_crash});
        }
      }
    } else if (step == call_step::complete && c.completing && c.completing->next > 0) {
      auto i = c.completing->next - 1;
      bool had_outcome = accounted; // it emitted (or failed) it, then threw
      ctx = c.completing->ctxs[i];
      accounted = false;
      // The record was handed to the operator: it may be half changed;
      // what is left of it fails with the crash.
      if (!had_outcome)
        fail(std::move(c.completing->recs[i]),
             error{errc::crash, "the operator threw on this record: " + c.last_crash});
    }
    if (c.completing && !c.failed)
      continue_completing();
  }

  void ack(edge_id edge, uint64_t seq) {
    auto& in = c.inputs[edge];
    in.mark_done(seq);
    self->send(in.upstream, ack_msg{edge, seq});
  }

  /// Processes the rest of the current batch; acknowledges it when done.
  void process_current() {
    auto& b = *c.current;
    auto& recs = *b.records;
    auto start = clock_type::now();
    batch_time = now_us();
    if (c.next_index == 0 && c.counted == 0)
      ++c.stats.batches_in;
    transient_failure = false;
    while (c.next_index < recs.size()) {
      auto i = c.next_index;
      if (c.counted <= i) {
        ++c.stats.in;
        c.counted = i + 1;
      }
      ctx = attempt_ctx{};
      c.gathered_current = c.caller != nullptr;
      run_record(std::move(recs[i]));
      c.gathered_current = false;
      c.next_index = i + 1;
      if (c.failed)
        return;
      if (!call_room())
        return; // the rest waits until a call completes
    }
    if (c.caller)
      open_call(); // the batch's last records, in a call of their own
    c.in_op = true;
    in_end_batch = true;
    c.op->end_batch(*this);
    in_end_batch = false;
    c.in_op = false;
    // A calling stage's calls tell the breaker when they complete.
    if (c.breaker.enabled() && !transient_failure && !c.caller)
      c.breaker.on_success();
    auto edge = b.edge;
    auto seq = b.seq;
    c.current.reset();
    c.next_index = 0;
    c.counted = 0;
    lineage_flush();
    ack(edge, seq);
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start)
                  .count();
    c.stats.busy_us += took;
    c.stats.batch_latency.observe(static_cast<uint64_t>(took));
  }

  /// A new worker finds a batch its predecessor was processing: the record
  /// it died on is processed again if the operator never saw it (an
  /// injected crash), or failed with class `crash` if the operator threw on
  /// it (it may be half-changed; an exception is a bug, not a retry case).
  void recover_current() {
    bool threw_in_op = c.in_op;
    c.in_op = false;
    if (!c.current || !threw_in_op)
      return;
    auto& recs = *c.current->records;
    if (c.next_index < recs.size()) {
      bool had_outcome = accounted; // it emitted (or failed) it, then threw
      accounted = false;
      ctx = attempt_ctx{};
      batch_time = now_us();
      if (!had_outcome)
        fail(std::move(recs[c.next_index]),
             error{errc::crash, "the operator threw on this record: " + c.last_crash});
      ++c.next_index;
    }
  }

  /// A new worker finds the retry its predecessor was making: untouched
  /// (an injected crash before the operator saw it), it is tried again;
  /// if the operator threw on it, it fails with class `crash`.
  void recover_retrying() {
    auto item = std::move(*c.retrying);
    c.retrying.reset();
    bool threw_in_op = c.in_op;
    c.in_op = false;
    if (!threw_in_op) {
      c.retries.push_front(std::move(item));
      return;
    }
    bool had_outcome = accounted;
    accounted = false;
    ctx = attempt_ctx{item.attempts + 1, item.first_failure_us};
    batch_time = now_us();
    if (!had_outcome)
      fail(std::move(item.rec),
           error{errc::crash, "the operator threw on this record: " + c.last_crash});
  }

  /// Tries a due retry again. A calling stage gathers every due retry into
  /// one call, up to records_per_call: a 429 on a call of 50 records must
  /// not come back as 50 calls of one.
  void process_retry() {
    batch_time = now_us();
    auto now = batch_time;
    transient_failure = false;
    do {
      c.retrying = std::move(c.retries.front());
      c.retries.pop_front();
      ctx = attempt_ctx{c.retrying->attempts + 1, c.retrying->first_failure_us};
      run_record(std::move(c.retrying->rec));
      c.retrying.reset();
    } while (c.caller && !c.failed && !c.gathering.empty()
             && c.gathering.size() < c.caller->records_per_call() && !c.retries.empty()
             && c.retries.front().due_us <= now);
    if (c.caller)
      open_call();
    else if (c.breaker.enabled() && !transient_failure)
      c.breaker.on_success();
    lineage_flush();
  }

  void after_output() {
    c.out.flush(self, spec.flow.linger_ms == 0);
    c.dlq.flush(self, true); // dead letters are rare; don't hold them back
    if (c.out.has_partial() && !linger_armed) {
      linger_armed = true;
      self->delayed_send(self, std::chrono::milliseconds(spec.flow.linger_ms), flush_atom::value);
    }
  }

  void wake_at(int64_t at_us) {
    if (resume_at_us != 0 && resume_at_us <= at_us)
      return;
    resume_at_us = at_us;
    auto wait = std::max<int64_t>(0, at_us - now_us());
    self->delayed_send(self, std::chrono::microseconds(wait), resume_atom::value);
  }

  enum class admission { wait, process, fail };

  /// Whole-batch fault injection and latency, before a batch's first record.
  /// `wait`: a timer is armed (latency, or the backoff of a batch retry);
  /// `fail`: the batch failed as a whole on its last attempt.
  admission admit(pending_batch& b) {
    auto now = now_us();
    if (b.not_before_us > now) {
      wake_at(b.not_before_us);
      return admission::wait;
    }
    if (!b.latency_done && spec.chaos.latency_ms > 0) {
      b.latency_done = true;
      b.not_before_us = now + int64_t{spec.chaos.latency_ms} * 1000;
      wake_at(b.not_before_us);
      return admission::wait;
    }
    switch (c.chaos.on_batch()) {
      case chaos_monkey::batch_fate::none:
        return admission::process;
      case chaos_monkey::batch_fate::crash:
        throw chaos_exception("chaos: injected crash before batch " + std::to_string(b.seq)
                              + " of edge " + std::to_string(b.edge));
      case chaos_monkey::batch_fate::fail:
        break;
    }
    // A batch-level transient failure: the whole batch is tried again later.
    ++b.attempts;
    c.stats.errors += b.records ? b.records->size() : 0;
    if (b.first_failure_us == 0)
      b.first_failure_us = now;
    transient_failure = true;
    if (c.breaker.enabled()) {
      auto was_open = c.breaker.current() == circuit_breaker::state::open;
      c.breaker.on_failure(now);
      if (!was_open && c.breaker.current() == circuit_breaker::state::open)
        ++c.stats.breaker_opened;
    }
    if (b.attempts < spec.retry.max_attempts && spec.retry.retries(errc::transient)) {
      ++c.stats.retries;
      b.not_before_us = now + int64_t{spec.retry.backoff_ms(b.attempts, c.chaos.uniform())} * 1000;
      wake_at(b.not_before_us);
      return admission::wait;
    }
    return admission::fail; // out of attempts: every record fails with the reason
  }

  void fail_whole_batch(pending_batch& b) {
    auto now = now_us();
    auto& recs = *b.records;
    ++c.stats.batches_in;
    batch_time = now;
    for (auto& rec : recs) {
      ++c.stats.in;
      accounted = true;
      apply_policy(std::move(rec), error{errc::transient, "chaos: injected batch failure"},
                   b.attempts, b.first_failure_us, now);
      if (c.failed)
        return;
    }
    lineage_flush();
    ack(b.edge, b.seq);
  }

  void pump() {
    while (!c.failed && c.out.clear() && c.dlq.clear() && lineage_room() && call_room()) {
      auto now = now_us();
      // A half-open breaker whose probe reported nothing (its batch waited
      // for a backoff or latency, or opened no call): the next unit probes.
      if (c.breaker.enabled() && c.breaker.current() == circuit_breaker::state::half_open
          && c.calls.empty() && !c.completing)
        c.breaker.release_probe();
      bool work_waiting = c.current || !c.pending.empty()
                          || (!c.retries.empty() && c.retries.front().due_us <= now);
      if (work_waiting && c.breaker.enabled() && !c.breaker.allow(now)) {
        // The probe call is out: its answer pumps again.
        if (c.breaker.current() == circuit_breaker::state::half_open)
          return;
        // Open: input waits upstream (no acks, so windows fill), nothing is dropped.
        wake_at(c.breaker.probe_at_us());
        return;
      }
      if (c.current) {
        process_current();
      } else if (!c.retries.empty() && c.retries.front().due_us <= now) {
        process_retry();
      } else if (!c.pending.empty() && c.retries.size() < c.retry_capacity()) {
        auto verdict = admit(c.pending.front());
        if (verdict == admission::wait)
          return;
        auto b = std::move(c.pending.front());
        c.pending.pop_front();
        if (verdict == admission::fail) {
          fail_whole_batch(b);
        } else {
          c.current = std::move(b);
          c.next_index = 0;
          c.counted = 0;
          process_current();
        }
      } else {
        if (!c.retries.empty())
          wake_at(c.retries.front().due_us);
        break;
      }
      if (c.failed)
        return;
      after_output();
    }
    if (!c.failed && !c.finished && !c.current && c.pending.empty() && c.retries.empty()
        && c.calls.empty() && c.gathering.empty() && !c.completing && inputs_complete())
      finish();
  }

  void finish() {
    c.finished = true;
    batch_time = now_us();
    in_finish = true;
    c.in_op = true;
    c.op->finish(*this);
    c.in_op = false;
    in_finish = false;
    if (c.failed)
      return;
    c.out.flush(self, true);
    c.dlq.flush(self, true);
    c.out.close(self);
    c.dlq.close(self);
    lineage_flush(true);
    if (c.lineage)
      self->send(c.lineage, lineage_eos_msg{spec.index, c.replica, c.lin_seq});
    // Through the keeper: the coordinator knows the replica by its keeper.
    self->send(c.keeper, stage_done{c.snapshot()});
  }

  replica_metrics metrics() {
    auto m = c.metrics();
    m.mailbox = self->mailbox().size();
    return m;
  }

  void arm_tick() {
    auto us = c.op->tick_interval_us();
    if (us > 0 && !c.finished)
      self->delayed_send(self, std::chrono::microseconds(us), tick_atom_::value);
  }

  // -- messages -------------------------------------------------------------------

  void on_batch(batch_msg& b) {
    auto i = c.inputs.find(b.edge);
    if (i == c.inputs.end() || c.failed)
      return;
    auto& in = i->second;
    // Ack whoever sent it: the upstream's worker directly, or its keeper.
    if (auto sender = self->current_sender())
      in.upstream = caf::actor_cast<caf::actor>(sender);
    if (in.done(b.seq)) {
      // A resend of a batch processed before: ack it again (the first ack
      // may have died with a restarted sender), never process it twice.
      ++c.stats.duplicates;
      self->send(in.upstream, ack_msg{b.edge, b.seq});
      return;
    }
    if (!in.held.insert(b.seq).second) {
      ++c.stats.duplicates; // already pending here; acked once processed
      return;
    }
    in.records += b.records ? b.records->size() : 0;
    if (!b.records)
      b.records = std::make_shared<std::vector<record>>();
    // Keep each edge's batches in seq order: after a restart, resent batches
    // can arrive behind newer ones.
    auto at = std::find_if(c.pending.begin(), c.pending.end(), [&](const pending_batch& p) {
      return p.edge == b.edge && p.seq > b.seq;
    });
    if (at == c.pending.begin() && at != c.pending.end() && at->not_before_us != 0)
      ++at; // never put a batch before one that is waiting out a retry or latency
    c.pending.insert(at, pending_batch{b.edge, b.seq, std::move(b.records)});
    pump();
  }

  void on_eos(const eos_msg& e) {
    if (auto i = c.inputs.find(e.edge); i != c.inputs.end()) {
      i->second.eos = true;
      i->second.last_seq = e.last_seq;
    }
    pump();
  }

  /// Asks every upstream to send to this worker from now on, and to resend
  /// what it has not acknowledged. Goes through the upstream's keeper (its
  /// stable address), whoever the upstream's current worker is.
  void introduce() {
    for (auto& [id, in] : c.inputs)
      self->send(in.keeper, resend_msg{id, caf::actor_cast<caf::actor>(self)});
  }

  /// A new worker on a cell whose worker died: recover the record it died
  /// on, ask every upstream for what it has not acknowledged, resend what
  /// we sent and was not acknowledged, and go on.
  void restart() {
    if (c.finished && c.in_op) {
      // It died inside the operator's finish: what it emitted there may be
      // incomplete, and finishing again could emit it twice. Stop the run.
      c.in_op = false;
      fail_stage("stage '" + spec.id + "' crashed while finishing its input: " + c.last_crash
                 + " (its final output may be incomplete; this is a bug in the operator)");
      return;
    }
    if (c.retrying)
      recover_retrying();
    else
      recover_current();
    recover_calls();
    introduce();
    c.out.resend_all(self);
    c.dlq.resend_all(self);
    // Event batches the dead worker sent may not have reached the recorder's
    // ack to it: send them again (the store ignores events it has).
    for (auto& [seq, events] : c.lin_unacked)
      self->send(c.lineage, lineage_batch_msg{spec.index, c.replica, seq, events});
    arm_tick();
    if (!c.finished) {
      after_output(); // re-arms the linger timer for a partial batch
      drain_inbox();  // permits and answers that reached the dead worker's cell
    }
  }
};

/// The worker actor: one incarnation of a replica's processing.
caf::behavior stage_worker(caf::event_based_actor* self, cell_ptr cell) {
  auto w = std::make_shared<worker>(self, std::move(cell));
  self->set_default_handler(caf::print_and_drop);
  // An exception that escapes the operator ends this actor with its text as
  // the reason; the keeper restarts a worker on the same cell.
  self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
    try {
      std::rethrow_exception(eptr);
    } catch (const std::exception& e) {
      return caf::make_error(caf::sec::runtime_error, std::string{e.what()});
    } catch (...) {
      return caf::make_error(caf::sec::runtime_error, std::string{"an unknown exception"});
    }
  });
  return {
    [=](start_atom) {
      // The first worker: the cell was just wired. Introduce it upstream,
      // so batches come here directly rather than through the keeper.
      w->introduce();
      w->arm_tick();
    },
    [=](restart_atom) { w->restart(); },
    [=](batch_msg& b) { w->on_batch(b); },
    [=](const eos_msg& e) { w->on_eos(e); },
    [=](const ack_msg& a) {
      if (!w->c.out.on_ack(self, a.edge, a.seq))
        w->c.dlq.on_ack(self, a.edge, a.seq);
      w->pump();
    },
    [=](const resend_msg& r) {
      if (!w->c.out.resend(self, r.edge, r.reply_to))
        w->c.dlq.resend(self, r.edge, r.reply_to);
    },
    [=](lineage_tick_atom) {
      w->lineage_timer = false;
      w->lineage_flush(true);
    },
    [=](const lineage_ack_msg& a) {
      auto& q = w->c.lin_unacked;
      q.erase(std::remove_if(q.begin(), q.end(), [&](auto& p) { return p.first == a.seq; }),
              q.end());
      w->pump();
    },
    [=](flush_atom) {
      w->linger_armed = false;
      if (w->c.failed)
        return;
      w->c.out.flush(self, true);
    },
    [=](resume_atom) {
      w->resume_at_us = 0;
      w->pump();
    },
    [=](calls_atom) {
      if (!w->c.failed)
        w->drain_inbox();
    },
    [=](tick_atom_) {
      auto& c = w->c;
      if (c.finished || c.failed)
        return;
      w->batch_time = now_us();
      w->in_finish = true; // tick emits are derived records
      c.in_op = true;
      c.op->tick(w->batch_time, *w);
      c.in_op = false;
      w->in_finish = false;
      w->lineage_flush();
      w->after_output();
      w->arm_tick();
    },
    [=](stats_atom) { return w->c.snapshot(); },
    [=](metrics_atom) { return w->metrics(); },
    [=](commit_atom) -> std::string {
      auto& c = w->c;
      if (c.ended || !c.op)
        return {};
      c.ended = true;
      if (auto st = c.op->commit(); !st)
        return "stage '" + c.spec.id + "': " + st.err().message;
      return {};
    },
    [=](abort_atom) -> std::string {
      auto& c = w->c;
      if (c.ended || !c.op)
        return {};
      c.ended = true;
      auto note = c.op->abort();
      return note.empty() ? note : "stage '" + c.spec.id + "': " + note;
    },
  };
}

/// "60 s", "1500 ms": a duration as the config would write it.
std::string duration_text(uint32_t ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

/// The text of an actor's exit reason, without CAF's wrapping when it
/// carries one (the worker's exception handler puts the exception's text).
std::string reason_text(caf::actor_system& sys, const caf::error& reason) {
  auto& ctx = reason.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return sys.render(reason);
}

} // namespace

caf::behavior stage_actor(caf::event_based_actor* self,
                          std::shared_ptr<const pipeline_plan> plan, stage_index stage,
                          uint32_t replica) {
  auto cell = std::make_shared<replica_cell>(std::move(plan), stage, replica);
  auto worker_handle = std::make_shared<caf::actor>();
  auto intensity = std::make_shared<restart_intensity>(cell->spec.supervision);
  auto spawn_worker = [=] {
    *worker_handle = self->spawn(stage_worker, cell);
    self->monitor(*worker_handle);
  };
  spawn_worker();
  // The worker never outlives its keeper (the coordinator ends keepers).
  self->attach_functor([=](const caf::error&) {
    if (*worker_handle)
      caf::anon_send_exit(*worker_handle, caf::exit_reason::user_shutdown);
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source != worker_handle->address())
      return;
    auto& c = *cell;
    *worker_handle = caf::actor{};
    if (c.ended || c.failed) {
      self->quit(dm.reason);
      return;
    }
    c.last_crash = reason_text(self->system(), dm.reason);
    auto id = c.spec.id + (c.spec.parallelism > 1 ? " replica " + std::to_string(replica) : "");
    if (!intensity->allow(now_us())) {
      c.failed = true;
      self->send(c.coordinator,
                 stage_failed{stage, replica,
                              "stage '" + id + "' crashed more than "
                                + std::to_string(c.spec.supervision.max_restarts)
                                + " times within " + duration_text(c.spec.supervision.within_ms)
                                + " (" + std::to_string(c.stats.restarts)
                                + " restarts in all); last error: " + c.last_crash
                                + " (raise \"supervision\": {\"max_restarts\": ...} on the stage "
                                  "if these crashes are expected)"});
      return;
    }
    ++c.stats.restarts;
    spdlog::warn("stage '{}' crashed ({}); restart {}", id, c.last_crash, c.stats.restarts);
    spawn_worker();
    self->send(c.coordinator, stage_restarted{stage, replica,
                                              static_cast<uint32_t>(c.stats.restarts),
                                              c.last_crash});
    self->send(*worker_handle, restart_atom::value);
  });
  // A request from the coordinator that the worker answers; the reply (or
  // the error, if the worker dies meanwhile) goes back to the requester.
  auto ask_worker = [=](auto atom, auto reply_type_tag) {
    using reply_type = decltype(reply_type_tag);
    auto rp = self->make_response_promise();
    self->request(*worker_handle, ask_timeout, atom)
      .then([=](reply_type& reply) mutable { rp.deliver(std::move(reply)); },
            [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
    return rp;
  };
  auto forward = [=](auto&& msg) {
    if (*worker_handle)
      self->send(*worker_handle, std::forward<decltype(msg)>(msg));
  };
  // Applies the wiring to the cell; "" or why the replica cannot start.
  auto apply_wiring = [=](wiring& w) -> std::string {
    auto& c = *cell;
    auto kind = c.plan->kinds[stage];
    diagnostics diags{c.plan->config.file};
    params_reader p{c.spec.params, c.spec.json_path + "/params", c.spec.type, diags,
                    &c.spec.params_ordered};
    c.op = kind->make_op(c.spec, p);
    if (!c.op)
      return "stage '" + c.spec.id + "' cannot start: " + diags.render();
    if (auto started = c.op->start(); !started)
      return "stage '" + c.spec.id + "' cannot start: " + started.err().message;
    c.coordinator = w.coordinator;
    c.keeper = self;
    c.lineage = w.lineage;
    c.sampled = lineage_sampler{c.plan->config.lineage.rate()};
    c.caller = dynamic_cast<calling_op*>(c.op.get());
    c.limiters = w.rate_limiters;
    if (c.limiters.size() != c.spec.rate_limits.size())
      return "stage '" + c.spec.id + "' cannot start: it names "
             + std::to_string(c.spec.rate_limits.size()) + " rate limits and was given "
             + std::to_string(c.limiters.size());
    c.out.init(w.outputs, c.plan->config.stages, c.spec.flow.batch_size);
    if (w.dlq.target)
      c.dlq.init({w.dlq}, c.plan->config.stages, c.spec.flow.batch_size);
    for (auto& in : w.inputs) {
      c.inputs[in.edge].keeper = in.upstream;
      c.inputs[in.edge].upstream = in.upstream;
    }
    self->send(*worker_handle, start_atom::value);
    return {};
  };
  auto running = std::make_shared<caf::behavior>();
  *running = caf::behavior{
    [=](batch_msg& b) {
      // As if the upstream had sent it: the worker acks whoever sent it.
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      if (!*worker_handle)
        return;
      if (sender)
        caf::send_as(sender, *worker_handle, std::move(b));
      else
        self->send(*worker_handle, std::move(b));
    },
    [=](eos_msg& e) { forward(e); },
    [=](ack_msg& a) { forward(a); },
    [=](resend_msg& r) { forward(r); },
    [=](lineage_ack_msg& a) { forward(a); },
    // Calls: limiters grant permits to the keeper (the holder they monitor);
    // answers announce themselves here. Both wait in the cell's inbox.
    [=](permit_grant& g) {
      call_event e;
      e.grant = true;
      e.id = g.ticket;
      e.resource = std::move(g.resource);
      e.waited_us = g.waited_us;
      cell->inbox->push(std::move(e));
      forward(calls_atom::value);
    },
    [=](calls_atom) { forward(calls_atom::value); },
    [=](stage_done& d) { self->send(cell->coordinator, std::move(d)); },
    [=](stats_atom) {
      if (*worker_handle)
        return ask_worker(stats_atom::value, stage_stats{});
      // No worker (it died past the restart intensity): the cell is ours.
      auto rp = self->make_response_promise();
      rp.deliver(cell->snapshot());
      return rp;
    },
    [=](metrics_atom) {
      if (*worker_handle)
        return ask_worker(metrics_atom::value, replica_metrics{});
      // No worker: it failed past the restart intensity.
      auto rp = self->make_response_promise();
      auto m = cell->metrics();
      m.failed = true;
      rp.deliver(std::move(m));
      return rp;
    },
    [=](commit_atom) {
      if (*worker_handle)
        return ask_worker(commit_atom::value, std::string{});
      auto rp = self->make_response_promise();
      rp.deliver("stage '" + cell->spec.id + "' has no running actor to commit");
      return rp;
    },
    [=](abort_atom) {
      if (*worker_handle)
        return ask_worker(abort_atom::value, std::string{});
      auto rp = self->make_response_promise();
      auto& c = *cell;
      std::string note;
      if (!c.ended && c.op) {
        c.ended = true;
        note = c.op->abort();
        if (!note.empty())
          note = "stage '" + c.spec.id + "': " + note;
      }
      rp.deliver(std::move(note));
      return rp;
    },
  };
  // Until it is wired, the keeper holds every other message back (the cell is
  // being set up, and the worker must not see it half done).
  self->set_default_handler(caf::skip);
  return {
    [=](wiring& w) -> std::string {
      auto text = apply_wiring(w);
      self->set_default_handler(caf::print_and_drop);
      self->become(*running);
      return text;
    },
  };
}

} // namespace sluice
