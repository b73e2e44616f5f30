#pragma once

// A realistic metrics snapshot with known numbers, shared by the metrics
// tests and the HTTP endpoint tests: a source, a map with two replicas and a
// file sink with an end-to-end histogram, the edges between them.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "metrics/snapshot.hpp"

namespace sluice::test {

inline latency_histogram histogram_of(std::initializer_list<std::pair<uint64_t, uint64_t>> obs) {
  latency_histogram h;
  for (auto [us, n] : obs)
    h.observe(us, n);
  return h;
}

inline metrics_snapshot sample_snapshot() {
  metrics_snapshot s;
  s.pipeline = "orders";
  s.status = "running";
  s.started_us = 1'700'000'000'000'000;
  s.taken_us = 1'700'000'012'500'000;
  s.sequence = 12;
  s.records_read = 1000;
  s.records_accounted = 900;
  s.in_flight = 100;
  s.node.pid = 4242;
  s.node.host = "box";
  s.node.uptime_s = 13.25;
  s.node.cpu_seconds = 3.5;
  s.node.cpu_percent = 120;
  s.node.rss_bytes = 52'428'800;
  s.node.actors = 17;
  s.node.threads = 4;

  stage_view src;
  src.id = "read";
  src.type = "source.file";
  src.role = "source";
  src.state = "running";
  src.totals.records_out = 1000;
  src.totals.batches_out = 10;
  src.totals.busy_us = 250'000;
  src.in_flight = 2;
  src.window = 8;
  src.utilization = 0.25;
  src.bytes_read = 4096;
  src.bytes_total = 8192;
  s.stages.push_back(src); // no replica views: one series, replica="0"

  stage_view map;
  map.id = "shape";
  map.type = "map";
  map.role = "transform";
  map.parallelism = 2;
  map.state = "backpressured";
  for (uint32_t i = 0; i < 2; ++i) {
    replica_view r;
    r.replica = i;
    r.state = i == 0 ? "running" : "backpressured";
    r.totals.records_in = 500;
    r.totals.records_out = 450 + i;
    r.totals.batches_in = 5;
    r.totals.batches_out = 5;
    r.totals.filtered = 50 - i;
    r.totals.errors = 3 * i;
    r.totals.retries = 2 * i;
    r.totals.busy_us = 1'500'000 + i;
    r.utilization = 0.5;
    r.mailbox = 3 + i;
    r.in_flight = 1;
    r.window = 4;
    r.latency_hist = histogram_of({{40, 2}, {400, 2}, {40'000'000, 1}});
    map.totals.add(r.totals);
    map.mailbox += r.mailbox;
    map.in_flight += r.in_flight;
    map.window += r.window;
    map.utilization = 0.5;
    map.latency_hist.merge(r.latency_hist);
    map.replicas.push_back(r);
  }
  s.stages.push_back(map);

  stage_view sink;
  sink.id = "write";
  sink.type = "sink.file";
  sink.role = "sink";
  sink.state = "running";
  replica_view sr;
  sr.state = "running";
  sr.totals.records_in = 900;
  sr.totals.batches_in = 10;
  sr.totals.written = 900;
  sr.latency_hist = histogram_of({{100, 10}});
  sr.end_to_end_hist = histogram_of({{3'000, 400}, {20'000, 500}});
  sink.totals = sr.totals;
  sink.latency_hist = sr.latency_hist;
  sink.end_to_end_hist = sr.end_to_end_hist;
  sink.replicas.push_back(sr);
  s.stages.push_back(sink);

  auto edge = [](std::string from, uint32_t fr, std::string to, uint32_t tr, uint64_t records) {
    edge_view e;
    e.from = std::move(from);
    e.from_replica = fr;
    e.to = std::move(to);
    e.to_replica = tr;
    e.records = records;
    e.in_flight = 1;
    e.window = 4;
    return e;
  };
  s.edges.push_back(edge("read", 0, "shape", 0, 500));
  s.edges.push_back(edge("read", 0, "shape", 1, 500));
  s.edges.push_back(edge("shape", 0, "write", 0, 450));
  s.edges.push_back(edge("shape", 1, "write", 0, 451));

  run_event ev;
  ev.time_us = s.started_us;
  ev.kind = "pipeline_started";
  ev.message = "3 stages";
  s.events.push_back(ev);
  return s;
}

} // namespace sluice::test
