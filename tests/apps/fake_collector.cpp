// A stand-in for a run's metrics collector, for trying `sluice top` by hand
// without a pipeline: publishes an actor on 127.0.0.1:PORT that answers
// snapshot_atom with a made-up, moving snapshot of the stream example.
// usage: top_fake_collector PORT [SECONDS]   (0: pick a port; it prints it)

#include <chrono>
#include <cmath>
#include <iostream>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "messages.hpp"
#include "metrics/snapshot.hpp"

using namespace sluice;

namespace {

std::string picture(uint64_t seq) {
  metrics_snapshot s;
  s.pipeline = "stream";
  s.status = "running";
  s.sequence = seq;
  s.interval_ms = 500;
  s.node.uptime_s = static_cast<double>(seq) / 2;
  s.node.cpu_percent = 40;
  s.node.rss_bytes = 48u << 20;
  s.node.pid = 4242;
  s.node.threads = 2;
  const char* ids[] = {"orders", "big", "per_category", "show"};
  const char* roles[] = {"source", "transform", "transform", "sink"};
  double rates[] = {2000, 1000, 1, 0.5};
  for (int i = 0; i < 4; ++i) {
    stage_view v;
    v.id = ids[i];
    v.role = roles[i];
    v.state = i == 1 && seq % 10 < 3 ? "backpressured" : "running";
    double wobble = 1 + 0.3 * std::sin(static_cast<double>(seq + static_cast<uint64_t>(i)) / 3);
    v.out_per_s = rates[i] * wobble;
    v.in_per_s = i == 0 ? 0 : rates[i - 1];
    v.totals.records_out = static_cast<uint64_t>(rates[i] * static_cast<double>(seq) / 2);
    v.totals.records_in = i == 0 ? 0 : static_cast<uint64_t>(rates[i - 1] * static_cast<double>(seq) / 2);
    v.totals.errors = i == 2 ? seq / 4 : 0;
    v.window = 4;
    v.in_flight = static_cast<uint32_t>((seq + static_cast<uint64_t>(i)) % 5);
    v.utilization = 0.2 * (i + 1);
    v.latency = {0.5, 1.0 + i, 2.0 + i, 10};
    for (uint64_t h = seq > 30 ? seq - 30 : 0; h < seq; ++h)
      v.history.push_back(rates[i] * (1 + 0.3 * std::sin(static_cast<double>(h + static_cast<uint64_t>(i)) / 3)));
    replica_view r;
    r.state = v.state;
    r.out_per_s = v.out_per_s;
    v.replicas.push_back(r);
    s.stages.push_back(v);
  }
  for (int i = 0; i < 3; ++i) {
    edge_view e;
    e.from = ids[i];
    e.to = ids[i + 1];
    e.per_s = rates[i];
    e.records = static_cast<uint64_t>(rates[i] * static_cast<double>(seq) / 2);
    e.window = 4;
    s.edges.push_back(e);
  }
  s.events.push_back({1'700'000'000'000'000, "pipeline_started", "", "4 stages"});
  return to_json(s).dump();
}

caf::behavior fake(caf::stateful_actor<uint64_t>* self) {
  return {[=](snapshot_atom) { return picture(++self->state); }};
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: top_fake_collector PORT [SECONDS]\n";
    return 2;
  }
  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto a = sys.spawn(fake);
  auto port = sys.middleman().publish(a, static_cast<uint16_t>(std::stoi(argv[1])), "127.0.0.1", true);
  if (!port) {
    std::cerr << "publish failed: " << sys.render(port.error()) << '\n';
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::cerr << "sluice: console on 127.0.0.1:" << *port << " (attach: sluice top 127.0.0.1:"
            << *port << ")" << std::endl;
  std::this_thread::sleep_for(std::chrono::seconds(argc > 2 ? std::stoi(argv[2]) : 3600));
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return 0;
}
