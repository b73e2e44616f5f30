#include "metrics_collector.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <tuple>

#include <unistd.h>

#include "dlq_actor.hpp"
#include "messages.hpp"
#include "metrics/process_stats.hpp"
#include "metrics/snapshot.hpp"
#include "rate_limiter.hpp"
#include "ops/registry.hpp"

namespace sluice {

namespace {

using sample_tick = caf::atom_constant<caf::atom("mtick")>;

/// A cumulative histogram as it was at one sample.
struct hist_point {
  int64_t at_us = 0;
  latency_histogram batch;
  latency_histogram e2e;
};

/// What the collector knows of one sampled actor.
struct member_track {
  topology_member who;
  bool sampled = false;
  int64_t at_us = 0;          ///< when `now` was taken
  replica_metrics now;
  int64_t prev_at_us = 0;
  replica_metrics prev;
  bool has_prev = false;
  std::deque<hist_point> window; ///< oldest first, spanning latency_window_ms
};

stage_counters counters_of(const stage_stats& s) {
  stage_counters c;
  c.records_in = s.in;
  c.records_out = s.out;
  c.batches_in = s.batches_in;
  c.batches_out = s.batches_out;
  c.filtered = s.filtered;
  c.written = s.written;
  c.folded = s.folded;
  c.dropped = s.dropped;
  c.dead_lettered = s.dead_lettered;
  c.failed = s.failed;
  c.errors = s.errors;
  c.retries = s.retries;
  c.restarts = s.restarts;
  c.duplicates = s.duplicates;
  c.breaker_opened = s.breaker_opened;
  c.busy_us = s.busy_us;
  c.calls = s.calls;
  c.call_failures = s.call_failures;
  c.permit_wait_us = s.permit_wait_us;
  c.prompt_tokens = s.prompt_tokens;
  c.completion_tokens = s.completion_tokens;
  c.cost_usd = s.cost_usd;
  return c;
}

latency_summary summarize(const latency_histogram& h) {
  latency_summary s;
  s.count = h.count();
  s.p50_ms = h.quantile_us(0.50) / 1000.0;
  s.p95_ms = h.quantile_us(0.95) / 1000.0;
  s.p99_ms = h.quantile_us(0.99) / 1000.0;
  return s;
}

/// Worst first: a stage shows the worst state among its replicas.
int severity(const std::string& state) {
  static const char* order[] = {"failed",  "failing", "restarting", "backpressured",
                                "running", "starting", "done"};
  for (int i = 0; i < 7; ++i)
    if (state == order[i])
      return i;
  return 7;
}

struct collector_state {
  std::shared_ptr<const pipeline_plan> plan;
  collector_options opts;
  std::vector<member_track> members;
  std::vector<topology_edge> edges;
  /// The run's limiters and what each reported last.
  std::vector<std::pair<caf::actor, std::optional<rate_limit_metrics>>> limiters;
  std::vector<std::deque<double>> history; ///< per stage index (+1 for the dlq)
  std::deque<run_event> events;
  std::string status = "starting";
  int64_t started_us = 0;
  bool sampling = false;        ///< a round of requests is out
  bool final = false;           ///< the run ended: the picture is final
  bool ticking = false;
  uint64_t sequence = 0;
  process_sample proc_prev;
  int64_t proc_prev_us = 0;
  std::string host;
  std::string latest;           ///< the latest snapshot, as JSON text
  std::string dlq_id = "dlq";   ///< the dead-letter sink's name in views

  std::string stage_name(const topology_member& m) const {
    return m.kind == 2 ? dlq_id : plan->config.stages[m.stage].id;
  }

