#pragma once

// The synthetic run both lineage benchmarks write through the store API: a
// source reading two files, a validate stage dead-lettering 1% of records, a
// map changing every record and a sink writing them: four events per record
// (three for a dead letter), appended in stage batches as the recorder does.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdint>
#include <string>
#include <vector>

#include "lineage/store.hpp"

namespace sluice::bench {

inline lineage_run_info bench_run_info() {
  lineage_run_info info;
  info.pipeline = "orders";
  info.config_path = "configs/orders.json";
  info.started_us = 1'796'500'000'000'000; // 2026-12-06
  info.mode = "full";
  info.stages = {
    {0, "orders", "source.file", "source", {}, {"data/orders-a.csv", "data/orders-b.csv"}, ""},
    {1, "check", "validate", "transform", {}, {}, ""},
    {2, "cents", "map", "transform", {}, {}, ""},
    {3, "out", "sink.file", "sink", {}, {}, "out/orders.jsonl"},
  };
  info.edges = {{0, "", 1}, {1, "", 2}, {2, "", 3}};
  return info;
}

/// Appends `records` records' events in batches of `batch` events per stage;
/// returns the number of events appended (or -1 after printing an error).
inline int64_t append_bench_run(lineage_store& store, int64_t run, uint64_t records,
                                size_t batch) {
  int64_t t0 = 1'796'500'000'000'000;
  int64_t appended = 0;
  std::vector<lineage_event> events;
  events.reserve(batch);
  auto flush = [&] {
    if (events.empty())
      return true;
    auto s = store.append(run, events);
    if (!s) {
      fprintf(stderr, "append: %s\n", s.err().message.c_str());
      return false;
    }
    appended += static_cast<int64_t>(events.size());
    events.clear();
    return true;
  };
  auto event = [](uint64_t n, stage_index stage, lineage_outcome o, int64_t t,
                  std::string detail = {}) {
    lineage_event ev;
    ev.key = lineage_key{0, static_cast<uint32_t>(n % 2), n / 2 + 2}; // line 1: header
    ev.record_id = std::to_string(100000 + n);
    ev.stage = stage;
    ev.replica = static_cast<uint32_t>(n % 3);
    ev.time_us = t;
    ev.outcome = o;
    ev.detail = std::move(detail);
    return ev;
  };
  // Stage by stage in chunks of `batch` records, as data batches move.
  for (uint64_t first = 0; first < records; first += batch) {
    uint64_t last = std::min<uint64_t>(records, first + batch);
    for (stage_index stage = 0; stage < 4; ++stage) {
      for (uint64_t n = first; n < last; ++n) {
        int64_t t = t0 + static_cast<int64_t>(n) * 10 + stage * 3;
        bool dead = n % 100 == 42;
        if (stage == 0)
          events.push_back(event(n, 0, lineage_outcome::read, t));
        else if (stage == 1)
          events.push_back(dead ? event(n, 1, lineage_outcome::dead_lettered, t,
                                        "schema_violation: amount: expected a number")
                                : event(n, 1, lineage_outcome::passed, t));
        else if (!dead)
          events.push_back(stage == 2 ? event(n, 2, lineage_outcome::changed, t, "set amount_cents")
                                      : event(n, 3, lineage_outcome::written, t));
      }
      if (!flush())
        return -1;
    }
  }
  return appended;
}

/// Wall and CPU (user + system) time since construction: on a shared,
/// loaded machine the CPU time is the steadier figure.
struct stopwatch {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  std::clock_t cpu = std::clock();
  double wall_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  }
  double cpu_s() const { return static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC; }
};

} // namespace sluice::bench
