#include "source_driver.hpp"

#include <chrono>

#include <caf/send.hpp>

#include "messages.hpp"
#include "ops/registry.hpp"
#include "outbox.hpp"

namespace sluice {

namespace {

struct driver_state {
  caf::event_based_actor* self;
  std::shared_ptr<const pipeline_plan> plan;
  const stage_spec& spec;
  reader_ptr reader;
  outbox out;
  caf::actor coordinator;
  std::vector<record> buf;
  int64_t first_buffered_us = 0; ///< when the partial batch got its first record
  int64_t last_progress_us = 0;
  bool started = false;
  bool pumping = false;          ///< a pump_atom is on its way
  bool eof = false;
  bool closed = false;
  bool failed = false;
  stage_stats stats;

  driver_state(caf::event_based_actor* s, std::shared_ptr<const pipeline_plan> p,
               stage_index stage)
    : self(s), plan(std::move(p)), spec(plan->stage(stage)) {
    stats.stage = stage;
    stats.driver = true;
  }

  void schedule() {
    if (!pumping && !closed && !failed) {
      pumping = true;
      self->send(self, pump_atom::value);
    }
  }

  void report_progress(bool force) {
    auto now = now_us();
    if (!force && now - last_progress_us < 200'000)
      return;
    last_progress_us = now;
    stats.bytes_read = reader->bytes_read();
    stats.bytes_total = reader->bytes_total();
    self->send(coordinator, progress_atom::value, stats);
  }

  void dispatch() {
    if (buf.empty())
      return;
    stats.in += buf.size();
    stats.passed += buf.size();
    for (auto& r : buf)
      (void) out.push(r, 0);
    buf.clear();
    out.flush(self, true);
  }

  void close() {
    dispatch();
    closed = true;
    out.close(self);
    stats.out = out.records_out();
    stats.batches_out = out.batches_out();
    stats.sent = out.sent_per_edge();
    stats.bytes_read = reader->bytes_read();
    stats.bytes_total = reader->bytes_total();
    self->send(coordinator, stage_done{stats});
  }

  // One step: read at most one batch, then yield so acks and halts get in.
  void step() {
    pumping = false;
    if (closed || failed || !started)
      return;
    if (eof) {
      close();
      return;
    }
    if (!out.clear())
      return; // no window room: the next ack resumes us
    auto size = spec.flow.batch_size;
    auto linger_us = int64_t{spec.flow.linger_ms} * 1000;
    auto wait_us = linger_us;
    if (!buf.empty())
      wait_us = std::max<int64_t>(0, first_buffered_us + linger_us - now_us());
    if (wait_us == 0)
      wait_us = 1000; // linger 0: still poll briefly rather than spin
    auto before = buf.size();
    auto st = reader->read(buf, size - buf.size(), wait_us);
    if (!st) {
      failed = true;
      self->send(coordinator, stage_failed{spec.index, 0,
                                           "source '" + spec.id + "': " + st.err().message});
      return;
    }
    if (before == 0 && !buf.empty())
      first_buffered_us = now_us();
    bool full = buf.size() >= size;
    bool lingered = !buf.empty() && now_us() - first_buffered_us >= linger_us;
    if (*st == source_reader::state::end) {
      eof = true;
      dispatch();
    } else if (full || lingered) {
      dispatch();
    }
    report_progress(false);
    schedule();
  }
};

} // namespace

caf::behavior source_driver(caf::event_based_actor* self,
                            std::shared_ptr<const pipeline_plan> plan, stage_index stage) {
  auto st = std::make_shared<driver_state>(self, std::move(plan), stage);
  self->set_default_handler(caf::print_and_drop);
  return {
    [=](wiring& w) -> std::string {
      auto& s = *st;
      auto kind = s.plan->kinds[stage];
      diagnostics diags{s.plan->config.file};
      params_reader p{s.spec.params, s.spec.json_path + "/params", s.spec.type, diags,
                      &s.spec.params_ordered};
      s.reader = kind->make_reader(s.spec, p);
      if (!s.reader)
        return "source '" + s.spec.id + "' cannot start: " + diags.render();
      if (auto opened = s.reader->open(); !opened)
        return "source '" + s.spec.id + "' cannot start: " + opened.err().message;
      s.coordinator = w.coordinator;
      // One batch per edge in flight is the decode replicas' window.
      s.out.init(w.outputs, s.plan->config.stages, s.spec.flow.batch_size);
      s.buf.reserve(s.spec.flow.batch_size);
      return {};
    },
    [=](start_atom) {
      st->started = true;
      st->schedule();
    },
    [=](pump_atom) { st->step(); },
    [=](const ack_msg& a) {
      st->out.on_ack(self, a.edge, a.seq);
      st->schedule();
    },
    [=](const resend_msg& r) {
      // A decode replica's new worker: batches go to it directly from now
      // on, and what it has not acknowledged goes again (a restarted one
      // lost its mailbox; it discards what it already holds).
      st->out.resend(self, r.edge, r.reply_to);
    },
    [=](halt_atom) {
      // Ctrl-C: read no more; what was read drains through the pipeline.
      st->eof = true;
      st->schedule();
    },
    [=](stats_atom) { return st->stats; },
    [=](metrics_atom) {
      auto& s = *st;
      replica_metrics m;
      m.stats = s.stats;
      m.stats.out = s.out.records_out();
      m.stats.batches_out = s.out.batches_out();
      if (s.reader) {
        m.stats.bytes_read = s.reader->bytes_read();
        m.stats.bytes_total = s.reader->bytes_total();
      }
      m.mailbox = self->mailbox().size();
      m.finished = s.closed;
      m.failed = s.failed;
      m.edges = s.out.loads();
      return m;
    },
    [=](commit_atom) { return std::string{}; },
    [=](abort_atom) { return std::string{}; },
  };
}

} // namespace sluice
