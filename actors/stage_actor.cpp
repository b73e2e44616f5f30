#include "stage_actor.hpp"

#include <chrono>
#include <deque>
#include <map>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "messages.hpp"
#include "ops/registry.hpp"
#include "outbox.hpp"
#include "trail_text.hpp"

namespace sluice {

std::string describe_record(const pipeline_plan& plan, const record& rec) {
  return "record " + rec.id() + " (" + origin_text(plan, rec) + ")";
}

namespace {

using clock_type = std::chrono::steady_clock;

struct pending_batch {
  caf::strong_actor_ptr sender;
  batch_msg batch;
};

struct input_edge {
  bool eos = false;
  uint64_t records = 0;
};

/// The stage actor's state; also the operator's emitter.
struct stage_host final : emitter {
  caf::event_based_actor* self;
  std::shared_ptr<const pipeline_plan> plan;
  const stage_spec& spec;
  uint32_t replica;
  op_ptr op;
  outbox out;
  outbox dlq;
  caf::actor coordinator;
  std::map<edge_id, input_edge> inputs;
  std::deque<pending_batch> pending;
  stage_stats stats;
  bool accounted = false;   ///< the current input record got an emit/discard/fail
  bool in_finish = false;   ///< emits now are derived records, not inputs passing
  bool linger_armed = false;
  bool finished = false;
  bool failed = false;
  bool ended = false;       ///< committed or aborted
  int64_t batch_time = 0;

  stage_host(caf::event_based_actor* s, std::shared_ptr<const pipeline_plan> p,
             stage_index stage, uint32_t r)
    : self(s), plan(std::move(p)), spec(plan->stage(stage)), replica(r) {
    stats.stage = stage;
    stats.replica = r;
  }

  // -- emitter --------------------------------------------------------------------

  void emit(record&& rec, port_index port) override {
    if (!in_finish && !accounted) {
      accounted = true;
      ++stats.passed;
    }
    rec.stamp(spec.index, batch_time);
    if (auto st = out.push(rec, port); !st) {
      // The record could not be placed downstream: fail it here, once.
      if (!in_finish) {
        --stats.passed;
        accounted = false;
      }
      fail(std::move(rec), st.err());
    }
  }

  void discard(const record&, disposition why) override {
    if (accounted)
      return;
    accounted = true;
    switch (why) {
      case disposition::filtered: ++stats.filtered; break;
      case disposition::folded: ++stats.folded; break;
      case disposition::written: ++stats.written; break;
    }
  }

  void fail(record&& rec, error err) override {
    if (accounted && !in_finish)
      return;
    accounted = true;
    switch (spec.on_error) {
      case error_policy::drop:
        ++stats.dropped;
        return;
      case error_policy::dlq: {
        ++stats.dead_lettered;
        auto& m = rec.meta();
        m["dlq"] = {{"stage", spec.id},
                    {"class", to_string(err.code)},
                    {"message", err.message},
                    {"time_us", now_us()}};
        (void) dlq.push(rec, 0);
        return;
      }
      case error_policy::fail:
        ++stats.failed;
        fail_stage("stage '" + spec.id + "' failed on " + describe_record(*plan, rec) + ": "
                   + err.message
                   + " (set \"on_error\": \"dlq\" or \"drop\" on the stage to keep going)");
        return;
    }
  }

  // -- the work loop --------------------------------------------------------------

  void fail_stage(std::string message) {
    if (failed)
      return;
    failed = true;
    pending.clear();
    self->send(coordinator, stage_failed{spec.index, replica, std::move(message)});
  }

  bool inputs_complete() const {
    for (auto& [id, in] : inputs)
      if (!in.eos)
        return false;
    return true;
  }

  void process(pending_batch& pb) {
    auto start = clock_type::now();
    batch_time = now_us();
    ++stats.batches_in;
    for (auto& rec : pb.batch.records) {
      ++stats.in;
      accounted = false;
      op->process(std::move(rec), *this);
      if (!accounted)
        ++stats.unaccounted;
      if (failed)
        return;
    }
    op->end_batch(*this);
    self->send(caf::actor_cast<caf::actor>(pb.sender), ack_msg{pb.batch.edge, pb.batch.seq});
    stats.busy_us += std::chrono::duration_cast<std::chrono::microseconds>(
                       clock_type::now() - start).count();
  }

  void after_output() {
    out.flush(self, spec.flow.linger_ms == 0);
    dlq.flush(self, true); // dead letters are rare; don't hold them back
    if (out.has_partial() && !linger_armed) {
      linger_armed = true;
      self->delayed_send(self, std::chrono::milliseconds(spec.flow.linger_ms), flush_atom::value);
    }
  }

