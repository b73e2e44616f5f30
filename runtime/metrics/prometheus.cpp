#include "metrics/prometheus.hpp"

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <set>
#include <vector>

namespace sluice {

namespace {

/// Every state a replica reports (snapshot.hpp, replica_view::state), in the
/// order sluice_stage_state lists them.
constexpr std::array<std::string_view, 7> replica_states = {
  "starting", "running", "backpressured", "failing", "restarting", "done", "failed"};

std::string seconds_text(bool negative, uint64_t us) {
  std::string out = negative ? "-" : "";
  out += std::to_string(us / 1'000'000);
  if (auto frac = us % 1'000'000; frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 6 - digits.size(), '0');
    while (digits.back() == '0')
      digits.pop_back();
    out += '.';
    out += digits;
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\\')
      out += "\\\\";
    else if (ch == '\n')
      out += "\\n";
    else
      out += ch;
  }
  return out;
}

/// Writes families one at a time. A family's HELP and TYPE lines are written
/// with its first sample, so a family without samples leaves no trace.
class writer {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    [[maybe_unused]] bool fresh = names_.emplace(name).second;
    assert(fresh && "a metric family is written twice");
    name_ = name;
    type_ = type;
    help_ = help;
    started_ = false;
  }

  /// One sample of the current family: `name_suffix` is appended to the
  /// family name (histograms: "_bucket", "_sum", "_count"); `labels` is the
  /// text between the braces, already escaped.
  void sample(std::string_view name_suffix, std::string_view labels, std::string_view value) {
    if (!started_) {
      out_ += "# HELP ";
      out_ += name_;
      out_ += ' ';
      out_ += escape_help(help_);
      out_ += "\n# TYPE ";
      out_ += name_;
      out_ += ' ';
      out_ += type_;
      out_ += '\n';
      started_ = true;
    }
    out_ += name_;
    out_ += name_suffix;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  void sample(std::string_view labels, std::string_view value) { sample("", labels, value); }

  std::string take() { return std::move(out_); }

private:
  std::string out_;
  std::string name_;
  std::string type_;
  std::string help_;
  bool started_ = false;
  std::set<std::string, std::less<>> names_;
};

std::string label(std::string_view name, std::string_view value) {
  std::string out{name};
  out += "=\"";
  out += prometheus_escape_label(value);
  out += '"';
  return out;
}

/// What one series of the stage families reads: a replica view, or a stage
/// without replica views standing in as replica 0.
struct replica_source {
  const stage_view* stage;
  std::string labels; ///< pipeline, stage, replica
  const std::string* state;
  const stage_counters* totals;
  uint64_t mailbox;
  uint32_t in_flight;
  uint32_t window;
  double utilization;
  const latency_histogram* latency;
  const latency_histogram* end_to_end;
};

std::vector<replica_source> replica_sources(const metrics_snapshot& s) {
  std::vector<replica_source> out;
  auto pipeline = label("pipeline", s.pipeline);
  auto base = [&](const stage_view& st, uint32_t replica) {
    return pipeline + ',' + label("stage", st.id) + ',' + label("replica", std::to_string(replica));
  };
  for (auto& st : s.stages) {
    if (st.replicas.empty()) {
      out.push_back({&st, base(st, 0), &st.state, &st.totals, st.mailbox, st.in_flight, st.window,
                     st.utilization, &st.latency_hist, &st.end_to_end_hist});
      continue;
    }
    for (auto& r : st.replicas)
      out.push_back({&st, base(st, r.replica), &r.state, &r.totals, r.mailbox, r.in_flight,
                     r.window, r.utilization, &r.latency_hist, &r.end_to_end_hist});
  }
  return out;
}

struct counter_family {
  std::string_view name;
  std::string_view help;
  uint64_t stage_counters::*field;
};

constexpr std::array<counter_family, 19> stage_counter_families = {{
  {"sluice_stage_records_in_total", "Records the stage replica received.",
   &stage_counters::records_in},
  {"sluice_stage_records_out_total", "Records the stage replica sent on, over every output.",
   &stage_counters::records_out},
  {"sluice_stage_batches_in_total", "Batches the stage replica received.",
   &stage_counters::batches_in},
  {"sluice_stage_batches_out_total", "Batches the stage replica sent.",
   &stage_counters::batches_out},
  {"sluice_stage_records_filtered_total", "Records the stage replica filtered out.",
   &stage_counters::filtered},
  {"sluice_stage_records_written_total", "Records a sink replica wrote.",
   &stage_counters::written},
  {"sluice_stage_records_folded_total",
   "Records folded into an aggregate's or a dedupe's state.", &stage_counters::folded},
  {"sluice_stage_records_dropped_total", "Records dropped on purpose by the error policy.",
   &stage_counters::dropped},
  {"sluice_stage_records_dead_lettered_total", "Records sent to the dead-letter sink.",
   &stage_counters::dead_lettered},
  {"sluice_stage_records_failed_total", "Records that failed the run (on_error: fail).",
   &stage_counters::failed},
  {"sluice_stage_errors_total", "Failed attempts, transient or not; each retry counts.",
   &stage_counters::errors},
  {"sluice_stage_retries_total", "Retries of a failed attempt.", &stage_counters::retries},
  {"sluice_stage_restarts_total", "Restarts of the stage replica's worker.",
   &stage_counters::restarts},
  {"sluice_stage_duplicates_total", "Resent batches discarded as duplicates.",
   &stage_counters::duplicates},
  {"sluice_stage_breaker_opened_total", "Times the circuit breaker opened.",
   &stage_counters::breaker_opened},
  {"sluice_stage_calls_total", "Calls a calling stage (http, classify) made that were answered.",
   &stage_counters::calls},
  {"sluice_stage_call_failures_total", "Calls that failed as a whole (status, timeout, unreadable answer).",
   &stage_counters::call_failures},
  {"sluice_stage_prompt_tokens_total", "Prompt tokens a classify stage's provider counted.",
   &stage_counters::prompt_tokens},
  {"sluice_stage_completion_tokens_total", "Completion tokens a classify stage's provider counted.",
   &stage_counters::completion_tokens},
}};

void histogram(writer& w, const std::string& labels, const latency_histogram& h) {
  uint64_t cumulative = 0;
  auto& buckets = h.buckets();
  for (size_t i = 0; i < latency_histogram::bounds_us.size(); ++i) {
    cumulative += buckets[i];
    auto le = prometheus_seconds(static_cast<int64_t>(latency_histogram::bounds_us[i]));
    w.sample("_bucket", labels + ",le=\"" + le + '"', std::to_string(cumulative));
  }
  cumulative += buckets.back();
  w.sample("_bucket", labels + ",le=\"+Inf\"", std::to_string(cumulative));
  w.sample("_sum", labels, seconds_text(false, h.sum_us()));
  w.sample("_count", labels, std::to_string(cumulative));
}

void stage_families(writer& w, const std::vector<replica_source>& sources) {
  for (auto& f : stage_counter_families) {
    w.family(f.name, "counter", f.help);
    for (auto& r : sources)
      w.sample(r.labels, std::to_string(r.totals->*f.field));
  }
  w.family("sluice_stage_busy_seconds_total", "counter",
           "Time the stage replica spent processing, in seconds.");
  for (auto& r : sources)
    w.sample(r.labels, seconds_text(false, r.totals->busy_us));

  w.family("sluice_stage_permit_wait_seconds_total", "counter",
           "Time the stage replica's calls waited for rate-limit permits, in seconds.");
  for (auto& r : sources)
    w.sample(r.labels, seconds_text(false, r.totals->permit_wait_us));
  w.family("sluice_stage_cost_usd_total", "counter",
           "Estimated cost of the stage replica's calls in US dollars, from the configured prices.");
  for (auto& r : sources)
    w.sample(r.labels, prometheus_number(r.totals->cost_usd));

  w.family("sluice_stage_mailbox_messages", "gauge",
           "Messages waiting in the stage replica's mailbox.");
  for (auto& r : sources)
    w.sample(r.labels, std::to_string(r.mailbox));
  w.family("sluice_stage_in_flight_batches", "gauge",
           "Batches the stage replica sent that are not yet acknowledged, over every output edge.");
  for (auto& r : sources)
    w.sample(r.labels, std::to_string(r.in_flight));
  w.family("sluice_stage_window_batches", "gauge",
           "The sum of the stage replica's output edge windows, in batches.");
  for (auto& r : sources)
    w.sample(r.labels, std::to_string(r.window));
  w.family("sluice_stage_utilization_ratio", "gauge",
           "Busy share of the last sampling interval, 0 to 1.");
  for (auto& r : sources)
    w.sample(r.labels, prometheus_number(r.utilization));

  w.family("sluice_stage_state", "gauge",
           "The stage replica's state: 1 for the current one, 0 for the others.");
  for (auto& r : sources) {
    bool known = false;
    for (auto state : replica_states) {
      bool current = state == *r.state;
      known = known || current;
      w.sample(r.labels + ',' + label("state", state), current ? "1" : "0");
    }
    if (!known) // a state this renderer does not know yet: shown, not lost
      w.sample(r.labels + ',' + label("state", *r.state), "1");
  }

  w.family("sluice_stage_batch_duration_seconds", "histogram",
           "Time the stage replica took to process one batch, in seconds.");
  for (auto& r : sources)
    histogram(w, r.labels, *r.latency);
  w.family("sluice_stage_end_to_end_latency_seconds", "histogram",
           "Sinks: time from a record's read to its write, per record, in seconds.");
  for (auto& r : sources)
    if (r.stage->role == "sink")
      histogram(w, r.labels, *r.end_to_end);
}

void edge_families(writer& w, const metrics_snapshot& s) {
  std::vector<std::string> labels;
  for (auto& e : s.edges)
    labels.push_back(label("pipeline", s.pipeline) + ',' + label("from", e.from) + ','
                     + label("from_replica", std::to_string(e.from_replica)) + ','
                     + label("port", e.port) + ',' + label("to", e.to) + ','
                     + label("to_replica", std::to_string(e.to_replica)));
  w.family("sluice_edge_records_total", "counter",
           "Records sent over the edge between two stage replicas.");
  for (size_t i = 0; i < s.edges.size(); ++i)
    w.sample(labels[i], std::to_string(s.edges[i].records));
  w.family("sluice_edge_in_flight_batches", "gauge",
           "Batches sent over the edge and not yet acknowledged.");
  for (size_t i = 0; i < s.edges.size(); ++i)
    w.sample(labels[i], std::to_string(s.edges[i].in_flight));
  w.family("sluice_edge_window_batches", "gauge",
           "The edge's window: batches it may have in flight.");
  for (size_t i = 0; i < s.edges.size(); ++i)
    w.sample(labels[i], std::to_string(s.edges[i].window));
}

void rate_limit_families(writer& w, const metrics_snapshot& s) {
  std::vector<std::string> labels;
  for (auto& r : s.rate_limits)
    labels.push_back(label("pipeline", s.pipeline) + ',' + label("rate_limit", r.name));
  auto gauge = [&](const char* name, const char* help, auto field) {
    w.family(name, "gauge", help);
    for (size_t i = 0; i < s.rate_limits.size(); ++i)
      w.sample(labels[i], field(s.rate_limits[i]));
  };
  auto number = [](double v) { return prometheus_number(v); };
  gauge("sluice_rate_limit_tokens", "Tokens in the limit's bucket; negative while in debt.",
        [&](auto& r) { return number(r.tokens); });
  gauge("sluice_rate_limit_permits_in_use", "Permits held: calls on the wire under the limit.",
        [](auto& r) { return std::to_string(r.in_use); });
  gauge("sluice_rate_limit_waiting", "Calls queued for a permit of the limit.",
        [](auto& r) { return std::to_string(r.waiting); });
  gauge("sluice_rate_limit_rate_per_second", "The limit's configured rate, in tokens per second.",
        [&](auto& r) { return number(r.per_s > 0 ? r.rate / r.per_s : 0); });
  gauge("sluice_rate_limit_max_concurrency", "The limit's configured max_concurrency; 0: none.",
        [](auto& r) { return std::to_string(r.max_concurrency); });
  w.family("sluice_rate_limit_permits_granted_total", "counter", "Permits the limit granted.");
  for (size_t i = 0; i < s.rate_limits.size(); ++i)
    w.sample(labels[i], std::to_string(s.rate_limits[i].granted));
  w.family("sluice_rate_limit_wait_seconds_total", "counter",
           "Time calls waited for the limit's permits, summed, in seconds.");
  for (size_t i = 0; i < s.rate_limits.size(); ++i)
    w.sample(labels[i], number(s.rate_limits[i].wait_s_total));
}

void pipeline_families(writer& w, const metrics_snapshot& s) {
  auto pipeline = label("pipeline", s.pipeline);
  w.family("sluice_pipeline_records_read_total", "counter", "Records the sources read.");
  w.sample(pipeline, std::to_string(s.records_read));
  w.family("sluice_pipeline_records_in_flight", "gauge",
           "Records read and not yet written, filtered, folded, dropped, dead-lettered or failed.");
  w.sample(pipeline, std::to_string(s.in_flight));
  w.family("sluice_pipeline_info", "gauge", "The pipeline and its run status; always 1.");
  w.sample(pipeline + ',' + label("status", s.status), "1");
  w.family("sluice_pipeline_start_time_seconds", "gauge",
           "When the run started, in seconds since the epoch.");
  w.sample(pipeline, prometheus_seconds(s.started_us));
}

void node_families(writer& w, const metrics_snapshot& s) {
  auto& n = s.node;
  w.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  w.sample("", prometheus_number(n.cpu_seconds));
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w.sample("", std::to_string(n.rss_bytes));
  // The snapshot has no process start time: the time it was taken minus the
  // uptime, or the run's start when the snapshot has no time.
  int64_t start_us = s.started_us;
  if (s.taken_us > 0 && std::isfinite(n.uptime_s))
    start_us = s.taken_us - static_cast<int64_t>(std::llround(n.uptime_s * 1e6));
  w.family("process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
  w.sample("", prometheus_seconds(start_us));
  w.family("sluice_node_uptime_seconds", "gauge", "Seconds since the process started.");
  w.sample("", prometheus_number(n.uptime_s));
  w.family("sluice_node_actors", "gauge", "Actors running in the process.");
  w.sample("", std::to_string(n.actors));
  w.family("sluice_node_scheduler_threads", "gauge", "Threads of the actor scheduler.");
  w.sample("", std::to_string(n.threads));
}

} // namespace

std::string prometheus_escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    if (ch == '\\')
      out += "\\\\";
    else if (ch == '"')
      out += "\\\"";
    else if (ch == '\n')
      out += "\\n";
    else
      out += ch;
  }
  return out;
}

std::string prometheus_number(double v) {
  if (!std::isfinite(v) || v == 0)
    return "0";
  // Fixed notation of the shortest round-trip digits: at most 309 digits
  // before the point (DBL_MAX) or 324 after it (the smallest subnormal).
  std::array<char, 400> buf;
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
  if (ec != std::errc{})
    return "0";
  return std::string(buf.data(), end);
}

std::string prometheus_seconds(int64_t us) {
  if (us < 0)
    return seconds_text(true, static_cast<uint64_t>(-(us + 1)) + 1);
  return seconds_text(false, static_cast<uint64_t>(us));
}

std::string render_prometheus(const metrics_snapshot& s) {
  writer w;
  stage_families(w, replica_sources(s));
  edge_families(w, s);
  rate_limit_families(w, s);
  pipeline_families(w, s);
  node_families(w, s);
  return w.take();
}

} // namespace sluice
