#include "dlq_actor.hpp"

#include <map>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "io/dlq_writer.hpp"
#include "messages.hpp"
#include "seq_marks.hpp"
#include "trail_text.hpp"

namespace sluice {

namespace {

struct dlq_state {
  std::shared_ptr<const pipeline_plan> plan;
  dlq_writer writer;
  caf::actor coordinator;
  /// Per input edge: where acks go, the seqs written (a restarted stage
  /// resends what it has no ack for; a dead letter is written once), and
  /// the end of stream.
  struct input {
    caf::actor upstream;
    seq_marks written;
    bool eos = false;
    uint64_t last_seq = 0;
    bool done(uint64_t seq) const { return written.has(seq); }
    void mark(uint64_t seq) { written.mark(seq); }
    bool complete() const { return eos && written.upto() >= last_seq; }
  };
  std::map<edge_id, input> inputs;
  stage_stats stats;
  bool done = false;
  bool failed = false;
};

// Where `rec` entered the pipeline, by name, for its dead-letter line.
dead_letter_origin origin_of(const pipeline_plan& plan, const record& rec) {
  auto& o = rec.trail().origin;
  dead_letter_origin out;
  out.text = origin_text(plan, rec);
  out.line = o.line;
  if (o.source < plan.config.stages.size())
    out.source = plan.config.stages[o.source].id;
  if (o.source < plan.source_files.size() && o.file < plan.source_files[o.source].size())
    out.file = plan.source_files[o.source][o.file];
  return out;
}

} // namespace

caf::behavior dlq_actor(caf::event_based_actor* self,
                        std::shared_ptr<const pipeline_plan> plan) {
  auto st = std::make_shared<dlq_state>();
  st->plan = std::move(plan);
  st->stats.stage = dlq_stage;
  self->set_default_handler(caf::print_and_drop);
  auto fail_run = [=](std::string message) {
    if (st->failed)
      return;
    st->failed = true;
    self->send(st->coordinator, stage_failed{dlq_stage, 0, std::move(message)});
  };
  auto maybe_done = [=] {
    if (st->done)
      return;
    for (auto& [id, in] : st->inputs)
      if (!in.complete())
        return;
    st->done = true;
    if (auto flushed = st->writer.flush(); !flushed) {
      fail_run("cannot write the dead-letter file: " + flushed.err().message);
      return;
    }
    st->stats.received.clear();
    self->send(st->coordinator, stage_done{st->stats});
  };
  return {
    [=](wiring& w) -> std::string {
      st->coordinator = w.coordinator;
      for (auto& in : w.inputs)
        st->inputs[in.edge].upstream = in.upstream;
      if (auto opened = st->writer.open(st->plan->config.dlq_path); !opened)
        return "dead-letter file: " + opened.err().message;
      return {};
    },
    [=](batch_msg& b) {
      auto i = st->inputs.find(b.edge);
      if (st->failed || i == st->inputs.end())
        return;
      auto& in = i->second;
      if (in.done(b.seq)) {
        ++st->stats.duplicates;
        self->send(in.upstream, ack_msg{b.edge, b.seq});
        return;
      }
      ++st->stats.batches_in;
      for (auto& rec : *b.records) {
        ++st->stats.in;
        auto why = rec.meta().is_object() && rec.meta().contains("dlq")
                     ? dead_letter::from_meta(rec.meta()["dlq"])
                     : dead_letter{};
        auto written = st->writer.write(rec, why, origin_of(*st->plan, rec),
                                        hops_json(*st->plan, rec));
        if (!written) {
          // Dead letters that cannot be kept would be lost: the run stops.
          fail_run("cannot write the dead-letter file: " + written.err().message);
          return;
        }
        ++st->stats.written;
      }
      if (auto flushed = st->writer.flush(); !flushed) {
        fail_run("cannot write the dead-letter file: " + flushed.err().message);
        return;
      }
      in.mark(b.seq);
      self->send(in.upstream, ack_msg{b.edge, b.seq});
      maybe_done();
    },
    [=](const eos_msg& e) {
      if (auto i = st->inputs.find(e.edge); i != st->inputs.end()) {
        i->second.eos = true;
        i->second.last_seq = e.last_seq;
      }
      maybe_done();
    },
    [=](start_atom) { maybe_done(); },
    [=](stats_atom) { return st->stats; },
    [=](metrics_atom) {
      replica_metrics m;
      m.stats = st->stats;
      m.mailbox = self->mailbox().size();
      return m;
    },
    [=](commit_atom) { st->writer.flush(); return std::string{}; },
    [=](abort_atom) { st->writer.flush(); return std::string{}; },
  };
}

} // namespace sluice
