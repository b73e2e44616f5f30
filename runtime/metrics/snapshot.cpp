#include "metrics/snapshot.hpp"

#include <cmath>
#include <map>
#include <tuple>

namespace sluice {

void stage_counters::add(const stage_counters& o) {
  records_in += o.records_in;
  records_out += o.records_out;
  batches_in += o.batches_in;
  batches_out += o.batches_out;
  filtered += o.filtered;
  written += o.written;
  folded += o.folded;
  dropped += o.dropped;
  dead_lettered += o.dead_lettered;
  failed += o.failed;
  errors += o.errors;
  retries += o.retries;
  restarts += o.restarts;
  duplicates += o.duplicates;
  breaker_opened += o.breaker_opened;
  busy_us += o.busy_us;
  calls += o.calls;
  call_failures += o.call_failures;
  permit_wait_us += o.permit_wait_us;
  prompt_tokens += o.prompt_tokens;
  completion_tokens += o.completion_tokens;
  cost_usd += o.cost_usd;
}

// The JSON field names are the struct member names (docs/observability.md).

void to_json(nlohmann::json& j, const latency_histogram& h) {
  j = nlohmann::json{{"bounds_us", latency_histogram::bounds_us},
                     {"buckets", h.buckets()},
                     {"count", h.count()},
                     {"sum_us", h.sum_us()}};
}

void from_json(const nlohmann::json& j, latency_histogram& h) {
  std::array<uint64_t, latency_histogram::bucket_count> buckets{};
  if (auto it = j.find("buckets"); it != j.end() && it->is_array()) {
    for (size_t i = 0; i < buckets.size() && i < it->size(); ++i)
      buckets[i] = (*it)[i].get<uint64_t>();
  }
  h.assign(buckets, j.value("sum_us", uint64_t{0}));
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(stage_counters, records_in, records_out,
                                                batches_in, batches_out, filtered, written,
                                                folded, dropped, dead_lettered, failed, errors,
                                                retries, restarts, duplicates, breaker_opened,
                                                busy_us, calls, call_failures, permit_wait_us,
                                                prompt_tokens, completion_tokens, cost_usd)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(latency_summary, p50_ms, p95_ms, p99_ms, count)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(replica_view, replica, state, totals, in_per_s,
                                                out_per_s, utilization, mailbox, in_flight,
                                                window, breaker_open, latency, end_to_end,
                                                latency_hist, end_to_end_hist)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(stage_view, id, type, role, parallelism, state,
                                                totals, in_per_s, out_per_s, utilization,
                                                mailbox, in_flight, window, latency, end_to_end,
                                                latency_hist, end_to_end_hist, history,
                                                replicas, bytes_read, bytes_total)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(edge_view, from, from_replica, port, to,
                                                to_replica, records, per_s, in_flight, window)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(node_view, pid, host, uptime_s, cpu_seconds,
                                                cpu_percent, rss_bytes, actors, threads)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(run_event, time_us, kind, stage, message)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(rate_limit_view, name, rate, per_s, burst,
                                                max_concurrency, tokens, in_use, waiting, granted,
                                                released_by_monitor, wait_s_total, max_wait_s)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(metrics_snapshot, pipeline, status, started_us,
                                                taken_us, interval_ms, sequence, records_read,
                                                records_accounted, in_flight, node, stages,
                                                edges, rate_limits, events)

namespace {

/// JSON has no NaN or infinity (nlohmann writes them as null, which does not
/// read back as a number): a rate or share that came out non-finite is 0.
void make_finite(nlohmann::json& j) {
  if (j.is_number_float()) {
    if (!std::isfinite(j.get<double>()))
      j = 0.0;
  } else if (j.is_structured()) {
    for (auto& v : j)
      make_finite(v);
  }
}

} // namespace

nlohmann::json to_json(const metrics_snapshot& s) {
  nlohmann::json j;
  to_json(j, s);
  make_finite(j);
  return j;
}

metrics_snapshot snapshot_from_json(const nlohmann::json& j) {
  metrics_snapshot s;
  from_json(j, s);
  return s;
}

nlohmann::json to_json(const stage_view& s) {
  nlohmann::json j;
  to_json(j, s);
  make_finite(j);
  return j;
}

std::vector<edge_view> stage_edges(const std::vector<edge_view>& edges) {
  std::vector<edge_view> out;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> index;
  for (auto& e : edges) {
    auto key = std::make_tuple(e.from, e.port, e.to);
    auto [it, fresh] = index.emplace(key, out.size());
    if (fresh) {
      edge_view sum;
      sum.from = e.from;
      sum.port = e.port;
      sum.to = e.to;
      out.push_back(sum);
    }
    auto& sum = out[it->second];
    sum.records += e.records;
    sum.per_s += e.per_s;
    sum.in_flight += e.in_flight;
    sum.window += e.window;
  }
  return out;
}

} // namespace sluice
