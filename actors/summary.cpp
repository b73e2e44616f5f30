#include "summary.hpp"

#include <map>

#include <fmt/format.h>

#include "dlq_actor.hpp"
#include "lineage_recorder.hpp"
#include "ops/registry.hpp"

namespace sluice {

namespace {


json counters(const stage_stats& s) {
  return {{"in", s.in},           {"out", s.out},
          {"passed", s.passed},   {"filtered", s.filtered},
          {"folded", s.folded},   {"written", s.written},
          {"dropped", s.dropped}, {"dead_lettered", s.dead_lettered},
          {"failed", s.failed},   {"unaccounted", s.unaccounted},
          {"batches_in", s.batches_in}, {"batches_out", s.batches_out},
          {"busy_ms", s.busy_us / 1000},
          {"retries", s.retries},   {"restarts", s.restarts},
          {"duplicates", s.duplicates}, {"breaker_opened", s.breaker_opened},
          {"errors", s.errors},
          // calling stages only (the rows of other kinds drop them)
          {"calls", s.calls}, {"call_failures", s.call_failures},
          {"permit_wait_ms", s.permit_wait_us / 1000},
          {"prompt_tokens", s.prompt_tokens}, {"completion_tokens", s.completion_tokens},
          {"cost_usd", s.cost_usd}};
}

const char* const call_keys[] = {"calls", "call_failures", "permit_wait_ms", "prompt_tokens",
                                 "completion_tokens", "cost_usd"};

void add(json& into, const json& from) {
  for (auto& [k, v] : from.items()) {
    if (v.is_number_float())
      into[k] = into.value(k, 0.0) + v.get<double>();
    else
      into[k] = into.value(k, uint64_t{0}) + v.get<uint64_t>();
  }
}

} // namespace

json build_summary(const pipeline_plan& plan, const std::vector<stage_stats>& stats,
                   const std::string& status, const std::string& failure,
                   const std::vector<std::string>& commit_errors, int64_t elapsed_us) {
  auto& stages = plan.config.stages;
  json per_stage = json::array();
  std::vector<json> sums(stages.size(), json::object());
  std::vector<uint32_t> seen(stages.size(), 0);
  json totals = {{"read", 0},    {"written", 0}, {"filtered", 0},     {"dropped", 0},
                 {"dead_lettered", 0}, {"folded", 0}, {"failed", 0}};
  json problems = json::array();
  std::map<edge_id, uint64_t> sent;
  std::map<edge_id, uint64_t> received;
  uint64_t dlq_written = 0;
  bool dlq_seen = false;
  uint64_t lineage_events = 0;
  bool lineage_seen = false;
  uint64_t bytes = 0;
  for (auto& s : stats) {
    for (auto& [e, n] : s.sent)
      sent[e] += n;
    for (auto& [e, n] : s.received)
      received[e] += n;
    if (s.stage == lineage_stage) {
      lineage_events += s.written;
      lineage_seen = true;
      continue;
    }
    if (s.stage == dlq_stage) {
      dlq_seen = true;
      dlq_written += s.written;
      continue;
    }
    if (s.driver) {
      totals["read"] = totals["read"].get<uint64_t>() + s.in;
      bytes += s.bytes_read;
      continue;
    }
    auto accounted = s.passed + s.filtered + s.folded + s.written + s.dropped
                     + s.dead_lettered + s.failed;
    if (s.unaccounted > 0)
      problems.push_back(fmt::format("stage '{}' replica {}: {} records were not accounted for by "
                                     "its operator (a bug: please report it)",
                                     stages[s.stage].id, s.replica, s.unaccounted));
    else if (accounted != s.in)
      problems.push_back(fmt::format("stage '{}' replica {}: received {} records but accounted "
                                     "for {}",
                                     stages[s.stage].id, s.replica, s.in, accounted));
    add(sums[s.stage], counters(s));
    ++seen[s.stage];
  }
  for (auto& st : stages) {
    json row = sums[st.index];
    if (row.empty())
      row = counters(stage_stats{});
    row["id"] = st.id;
    row["type"] = st.type;
    row["replicas"] = st.parallelism;
    row["on_error"] = to_string(st.on_error);
    if (plan.kinds[st.index] == nullptr || !plan.kinds[st.index]->calls)
      for (auto key : call_keys)
        row.erase(key);
    per_stage.push_back(row);
    for (auto key : {"written", "filtered", "dropped", "dead_lettered", "folded", "failed"})
      totals[key] = totals[key].get<uint64_t>() + row.value(key, uint64_t{0});
  }
  if (status != "failed") {
    for (auto& st : stages)
      if (seen[st.index] != st.parallelism)
        problems.push_back(fmt::format("stage '{}': {} of {} replicas reported", st.id,
                                       seen[st.index], st.parallelism));
    for (auto& [e, n] : sent)
      if (received[e] != n)
        problems.push_back(fmt::format("edge {}: {} records sent, {} received", e, n, received[e]));
    if (dlq_seen && dlq_written != totals["dead_lettered"].get<uint64_t>())
      problems.push_back(fmt::format("{} records were dead-lettered but the dead-letter file got {}",
                                     totals["dead_lettered"].get<uint64_t>(), dlq_written));
  }
  json out;
  out["pipeline"] = plan.config.name;
  out["status"] = status;
  if (!failure.empty())
    out["error"] = failure;
  if (!commit_errors.empty())
    out["commit_errors"] = commit_errors;
  out["elapsed_ms"] = elapsed_us / 1000;
  out["bytes_read"] = bytes;
  out["totals"] = totals;
  out["stages"] = per_stage;
  out["conservation"] = {{"ok", problems.empty()}, {"problems", problems}};
  if (!plan.config.dlq_path.empty())
    out["dlq_path"] = plan.config.dlq_path;
  if (plan.config.lineage.on())
    out["lineage"] = {{"path", plan.config.lineage.path},
                      {"mode", plan.config.lineage.mode == lineage_settings::mode_t::sampled
                                 ? "sampled" : "full"},
                      {"events", lineage_events},
                      {"complete", lineage_seen}};
  return out;
}

std::string render_summary(const json& s) {
  std::string out;
  auto elapsed = s.value("elapsed_ms", int64_t{0}) / 1000.0;
  auto& t = s["totals"];
  auto read = t.value("read", uint64_t{0});
  out += fmt::format("pipeline '{}' {} in {:.2f} s: {} records read ({:.0f} records/s)\n",
                     s.value("pipeline", ""), s.value("status", ""), elapsed, read,
                     elapsed > 0 ? read / elapsed : 0.0);
  out += fmt::format("{:<14} {:<16} {:>10} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} "
                     "{:>8} {:>9}\n",
                     "stage", "type", "in", "out", "filtered", "dropped", "dead", "folded",
                     "errors", "retries", "restarts", "batches", "busy ms");
  for (auto& row : s["stages"]) {
    auto type = row.value("type", "");
    if (row.value("replicas", 1) > 1)
      type += " x" + std::to_string(row.value("replicas", 1));
    auto errors = row.value("errors", uint64_t{0});
    out += fmt::format("{:<14} {:<16} {:>10} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} "
                       "{:>8} {:>9}\n",
                       row.value("id", ""), type, row.value("in", uint64_t{0}),
                       row.value("out", uint64_t{0}) + row.value("written", uint64_t{0}),
                       row.value("filtered", uint64_t{0}), row.value("dropped", uint64_t{0}),
                       row.value("dead_lettered", uint64_t{0}), row.value("folded", uint64_t{0}),
                       errors, row.value("retries", uint64_t{0}),
                       row.value("restarts", uint64_t{0}), row.value("batches_in", uint64_t{0}),
                       row.value("busy_ms", uint64_t{0}));
  }
  out += fmt::format("totals: read {}, written {}, filtered {}, dropped {}, dead-lettered {}, "
                     "folded into aggregates {}\n",
                     read, t.value("written", uint64_t{0}), t.value("filtered", uint64_t{0}),
                     t.value("dropped", uint64_t{0}), t.value("dead_lettered", uint64_t{0}),
                     t.value("folded", uint64_t{0}));
  auto& c = s["conservation"];
  if (c.value("ok", false)) {
    out += "conservation: ok (every record read is accounted for; every edge delivered what "
           "was sent)\n";
  } else {
    out += "conservation: MISMATCH\n";
    for (auto& p : c["problems"])
      out += "  - " + p.get<std::string>() + "\n";
  }
  for (auto& row : s["stages"]) {
    if (!row.contains("calls"))
      continue;
    out += fmt::format("calls: {}: {} calls ({} failed), {:.1f} s waiting for rate-limit permits",
                       row.value("id", ""), row.value("calls", uint64_t{0}),
                       row.value("call_failures", uint64_t{0}),
                       row.value("permit_wait_ms", uint64_t{0}) / 1000.0);
    auto prompt = row.value("prompt_tokens", uint64_t{0});
    auto completion = row.value("completion_tokens", uint64_t{0});
    if (prompt + completion > 0)
      out += fmt::format(", {} prompt + {} completion tokens, estimated cost ${:.4f}", prompt,
                         completion, row.value("cost_usd", 0.0));
    out += "\n";
  }
  if (s.contains("dlq_path") && t.value("dead_lettered", uint64_t{0}) > 0)
    out += "dead letters: " + s["dlq_path"].get<std::string>() + "\n";
  if (s.contains("lineage") && (s["lineage"].value("complete", false)
                                || s["lineage"].value("events", uint64_t{0}) > 0)) {
    auto& l = s["lineage"];
    out += "lineage: " + std::to_string(l.value("events", uint64_t{0})) + " events ("
           + l.value("mode", std::string{}) + ") in " + l.value("path", std::string{})
           + " (sluice lineage runs|trace|find)\n";
  }
  if (s.contains("error"))
    out += "error: " + s["error"].get<std::string>() + "\n";
  if (s.contains("partial_outputs"))
    for (auto& n : s["partial_outputs"])
      out += "partial output: " + n.get<std::string>() + "\n";
  if (s.contains("commit_errors"))
    for (auto& e : s["commit_errors"])
      out += "error: " + e.get<std::string>() + "\n";
  return out;
}

} // namespace sluice
