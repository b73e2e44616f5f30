#pragma once

// One small run of an orders pipeline, written through the store API as the
// recorder would, for the store and query tests (and the CLI test):
//
//   orders (data/orders.csv) -> valid (filter) -> split (route: food, other)
//     food  -> totals (aggregate) -> out (out/totals.jsonl)
//     other -> archive (out/other.jsonl)
//
//   1001 line 2: passed, routed food, folded into "food"
//   1002 line 3: passed, routed food, folded into "food"
//   1003 line 4: filtered at valid
//   1004 line 5: routed other; archive retried it once, then wrote it
//   1005 line 6: dead-lettered at valid (a type error)
//   food (totals#0:1): derived at totals from 1001 and 1002, written by out

#include <cstdint>
#include <string>
#include <vector>

#include "lineage/store.hpp"

namespace sluice::test {

/// 2026-12-06T04:00:00Z in microseconds.
constexpr int64_t lineage_t0 = 1'796'529'600'000'000;

inline lineage_run_info orders_run_info(int64_t started_us = lineage_t0) {
  lineage_run_info info;
  info.pipeline = "orders";
  info.config_path = "configs/orders.json";
  info.started_us = started_us;
  info.mode = "full";
  info.stages = {
    {0, "orders", "source.file", "source", {}, {"data/orders.csv"}, ""},
    {1, "valid", "filter", "transform", {}, {}, ""},
    {2, "split", "route", "transform", {"food", "other"}, {}, ""},
    {3, "totals", "aggregate", "transform", {}, {}, ""},
    {4, "out", "sink.file", "sink", {}, {}, "out/totals.jsonl"},
    {5, "archive", "sink.file", "sink", {}, {}, "out/other.jsonl"},
  };
  info.edges = {{0, "", 1}, {1, "", 2}, {2, "food", 3}, {2, "other", 5}, {3, "", 4}};
  return info;
}

/// Event at `ms` milliseconds after t0.
inline lineage_event lineage_ev(uint64_t line, std::string id, stage_index stage,
                                lineage_outcome o, int64_t ms, std::string detail = {},
                                uint32_t attempt = 0) {
  lineage_event ev;
  ev.key = lineage_key{0, 0, line};
  ev.record_id = std::move(id);
  ev.stage = stage;
  ev.replica = 0;
  ev.time_us = lineage_t0 + ms * 1000;
  ev.outcome = o;
  ev.attempt = attempt;
  ev.detail = std::move(detail);
  return ev;
}

/// The run's events, in the batches the stages would send them in.
inline std::vector<std::vector<lineage_event>> orders_run_batches() {
  using o = lineage_outcome;
  std::vector<std::vector<lineage_event>> b;
  b.push_back({lineage_ev(2, "1001", 0, o::read, 1), lineage_ev(3, "1002", 0, o::read, 2),
               lineage_ev(4, "1003", 0, o::read, 3), lineage_ev(5, "1004", 0, o::read, 4),
               lineage_ev(6, "1005", 0, o::read, 5)});
  b.push_back({lineage_ev(2, "1001", 1, o::passed, 11), lineage_ev(3, "1002", 1, o::passed, 12),
               lineage_ev(4, "1003", 1, o::filtered, 13), lineage_ev(5, "1004", 1, o::passed, 14),
               lineage_ev(6, "1005", 1, o::dead_lettered, 15,
                          "type_error: amount: expected a number, got \"abc\"")});
  b.push_back({lineage_ev(2, "1001", 2, o::routed, 21, "food"),
               lineage_ev(3, "1002", 2, o::routed, 22, "food"),
               lineage_ev(5, "1004", 2, o::routed, 24, "other")});
  b.push_back({lineage_ev(2, "1001", 3, o::folded, 31, "food"),
               lineage_ev(3, "1002", 3, o::folded, 32, "food")});
  b.push_back({lineage_ev(5, "1004", 5, o::retried, 34, "transient: out/other.jsonl: disk busy", 1)});
  b.push_back({lineage_ev(5, "1004", 5, o::written, 44)});
  auto derived = lineage_ev(1, "food", 3, o::derived, 50);
  derived.key = lineage_key{3, 0, 1};
  b.push_back({derived});
  auto written = lineage_ev(1, "food", 4, o::written, 60);
  written.key = lineage_key{3, 0, 1};
  b.push_back({written});
  return b;
}

/// Writes the run into `store`; returns its number (0 on failure).
inline int64_t write_orders_run(lineage_store& store, int64_t started_us = lineage_t0) {
  auto run = store.begin_run(orders_run_info(started_us));
  if (!run)
    return 0;
  for (auto& batch : orders_run_batches())
    if (!store.append(*run, batch))
      return 0;
  if (!store.end_run(*run, "ok", lineage_t0 + 70'000))
    return 0;
  return *run;
}

} // namespace sluice::test
