#include "lineage_recorder.hpp"

#include <chrono>
#include <map>

#include <caf/actor_cast.hpp>
#include <spdlog/spdlog.h>

#include "lineage/store.hpp"
#include "messages.hpp"
#include "seq_marks.hpp"
#include "ops/registry.hpp"

namespace sluice {

namespace {

struct recorder_state {
  std::shared_ptr<const pipeline_plan> plan;
  std::unique_ptr<lineage_store> store;
  int64_t run = 0;
  caf::actor coordinator;
  size_t producers = 0;
  size_t finished = 0;
  bool started = false;
  bool done = false;
  bool failed = false;
  bool ended = false;
  stage_stats stats;
  /// Event batches received and not stored yet: stored together, in one
  /// transaction, when enough have gathered or the flush timer fires. The
  /// batches are shared with their senders (in this process), not copied:
  /// nobody changes a batch once it is sent.
  std::vector<lineage_payload> pending;
  size_t pending_events = 0;
  bool timer_armed = false;
  /// Per replica, the batch numbers received: a batch sent again by a
  /// restarted worker (its ack went to the dead one) is acknowledged and
  /// dropped, so each event is stored once.
  std::map<std::pair<stage_index, uint32_t>, seq_marks> seen;
};

/// Events held in memory before they are stored (the recorder's bound).
constexpr size_t max_pending_events = 8192;
/// The longest an event waits in memory before it is stored.
constexpr auto pending_linger = std::chrono::milliseconds(100);
using store_atom = caf::atom_constant<caf::atom("lstore")>;

const char* role_text(stage_role r) {
  switch (r) {
    case stage_role::source: return "source";
    case stage_role::sink: return "sink";
    case stage_role::transform: break;
  }
  return "transform";
}

/// The run as the store keeps it: names, files, outputs, edges.
lineage_run_info run_info(const pipeline_plan& plan) {
  lineage_run_info info;
  auto& cfg = plan.config;
  info.pipeline = cfg.name;
  info.config_path = cfg.file;
  info.started_us = now_us();
  info.mode = cfg.lineage.mode == lineage_settings::mode_t::sampled ? "sampled" : "full";
  info.sample_rate = cfg.lineage.rate();
  for (auto& spec : cfg.stages) {
    lineage_run_info::stage s;
    s.index = spec.index;
    s.id = spec.id;
    s.type = spec.type;
    s.role = role_text(plan.kinds[spec.index]->role);
    s.ports = plan.ports[spec.index];
    if (spec.index < plan.source_files.size())
      s.files = plan.source_files[spec.index];
    if (plan.kinds[spec.index]->role == stage_role::sink && spec.params.is_object()) {
      auto path = spec.params.value("path", std::string{});
      if (!path.empty())
        s.output = resolve_path(cfg.base_dir, path);
    }
    info.stages.push_back(std::move(s));
  }
  for (auto& e : plan.graph->edges()) {
    auto& names = plan.ports[e.from];
    info.edges.push_back(lineage_run_info::edge{
      e.from, e.port < names.size() ? names[e.port] : std::string{}, e.to});
  }
  return info;
}

} // namespace

caf::behavior lineage_recorder(caf::event_based_actor* self,
                               std::shared_ptr<const pipeline_plan> plan) {
  auto st = std::make_shared<recorder_state>();
  st->plan = std::move(plan);
  st->stats.stage = lineage_stage;
  self->set_default_handler(caf::print_and_drop);
  auto path = st->plan->config.lineage.path;

  auto fail_run = [=](const std::string& message) {
    if (st->failed)
      return;
    st->failed = true;
    self->send(st->coordinator, stage_failed{lineage_stage, 0, message});
  };
  // Stores what has gathered, in one transaction. While it runs, batches
  // wait unacknowledged in the mailbox: replicas that reach their window
  // wait too (credit), so memory stays bounded and nothing is dropped.
  auto store_pending = [=] {
    if (st->pending.empty() || st->failed)
      return;
    std::vector<const lineage_event*> events;
    events.reserve(st->pending_events);
    for (auto& batch : st->pending)
      for (auto& ev : *batch)
        events.push_back(&ev);
    if (auto s = st->store->append(st->run, events); !s) {
      fail_run(s.err().message
               + " (lineage is kept for every record or the run stops; set \"lineage\": "
                 "{\"mode\": \"off\"} to run without it)");
      return;
    }
    st->stats.written += st->pending_events;
    st->pending.clear();
    st->pending_events = 0;
  };
  auto maybe_done = [=] {
    if (st->done || st->failed || !st->started || st->finished < st->producers)
      return;
    st->done = true;
    self->send(st->coordinator, stage_done{st->stats});
  };
  auto end_run = [=](const std::string& status) -> std::string {
    if (st->ended || !st->store)
      return {};
    st->ended = true;
    if (auto s = st->store->end_run(st->run, status, now_us()); !s)
      return s.err().message;
    return {};
  };

  return {
    [=](wiring& w) -> std::string {
      st->coordinator = w.coordinator;
      st->producers = w.inputs.size();
      auto store = lineage_store::open(path);
      if (!store)
        return store.err().message + " (check \"lineage\": {\"path\": ...} in the config: its folder must exist and be writable)";
      st->store = std::move(*store);
      auto run = st->store->begin_run(run_info(*st->plan));
      if (!run)
        return run.err().message;
      st->run = *run;
      auto& l = st->plan->config.lineage;
      if (l.max_runs > 0 || l.max_age_days > 0) {
        auto pruned = st->store->prune(lineage_retention{l.max_runs, l.max_age_days}, now_us(),
                                       st->run);
        if (!pruned)
          return "pruning old runs: " + pruned.err().message;
        if (*pruned > 0)
          spdlog::info("lineage store '{}': pruned {} old run(s)", path, *pruned);
      }
      return {};
    },
    [=](start_atom) {
      st->started = true;
      maybe_done();
    },
    [=](lineage_batch_msg& b) {
      if (st->failed || !st->store)
        return;
      auto n = b.events ? b.events->size() : 0;
      bool fresh = st->seen[{b.stage, b.replica}].mark(b.seq);
      if (fresh && n > 0) {
        st->pending.push_back(b.events);
        st->pending_events += n;
      }
      if (fresh) {
        ++st->stats.batches_in;
        st->stats.in += n;
      }
      // The batch is the recorder's now (it is not restarted: its death
      // fails the run), so the sender may drop its copy.
      if (auto sender = self->current_sender())
        self->send(caf::actor_cast<caf::actor>(sender), lineage_ack_msg{b.seq});
      if (st->pending_events >= max_pending_events) {
        store_pending();
      } else if (!st->timer_armed && !st->pending.empty()) {
        st->timer_armed = true;
        self->delayed_send(self, pending_linger, store_atom::value);
      }
    },
    [=](store_atom) {
      st->timer_armed = false;
      store_pending();
    },
    [=](const lineage_eos_msg&) {
      store_pending();
      ++st->finished;
      maybe_done();
    },
    [=](stats_atom) {
      store_pending();
      return st->stats;
    },
    [=](commit_atom, std::string& status) {
      store_pending();
      return end_run(status);
    },
    [=](commit_atom) {
      store_pending();
      return end_run("ok");
    },
    [=](abort_atom) {
      store_pending();
      end_run("failed");
      return std::string{};
    },
  };
}

} // namespace sluice