  std::string port_name(const topology_member& m, port_index port) const {
    if (m.kind != 0)
      return {};
    auto& names = plan->ports[m.stage];
    return port < names.size() ? names[port] : std::string{};
  }
};

std::string replica_state(const member_track& t, const collector_state& st) {
  if (!t.sampled)
    return "starting";
  auto& m = t.now;
  if (m.failed)
    return "failed";
  if (m.finished)
    return st.status == "failed" ? "failed" : "done";
  if (m.breaker_open || (t.has_prev && m.stats.errors > t.prev.stats.errors))
    return "failing";
  if (t.has_prev && m.stats.restarts > t.prev.stats.restarts)
    return "restarting";
  for (auto& e : m.edges)
    if (e.queued > 0)
      return "backpressured";
  return "running";
}

replica_view view_of(const member_track& t, const collector_state& st) {
  replica_view v;
  v.replica = t.who.replica;
  v.state = replica_state(t, st);
  if (!t.sampled)
    return v;
  auto& m = t.now;
  v.totals = counters_of(m.stats);
  v.mailbox = m.mailbox;
  v.breaker_open = m.breaker_open;
  for (auto& e : m.edges) {
    v.in_flight += e.in_flight;
    v.window += e.window;
  }
  if (t.has_prev && t.at_us > t.prev_at_us) {
    double dt = (t.at_us - t.prev_at_us) / 1e6;
    auto diff = [](uint64_t a, uint64_t b) { return a > b ? static_cast<double>(a - b) : 0.0; };
    v.in_per_s = diff(m.stats.in, t.prev.stats.in) / dt;
    v.out_per_s = diff(m.stats.out + m.stats.written, t.prev.stats.out + t.prev.stats.written) / dt;
    v.utilization = std::min(1.0, diff(m.stats.busy_us, t.prev.stats.busy_us) / (dt * 1e6));
  }
  v.latency_hist = m.stats.batch_latency;
  v.end_to_end_hist = m.stats.end_to_end;
  if (!t.window.empty()) {
    v.latency = summarize(v.latency_hist.since(t.window.front().batch));
    v.end_to_end = summarize(v.end_to_end_hist.since(t.window.front().e2e));
  } else {
    v.latency = summarize(v.latency_hist);
    v.end_to_end = summarize(v.end_to_end_hist);
  }
  return v;
}

const char* role_name(stage_role r) {
  switch (r) {
    case stage_role::source: return "source";
    case stage_role::sink: return "sink";
    case stage_role::transform: break;
  }
  return "transform";
}

/// Builds the snapshot from the latest samples.
metrics_snapshot build(collector_state& st, int64_t now) {
  auto& pl = *st.plan;
  metrics_snapshot s;
  s.pipeline = pl.config.name;
  s.status = st.status;
  s.started_us = st.started_us;
  s.taken_us = now;
  s.interval_ms = st.opts.interval_ms;
  s.sequence = ++st.sequence;

  // Stages in topological order, then the dead-letter sink if there is one.
  std::vector<int> slot(pl.config.stages.size() + 1, -1);
  for (auto idx : pl.order) {
    auto& spec = pl.config.stages[idx];
    stage_view v;
    v.id = spec.id;
    v.type = spec.type;
    v.role = role_name(pl.kinds[idx]->role);
    v.parallelism = spec.parallelism;
    slot[idx] = static_cast<int>(s.stages.size());
    s.stages.push_back(std::move(v));
  }
  bool has_dlq = std::any_of(st.members.begin(), st.members.end(),
                             [](const member_track& t) { return t.who.kind == 2; });
  if (has_dlq) {
    stage_view v;
    v.id = st.dlq_id;
    v.type = "sink.dlq";
    v.role = "sink";
    slot.back() = static_cast<int>(s.stages.size());
    s.stages.push_back(std::move(v));
  }

  // Windowed latency per stage: the merged cumulative histograms minus the
  // merged oldest points of the replicas' windows.
  struct window_base {
    latency_histogram batch;
    latency_histogram e2e;
    bool any = false;
  };
  std::vector<window_base> bases(s.stages.size());
  for (auto& t : st.members) {
    auto si = t.who.kind == 2 ? slot.back() : slot[t.who.stage];
    if (si < 0)
      continue;
    auto& v = s.stages[static_cast<size_t>(si)];
    if (t.who.kind == 1) {
      // A source's reader: records read and input bytes.
      if (t.sampled) {
        s.records_read += t.now.stats.in;
        v.bytes_read += t.now.stats.bytes_read;
        v.bytes_total += t.now.stats.bytes_total;
      }
      continue;
    }
    auto rv = view_of(t, st);
    v.totals.add(rv.totals);
    v.in_per_s += rv.in_per_s;
    v.out_per_s += rv.out_per_s;
    v.utilization += rv.utilization;
    v.mailbox += rv.mailbox;
    v.in_flight += rv.in_flight;
    v.window += rv.window;
    v.latency_hist.merge(rv.latency_hist);
    v.end_to_end_hist.merge(rv.end_to_end_hist);
    v.replicas.push_back(std::move(rv));
    if (t.sampled && !t.window.empty()) {
      auto& b = bases[static_cast<size_t>(si)];
      b.batch.merge(t.window.front().batch);
      b.e2e.merge(t.window.front().e2e);
      b.any = true;
    }
  }
  for (auto& v : s.stages) {
    std::sort(v.replicas.begin(), v.replicas.end(),
              [](const replica_view& a, const replica_view& b) { return a.replica < b.replica; });
    if (!v.replicas.empty()) {
      v.utilization /= static_cast<double>(v.replicas.size());
      v.state = v.replicas.front().state;
      for (auto& r : v.replicas)
        if (severity(r.state) < severity(v.state))
          v.state = r.state;
    }
    s.records_accounted += v.totals.written + v.totals.filtered + v.totals.folded
                           + v.totals.dropped + v.totals.failed;
    if (v.type != "sink.dlq")
      s.records_accounted += v.totals.dead_lettered;
  }
  for (size_t i = 0; i < s.stages.size(); ++i) {
    auto& v = s.stages[i];
    auto& b = bases[i];
    v.latency = summarize(b.any ? v.latency_hist.since(b.batch) : v.latency_hist);
    v.end_to_end = summarize(b.any ? v.end_to_end_hist.since(b.e2e) : v.end_to_end_hist);
  }
  // Throughput history (sparklines), from the first sample that has a rate
  // (before it, every rate reads 0 for want of an earlier sample).
  if (st.history.size() != s.stages.size())
    st.history.assign(s.stages.size(), {});
  bool rated = std::any_of(st.members.begin(), st.members.end(),
                           [](const member_track& t) { return t.has_prev; });
  for (size_t i = 0; i < s.stages.size(); ++i) {
    auto& h = st.history[i];
    if (rated)
      h.push_back(s.stages[i].out_per_s);
    while (h.size() > st.opts.history)
      h.pop_front();
    s.stages[i].history.assign(h.begin(), h.end());
  }
  s.in_flight = s.records_read > s.records_accounted ? s.records_read - s.records_accounted : 0;

  // Edges between stage replicas (a reader's edges are inside its source stage).
  for (auto& e : st.edges) {
    if (e.from_member >= st.members.size() || e.to_member >= st.members.size())
      continue;
    auto& from = st.members[e.from_member];
    auto& to = st.members[e.to_member];
    if (from.who.kind == 1)
      continue;
    edge_view v;
    v.from = st.stage_name(from.who);
    v.from_replica = from.who.replica;
    v.port = st.port_name(from.who, e.port);
    v.to = st.stage_name(to.who);
    v.to_replica = to.who.replica;
    auto find = [&](const replica_metrics& m) -> const edge_load* {
      for (auto& l : m.edges)
        if (l.edge == e.edge)
          return &l;
      return nullptr;
    };
    if (from.sampled) {
      if (auto* l = find(from.now)) {
        v.records = l->records;
        v.in_flight = l->in_flight;
        v.window = l->window;
        if (from.has_prev && from.at_us > from.prev_at_us)
          if (auto* p = find(from.prev); p && l->records >= p->records)
            v.per_s = static_cast<double>(l->records - p->records)
                      / ((from.at_us - from.prev_at_us) / 1e6);
      }
    }
    s.edges.push_back(std::move(v));
  }
  // In pipeline order: by sending stage, then receiving stage, then replicas.
  auto order_of = [&](const std::string& id) {
    for (size_t i = 0; i < s.stages.size(); ++i)
      if (s.stages[i].id == id)
        return i;
    return s.stages.size();
  };
  std::stable_sort(s.edges.begin(), s.edges.end(), [&](const edge_view& a, const edge_view& b) {
    return std::make_tuple(order_of(a.from), order_of(a.to), a.from_replica, a.to_replica)
           < std::make_tuple(order_of(b.from), order_of(b.to), b.from_replica, b.to_replica);
  });

  // The node.
  auto proc = read_process_sample();
  s.node.pid = static_cast<int64_t>(getpid());
  s.node.host = st.host;
  s.node.cpu_seconds = proc.cpu_seconds;
  s.node.rss_bytes = proc.rss_bytes;
  s.node.uptime_s = proc.start_time_s > 0 ? std::max(0.0, now / 1e6 - proc.start_time_s) : 0;
  if (st.proc_prev_us > 0 && now > st.proc_prev_us)
    s.node.cpu_percent = std::max(0.0, proc.cpu_seconds - st.proc_prev.cpu_seconds) * 100.0
                         / ((now - st.proc_prev_us) / 1e6);
  st.proc_prev = proc;
  st.proc_prev_us = now;
  s.node.threads = st.opts.scheduler_threads;
  s.events.assign(st.events.begin(), st.events.end());
  for (auto& [handle, m] : st.limiters) {
    if (!m)
      continue;
    rate_limit_view v;
    v.name = m->resource;
    v.rate = m->rate;
    v.per_s = m->per_us / 1e6;
    v.burst = m->burst;
    v.max_concurrency = m->max_concurrency;
    v.tokens = m->tokens;
    v.in_use = m->in_use;
    v.waiting = m->waiting;
    v.granted = m->granted;
    v.released_by_monitor = m->released_by_monitor;
    v.wait_s_total = m->waited_us_total / 1e6;
    v.max_wait_s = m->max_wait_us / 1e6;
    s.rate_limits.push_back(std::move(v));
  }
  return s;
}

} // namespace

caf::behavior metrics_collector(caf::event_based_actor* self,
                                std::shared_ptr<const pipeline_plan> plan,
                                collector_options opts) {
  auto st = std::make_shared<collector_state>();
  st->plan = std::move(plan);
  st->opts = opts;
  st->opts.interval_ms = std::max<uint32_t>(10, st->opts.interval_ms);
  st->opts.history = std::max<uint32_t>(1, st->opts.history);
  st->started_us = now_us();
  st->host = host_name();
  for (auto& spec : st->plan->config.stages)
    if (spec.id == st->dlq_id)
      st->dlq_id = "_dlq";
  self->set_default_handler(caf::print_and_drop);

  auto publish = [=] {
    auto now = now_us();
    auto snap = build(*st, now);
    snap.node.actors = self->system().registry().running();
    st->latest = to_json(snap).dump();
  };

  // One round: ask every member; build the snapshot when all have answered
  // (or timed out: a busy actor keeps its previous sample).
  auto sample = [=] {
    if (st->sampling || st->final)
      return;
    if (st->members.empty()) {
      publish();
      return;
    }
    st->sampling = true;
    auto pending = std::make_shared<size_t>(st->members.size() + st->limiters.size());
    auto timeout = std::chrono::milliseconds(std::max<uint32_t>(500, st->opts.interval_ms));
    auto one_done = [=] {
      if (--*pending == 0) {
        st->sampling = false;
        if (!st->final)
          publish();
      }
    };
    for (size_t i = 0; i < st->members.size(); ++i) {
      self->request(st->members[i].who.handle, timeout, metrics_atom::value)
        .then(
          [=](replica_metrics& m) {
            if (st->final) {
              one_done();
              return;
            }
            auto& t = st->members[i];
            auto now = now_us();
            if (t.sampled) {
              t.prev = std::move(t.now);
              t.prev_at_us = t.at_us;
              t.has_prev = true;
            }
            t.now = std::move(m);
            t.at_us = now;
            t.sampled = true;
            t.window.push_back(hist_point{now, t.now.stats.batch_latency, t.now.stats.end_to_end});
            // Keep one point at or before the window's start as the base.
            auto horizon = now - int64_t{st->opts.latency_window_ms} * 1000;
            while (t.window.size() > 1 && t.window[1].at_us <= horizon)
              t.window.pop_front();
            one_done();
          },
          [=](caf::error&) { one_done(); });
    }
    for (size_t i = 0; i < st->limiters.size(); ++i) {
      self->request(st->limiters[i].first, timeout, metrics_atom::value)
        .then(
          [=](rate_limit_metrics& m) {
            if (!st->final)
              st->limiters[i].second = std::move(m);
            one_done();
          },
          [=](caf::error&) { one_done(); });
    }
  };

  return {
    [=](run_topology& topo) {
      st->members.clear();
      for (auto& m : topo.members) {
        member_track t;
        t.who = m;
        st->members.push_back(std::move(t));
      }
      st->edges = std::move(topo.edges);
      st->limiters.clear();
      for (auto& l : topo.limiters)
        st->limiters.emplace_back(l, std::nullopt);
      sample();
      if (!st->ticking) {
        st->ticking = true;
        self->delayed_send(self, std::chrono::milliseconds(st->opts.interval_ms),
                           sample_tick::value);
      }
    },
    [=](sample_tick) {
      sample();
      self->delayed_send(self, std::chrono::milliseconds(st->opts.interval_ms),
                         sample_tick::value);
    },
    [=](run_event_msg& e) {
      if (e.kind == "pipeline_started")
        st->status = "running";
      else if (e.kind == "pipeline_stopping")
        st->status = "stopping";
      else if (e.kind == "pipeline_finished" && !e.status.empty())
        st->status = e.status;
      st->events.push_back(run_event{e.time_us, e.kind, e.stage, e.message});
      while (st->events.size() > st->opts.max_events)
        st->events.pop_front();
      if (e.kind == "pipeline_finished") {
        // The last picture: every actor's final counts (they stop now).
        auto now = now_us();
        for (auto& fs : e.final_stats) {
          uint8_t kind = fs.driver ? 1 : fs.stage == dlq_stage ? 2 : 0;
          for (auto& t : st->members) {
            if (t.who.kind != kind || t.who.stage != fs.stage
                || (kind == 0 && t.who.replica != fs.replica))
              continue;
            if (t.sampled) {
              t.prev = t.now;
              t.prev_at_us = t.at_us;
              t.has_prev = true;
            }
            t.now.stats = fs;
            t.now.finished = true;
            t.now.mailbox = 0;
            for (auto& l : t.now.edges) {
              l.in_flight = 0;
              l.queued = 0;
              for (auto& [edge, n] : fs.sent)
                if (edge == l.edge)
                  l.records = n;
            }
            t.at_us = now;
            t.sampled = true;
          }
        }
        publish();
        st->final = true;
      }
    },
    [=](snapshot_atom) {
      if (st->latest.empty())
        publish();
      return st->latest;
    },
  };
}

} // namespace sluice
