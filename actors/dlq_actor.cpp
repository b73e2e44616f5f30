#include "dlq_actor.hpp"

#include <map>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "io/dlq_writer.hpp"
#include "messages.hpp"
#include "trail_text.hpp"

namespace sluice {

namespace {

struct dlq_state {
  std::shared_ptr<const pipeline_plan> plan;
  dlq_writer writer;
  caf::actor coordinator;
  std::map<edge_id, bool> inputs; ///< edge -> eos seen
  stage_stats stats;
  bool done = false;
  bool failed = false;
};

error dlq_error(const json& info) {
  error err;
  err.message = info.value("message", "");
  auto cls = info.value("class", "");
  for (auto c : {errc::invalid_config, errc::parse_error, errc::type_error,
                 errc::schema_violation, errc::io_error, errc::runtime_error})
    if (cls == to_string(c))
      err.code = c;
  return err;
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
    for (auto& [id, eos] : st->inputs)
      if (!eos)
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
      for (auto id : w.inputs)
        st->inputs.emplace(id, false);
      if (auto opened = st->writer.open(st->plan->config.dlq_path); !opened)
        return "dead-letter file: " + opened.err().message;
      return {};
    },
    [=](batch_msg& b) {
      if (st->failed)
        return;
      ++st->stats.batches_in;
      for (auto& rec : b.records) {
        ++st->stats.in;
        auto info = rec.meta().is_object() && rec.meta().contains("dlq") ? rec.meta()["dlq"]
                                                                        : json::object();
        auto written = st->writer.write(rec, info.value("stage", ""), dlq_error(info),
                                        info.value("time_us", int64_t{0}),
                                        origin_text(*st->plan, rec), hops_json(*st->plan, rec));
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
      self->send(caf::actor_cast<caf::actor>(self->current_sender()), ack_msg{b.edge, b.seq});
    },
    [=](const eos_msg& e) {
      if (auto i = st->inputs.find(e.edge); i != st->inputs.end())
        i->second = true;
      maybe_done();
    },
    [=](start_atom) { maybe_done(); },
    [=](stats_atom) { return st->stats; },
    [=](commit_atom) { st->writer.flush(); return std::string{}; },
    [=](abort_atom) { st->writer.flush(); return std::string{}; },
  };
}

} // namespace sluice