  void pump() {
    try {
      while (!failed && !pending.empty() && out.clear() && dlq.clear()) {
        auto pb = std::move(pending.front());
        pending.pop_front();
        process(pb);
        if (failed)
          return;
        after_output();
      }
      if (!failed && !finished && pending.empty() && inputs_complete())
        finish();
    } catch (const std::exception& e) {
      fail_stage("stage '" + spec.id + "' crashed: " + e.what());
    }
  }

  void finish() {
    finished = true;
    batch_time = now_us();
    in_finish = true;
    op->finish(*this);
    in_finish = false;
    if (failed)
      return;
    out.flush(self, true);
    dlq.flush(self, true);
    out.close(self);
    dlq.close(self);
    self->send(coordinator, stage_done{snapshot()});
  }

  stage_stats snapshot() {
    stats.out = out.records_out();
    stats.batches_out = out.batches_out();
    stats.sent = out.sent_per_edge();
    stats.received.clear();
    for (auto& [id, in] : inputs)
      stats.received.emplace_back(id, in.records);
    return stats;
  }

  void arm_tick() {
    auto us = op->tick_interval_us();
    if (us > 0 && !finished)
      self->delayed_send(self, std::chrono::microseconds(us), tick_atom_::value);
  }
};

} // namespace

caf::behavior stage_actor(caf::event_based_actor* self,
                          std::shared_ptr<const pipeline_plan> plan, stage_index stage,
                          uint32_t replica) {
  auto host = std::make_shared<stage_host>(self, std::move(plan), stage, replica);
  self->set_default_handler(caf::print_and_drop);
  return {
    [=](wiring& w) -> std::string {
      auto& h = *host;
      auto kind = h.plan->kinds[stage];
      diagnostics diags{h.plan->config.file};
      params_reader p{h.spec.params, h.spec.json_path + "/params", h.spec.type, diags,
                      &h.spec.params_ordered};
      h.op = kind->make_op(h.spec, p);
      if (!h.op)
        return "stage '" + h.spec.id + "' cannot start: " + diags.render();
      if (auto started = h.op->start(); !started)
        return "stage '" + h.spec.id + "' cannot start: " + started.err().message;
      h.coordinator = w.coordinator;
      h.out.init(w.outputs, h.plan->config.stages, h.spec.flow.batch_size);
      if (w.dlq.target)
        h.dlq.init({w.dlq}, h.plan->config.stages, h.spec.flow.batch_size);
      for (auto id : w.inputs)
        h.inputs.emplace(id, input_edge{});
      h.arm_tick();
      return {};
    },
    [=](batch_msg& b) {
      auto& h = *host;
      auto i = h.inputs.find(b.edge);
      if (i == h.inputs.end() || h.failed)
        return;
      i->second.records += b.records.size();
      h.pending.push_back(pending_batch{self->current_sender(), std::move(b)});
      h.pump();
    },
    [=](const eos_msg& e) {
      auto& h = *host;
      if (auto i = h.inputs.find(e.edge); i != h.inputs.end())
        i->second.eos = true;
      h.pump();
    },
    [=](const ack_msg& a) {
      auto& h = *host;
      if (!h.out.on_ack(self, a.edge))
        h.dlq.on_ack(self, a.edge);
      h.pump();
    },
    [=](flush_atom) {
      auto& h = *host;
      h.linger_armed = false;
      if (h.failed)
        return;
      h.out.flush(self, true);
    },
    [=](tick_atom_) {
      auto& h = *host;
      if (h.finished || h.failed)
        return;
      try {
        h.batch_time = now_us();
        h.in_finish = true; // tick emits are derived records
        h.op->tick(h.batch_time, h);
        h.in_finish = false;
        h.after_output();
      } catch (const std::exception& e) {
        h.fail_stage("stage '" + h.spec.id + "' crashed in tick: " + e.what());
      }
      h.arm_tick();
    },
    [=](stats_atom) {
      return host->snapshot();
    },
    [=](commit_atom) -> std::string {
      auto& h = *host;
      if (h.ended || !h.op)
        return {};
      h.ended = true;
      if (auto st = h.op->commit(); !st)
        return "stage '" + h.spec.id + "': " + st.err().message;
      return {};
    },
    [=](abort_atom) -> std::string {
      auto& h = *host;
      if (!h.ended && h.op) {
        h.ended = true;
        h.op->abort();
      }
      return {};
    },
  };
}

} // namespace sluice
