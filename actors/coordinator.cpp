#include "coordinator.hpp"

#include <chrono>
#include <cstdio>
#include <map>

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "dlq_actor.hpp"
#include "lineage_recorder.hpp"
#include "messages.hpp"
#include "ops/registry.hpp"
#include "rate_limiter.hpp"
#include "source_driver.hpp"
#include "stage_actor.hpp"
#include "summary.hpp"

namespace sluice {

namespace {

constexpr auto wiring_timeout = std::chrono::seconds(60);
constexpr auto commit_timeout = std::chrono::seconds(120);
using progress_tick = caf::atom_constant<caf::atom("ptick")>;

/// One actor the coordinator started.
struct member {
  caf::actor handle;
  stage_index stage = 0;
  uint32_t replica = 0;
  bool driver = false;
  bool dlq = false;
  bool lineage = false;
  bool done = false;
  wiring wires;
};

struct coord_state {
  std::shared_ptr<const pipeline_plan> plan;
  run_options opts;
  caf::response_promise promise;
  std::vector<member> members;
  /// One limiter per `resources.rate_limits` entry, shared by every replica
  /// naming it (docs/rate-limits.md); ended with the run.
  std::map<std::string, caf::actor> limiters;
  std::map<caf::actor_addr, size_t> by_addr;
  std::vector<stage_stats> finished;         ///< stats of members that are done
  std::map<stage_index, stage_stats> progress; ///< latest driver progress
  size_t ready = 0;
  size_t done = 0;
  size_t replies = 0;
  std::string failure;                       ///< first failure, if any
  std::vector<std::string> commit_errors;
  std::vector<std::string> notes;            ///< from aborting sinks: partial output kept
  bool running = false;
  bool stopping = false;                     ///< halted by a signal
  bool ending = false;                       ///< committing or aborting
  int64_t started_us = 0;
  std::map<stage_index, size_t> unready;     ///< per stage: members not wired yet
  std::map<stage_index, size_t> unfinished;  ///< per stage: members not done yet
};

std::string member_name(const pipeline_plan& plan, const member& m) {
  if (m.dlq)
    return "the dead-letter sink";
  if (m.lineage)
    return "the lineage recorder";
  auto& id = plan.config.stages[m.stage].id;
  if (m.driver)
    return "the reader of source '" + id + "'";
  if (plan.config.stages[m.stage].parallelism > 1)
    return "stage '" + id + "' replica " + std::to_string(m.replica);
  return "stage '" + id + "'";
}

/// The key a member counts under for stage_started/stage_finished events.
stage_index event_key(const member& m) {
  return m.dlq ? dlq_stage : m.lineage ? lineage_stage : m.stage;
}

} // namespace

caf::behavior coordinator(caf::event_based_actor* self,
                          std::shared_ptr<const pipeline_plan> plan, run_options opts) {
  auto st = std::make_shared<coord_state>();
  st->plan = std::move(plan);
  st->opts = std::move(opts);
  self->set_default_handler(caf::print_and_drop);

  // -- run events (docs/observability.md) -------------------------------------------

  auto stage_label = [=](stage_index s) {
    return s == dlq_stage       ? std::string{"dlq"}
           : s == lineage_stage ? std::string{"lineage"}
                                : st->plan->config.stages[s].id;
  };
  auto event = [=](std::string kind, std::string stage, std::string message,
                   std::string status = {}, std::vector<stage_stats> final_stats = {}) {
    json line = {{"event", kind}, {"pipeline", st->plan->config.name}};
    if (!stage.empty())
      line["stage"] = stage;
    if (!message.empty())
      line["message"] = message;
    if (!status.empty())
      line["status"] = status;
    spdlog::info("event {}", line.dump(-1, ' ', false, json::error_handler_t::replace));
    if (st->opts.collector)
      self->send(st->opts.collector,
                 run_event_msg{now_us(), std::move(kind), std::move(stage), std::move(message),
                               std::move(status), std::move(final_stats)});
  };

  // -- the end of a run -----------------------------------------------------------

  auto finalize = [=] {
    if (st->opts.progress)
      std::fprintf(stderr, "\r\033[K");
    // A sink that could not make its output final fails the run too.
    auto status = !st->failure.empty() || !st->commit_errors.empty() ? "failed"
                  : st->stopping                                       ? "stopped"
                                                                       : "ok";
    auto summary = build_summary(*st->plan, st->finished, status, st->failure,
                                 st->commit_errors, now_us() - st->started_us);
    if (!st->notes.empty())
      summary["partial_outputs"] = st->notes;
    auto& t = summary["totals"];
    event("pipeline_finished", {},
          std::string{status} + ": " + std::to_string(t.value("read", uint64_t{0}))
            + " records read, " + std::to_string(t.value("written", uint64_t{0})) + " written",
          status, st->finished);
    st->promise.deliver(summary.dump());
    for (auto& m : st->members)
      self->send_exit(m.handle, caf::exit_reason::user_shutdown);
    for (auto& [name, limiter] : st->limiters)
      self->send_exit(limiter, caf::exit_reason::user_shutdown);
    self->quit();
  };

  // Asks every member to commit or abort, then finalizes.
  auto end_run = [=](bool commit) {
    st->ending = true;
    st->replies = 0;
    auto n = st->members.size();
    auto on_reply = [=](std::string text) {
      if (!text.empty())
        (commit ? st->commit_errors : st->notes).push_back(std::move(text));
      if (++st->replies == n)
        finalize();
    };
    for (auto& m : st->members) {
      auto req = !commit    ? self->request(m.handle, commit_timeout, abort_atom::value)
                 : m.lineage ? self->request(m.handle, commit_timeout, commit_atom::value,
                                             std::string{st->stopping ? "stopped" : "ok"})
                             : self->request(m.handle, commit_timeout, commit_atom::value);
      req.then([=](std::string& err) { on_reply(std::move(err)); },
               [=](caf::error& err) {
                 on_reply(commit ? "commit did not answer: " + self->system().render(err)
                                 : std::string{});
               });
    }
    if (n == 0)
      finalize();
  };

  // A failed run: stop the sources, collect what every member counted so
  // far (the report shows how far the run got), then abort.
  auto fail = [=](std::string message) {
    if (!st->failure.empty() || st->ending)
      return;
    st->failure = std::move(message);
    st->ending = true;
    event("pipeline_failing", {}, st->failure);
    for (auto& m : st->members)
      if (m.driver)
        self->send(m.handle, halt_atom::value);
    auto pending = std::make_shared<size_t>(0);
    for (auto& m : st->members)
      if (!m.done)
        ++*pending;
    if (*pending == 0) {
      end_run(false);
      return;
    }
    for (auto& m : st->members) {
      if (m.done)
        continue;
      self->request(m.handle, std::chrono::seconds(5), stats_atom::value)
        .then(
          [=](stage_stats& s) {
            st->finished.push_back(std::move(s));
            if (--*pending == 0)
              end_run(false);
          },
          [=](caf::error&) {
            if (--*pending == 0)
              end_run(false);
          });
    }
  };

  // -- start-up -------------------------------------------------------------------

  auto start = [=] {
    auto& pl = *st->plan;
    auto& stages = pl.config.stages;
    st->started_us = now_us();
    for (auto& limit : pl.config.rate_limits)
      st->limiters[limit.name] = spawn_rate_limiter(self->system(), limit);
    std::vector<std::vector<size_t>> replicas(stages.size());
    // Sinks first (reverse topological order), so downstream exists before upstream.
    for (auto it = pl.order.rbegin(); it != pl.order.rend(); ++it) {
      auto s = *it;
      for (uint32_t r = 0; r < stages[s].parallelism; ++r) {
        member m;
        m.stage = s;
        m.replica = r;
        m.handle = st->opts.placement ? st->opts.placement(s, r) : caf::actor{};
        if (!m.handle)
          m.handle = self->spawn(stage_actor, st->plan, s, r);
        for (auto& name : stages[s].rate_limits)
          m.wires.rate_limiters.push_back(st->limiters.at(name));
        replicas[s].push_back(st->members.size());
        st->members.push_back(std::move(m));
      }
    }
    edge_id next_edge = 1;
    for (auto& e : pl.graph->edges()) {
      // Forward edges: between stages of equal parallelism, where the
      // downstream needs no key partitioning, replica i feeds replica i only,
      // so a batch stays on one chain of replicas (and in one core's cache).
      bool forward = stages[e.from].parallelism > 1
                     && stages[e.from].parallelism == stages[e.to].parallelism
                     && stages[e.to].partition_by.empty();
      for (size_t ui = 0; ui < replicas[e.from].size(); ++ui) {
        auto u = replicas[e.from][ui];
        for (size_t di = 0; di < replicas[e.to].size(); ++di) {
          if (forward && di != ui)
            continue;
          auto d = replicas[e.to][di];
          auto& dst = st->members[d];
          out_edge_desc desc{next_edge++, e.port, e.to, dst.replica,
                             stages[e.to].flow.window, dst.handle};
          st->members[u].wires.outputs.push_back(desc);
          dst.wires.inputs.push_back(in_edge_desc{desc.edge, st->members[u].handle});
        }
      }
    }
    // A driver per source, feeding the source stage's decode replicas.
    for (auto& spec : stages) {
      if (pl.kinds[spec.index]->role != stage_role::source)
        continue;
      member m;
      m.stage = spec.index;
      m.driver = true;
      m.handle = self->spawn<caf::detached>(source_driver, st->plan, spec.index);
      for (auto d : replicas[spec.index]) {
        auto& dst = st->members[d];
        out_edge_desc desc{next_edge++, 0, spec.index, dst.replica, spec.flow.window,
                           dst.handle};
        m.wires.outputs.push_back(desc);
        dst.wires.inputs.push_back(in_edge_desc{desc.edge, m.handle});
      }
      st->members.push_back(std::move(m));
    }
    // The dead-letter sink, if any stage sends there.
    bool any_dlq = false;
    for (auto& spec : stages)
      any_dlq = any_dlq || spec.on_error == error_policy::dlq;
    if (any_dlq) {
      member sink;
      sink.dlq = true;
      sink.stage = dlq_stage;
      sink.handle = self->spawn(dlq_actor, st->plan);
      for (auto& m : st->members) {
        if (m.driver || stages[m.stage].on_error != error_policy::dlq)
          continue;
        m.wires.dlq = out_edge_desc{next_edge++, 0, dlq_stage, 0, stages[m.stage].flow.window,
                                    sink.handle};
        sink.wires.inputs.push_back(in_edge_desc{m.wires.dlq.edge, m.handle});
      }
      st->members.push_back(std::move(sink));
    }
    // The lineage recorder: every stage replica sends it its events.
    if (pl.config.lineage.on()) {
      member rec;
      rec.lineage = true;
      rec.stage = lineage_stage;
      rec.handle = self->spawn<caf::detached>(lineage_recorder, st->plan);
      edge_id k = 0;
      for (auto& m : st->members) {
        if (m.driver || m.dlq)
          continue;
        m.wires.lineage = rec.handle;
        rec.wires.inputs.push_back(in_edge_desc{++k, m.handle});
      }
      st->members.push_back(std::move(rec));
    }
    for (size_t i = 0; i < st->members.size(); ++i) {
      auto& m = st->members[i];
      m.wires.coordinator = self;
      self->monitor(m.handle);
      st->by_addr.emplace(m.handle.address(), i);
      ++st->unready[event_key(m)];
      ++st->unfinished[event_key(m)];
    }
    // The handshake: every member applies its wiring (opens files, builds
    // its operator) before any source reads a record.
    for (size_t i = 0; i < st->members.size(); ++i) {
      auto& m = st->members[i];
      self->request(m.handle, wiring_timeout, m.wires)
        .then(
          [=](std::string& err) {
            if (!err.empty()) {
              fail(std::move(err));
              return;
            }
            auto key = event_key(st->members[i]);
            if (--st->unready[key] == 0) {
              auto n = st->unfinished[key];
              event("stage_started", stage_label(key),
                    std::to_string(n) + (n == 1 ? " actor" : " actors") + " wired");
            }
            if (++st->ready < st->members.size() || !st->failure.empty())
              return;
            st->running = true;
            if (st->opts.collector) {
              run_topology topo;
              std::map<edge_id, std::pair<uint32_t, port_index>> senders;
              for (size_t k = 0; k < st->members.size(); ++k) {
                auto& mm = st->members[k];
                if (mm.lineage)
                  continue; // not a stage: its events have no place in the stage table
                topo.members.push_back(topology_member{
                  mm.handle, mm.stage, mm.replica,
                  static_cast<uint8_t>(mm.driver ? 1 : mm.dlq ? 2 : 0)});
                for (auto& o : mm.wires.outputs)
                  senders[o.edge] = {static_cast<uint32_t>(k), o.port};
                if (mm.wires.dlq.target)
                  senders[mm.wires.dlq.edge] = {static_cast<uint32_t>(k), 0};
              }
              for (size_t k = 0; k < st->members.size(); ++k) {
                if (st->members[k].lineage)
                  continue; // its inputs are event streams, not data edges
                for (auto& in : st->members[k].wires.inputs)
                  if (auto it = senders.find(in.edge); it != senders.end())
                    topo.edges.push_back(topology_edge{in.edge, it->second.first,
                                                       it->second.second,
                                                       static_cast<uint32_t>(k)});
              }
              for (auto& limit : st->plan->config.rate_limits)
                topo.limiters.push_back(st->limiters.at(limit.name));
              self->send(st->opts.collector, std::move(topo));
            }
            event("pipeline_started", {},
                  std::to_string(st->members.size()) + " actors, "
                    + std::to_string(st->plan->config.stages.size()) + " stages");
            for (auto& mm : st->members)
              if (mm.driver || mm.dlq || mm.lineage)
                self->send(mm.handle, start_atom::value);
            if (st->stopping)
              for (auto& mm : st->members)
                if (mm.driver)
                  self->send(mm.handle, halt_atom::value);
          },
          [=](caf::error& err) {
            fail(member_name(*st->plan, st->members[i]) + " did not start: "
                 + self->system().render(err));
          });
    }
    if (st->opts.progress)
      self->delayed_send(self, std::chrono::milliseconds(500), progress_tick::value);
  };

  self->set_down_handler([=](caf::down_msg& dm) {
    auto i = st->by_addr.find(dm.source);
    if (i == st->by_addr.end() || st->ending)
      return;
    auto& m = st->members[i->second];
    if (m.done && dm.reason == caf::exit_reason::normal)
      return;
    fail(member_name(*st->plan, m) + " died: " + self->system().render(dm.reason));
  });

  return {
    [=](run_atom) {
      st->promise = self->make_response_promise();
      start();
      return st->promise;
    },
    [=](halt_atom) {
      if (st->stopping || st->ending)
        return;
      st->stopping = true;
      event("pipeline_stopping", {}, "sources stop reading; in-flight records drain");
      for (auto& m : st->members)
        if (m.driver)
          self->send(m.handle, halt_atom::value);
    },
    [=](stage_done& d) {
      auto i = st->by_addr.find(self->current_sender() ? self->current_sender()->address()
                                                       : caf::actor_addr{});
      if (i == st->by_addr.end() || st->members[i->second].done)
        return;
      st->members[i->second].done = true;
      auto key = event_key(st->members[i->second]);
      if (--st->unfinished[key] == 0) {
        uint64_t in = 0;
        uint64_t out = 0;
        for (auto& f : st->finished)
          if (!f.driver && f.stage == key) {
            in += f.in;
            out += f.out + f.written;
          }
        if (!d.stats.driver) {
          in += d.stats.in;
          out += d.stats.out + d.stats.written;
        }
        event("stage_finished", stage_label(key),
              std::to_string(in) + " in, " + std::to_string(out) + " out");
      }
      st->finished.push_back(std::move(d.stats));
      if (++st->done == st->members.size() && st->failure.empty() && !st->ending)
        end_run(true);
    },
    [=](stage_failed& f) {
      if (st->failure.empty() && !st->ending)
        event("stage_failed", stage_label(f.stage), f.message);
      fail(std::move(f.message));
    },
    [=](inflight_atom) {
      // A forced stop is coming: what every actor has counted so far, as a
      // summary with status "forced" (each member answers or is skipped).
      auto rp = self->make_response_promise();
      auto got = std::make_shared<std::vector<stage_stats>>(st->finished);
      auto pending = std::make_shared<size_t>(0);
      auto reply = [=]() mutable {
        auto summary = build_summary(*st->plan, *got, "forced", {}, {},
                                     now_us() - st->started_us);
        rp.deliver(summary.dump());
      };
      for (auto& m : st->members)
        if (!m.done)
          ++*pending;
      if (*pending == 0) {
        reply();
        return rp;
      }
      for (auto& m : st->members) {
        if (m.done)
          continue;
        self->request(m.handle, std::chrono::milliseconds(500), stats_atom::value)
          .then(
            [=](stage_stats& s) mutable {
              got->push_back(std::move(s));
              if (--*pending == 0)
                reply();
            },
            [=](caf::error&) mutable {
              if (--*pending == 0)
                reply();
            });
      }
      return rp;
    },
    [=](stage_restarted& r) {
      event("stage_restarted", stage_label(r.stage),
            "replica " + std::to_string(r.replica) + " restarted (" + std::to_string(r.restarts)
              + " so far): " + r.reason);
    },
    [=](progress_atom, stage_stats& s) { st->progress[s.stage] = std::move(s); },
    [=](progress_tick) {
      if (st->ending)
        return;
      uint64_t read = 0;
      uint64_t bytes = 0;
      uint64_t total = 0;
      for (auto& [s, p] : st->progress) {
        read += p.in;
        bytes += p.bytes_read;
        total += p.bytes_total;
      }
      auto secs = std::max<double>(1e-3, (now_us() - st->started_us) / 1e6);
      std::string pct = total > 0 ? ", " + std::to_string(bytes * 100 / total) + "% of input"
                                  : std::string{};
      std::fprintf(stderr, "\r\033[K[%s] %llu records read, %.0f records/s%s",
                   st->plan->config.name.c_str(), static_cast<unsigned long long>(read),
                   read / secs, pct.c_str());
      std::fflush(stderr);
      self->delayed_send(self, std::chrono::milliseconds(500), progress_tick::value);
    },
  };
}

} // namespace sluice
