// The link of `sluice top` to a run (apps/sluice/top/feed.*), against a fake
// metrics collector published with the middleman in this process: it answers
// snapshot_atom with canned JSON, as the real collector does.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "messages.hpp"
#include "top/feed.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

caf::behavior fake_collector(caf::event_based_actor* self, std::string json) {
  (void)self;
  return {[=](snapshot_atom) { return json; }};
}

std::string canned(uint64_t sequence) {
  metrics_snapshot s;
  s.pipeline = "fake";
  s.status = "running";
  s.sequence = sequence;
  s.interval_ms = 100;
  stage_view v;
  v.id = "orders";
  v.role = "source";
  v.out_per_s = 2000;
  s.stages.push_back(v);
  return to_json(s).dump();
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::actor fake;
  uint16_t port = 0;

  static caf::actor_system_config& prepare(caf::actor_system_config& c) {
    register_message_types(c);
    c.load<caf::io::middleman>();
    c.set("scheduler.max-threads", size_t{2});
    return c;
  }

  fixture() : sys(prepare(cfg)) {
    fake = sys.spawn(fake_collector, canned(1));
    auto p = sys.middleman().publish(fake, 0, "127.0.0.1", true);
    REQUIRE(p);
    port = *p;
  }

  ~fixture() {
    caf::anon_send_exit(fake, caf::exit_reason::user_shutdown); // published: else a hang
  }

  /// Takes news from the feed until `pred` holds for one, or 5 s pass.
  template <class Pred>
  bool wait_for(top::snapshot_feed& feed, Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto& n : feed.take())
        if (pred(n))
          return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "top attaches to a collector and reads one snapshot", "[top]") {
  auto collector = top::connect_collector(sys, "127.0.0.1", port);
  REQUIRE(collector);
  auto text = top::fetch_snapshot(sys, *collector, 2s);
  REQUIRE(text);
  auto snap = top::parse_snapshot(*text);
  REQUIRE(snap);
  CHECK(snap->pipeline == "fake");
  REQUIRE(snap->stages.size() == 1);
  CHECK(snap->stages[0].out_per_s == 2000);
}

TEST_CASE_METHOD(fixture, "top says where it looked when nothing listens", "[top]") {
  auto collector = top::connect_collector(sys, "127.0.0.1", 1);
  REQUIRE_FALSE(collector);
  CHECK(collector.err().message.find("127.0.0.1:1") != std::string::npos);
  CHECK(collector.err().message.find("no `sluice run` seems to be listening") != std::string::npos);
  CHECK(collector.err().message.find("console on") != std::string::npos);
}

TEST_CASE_METHOD(fixture, "a snapshot that does not parse is an error, not a crash", "[top]") {
  CHECK_FALSE(top::parse_snapshot("{not json"));
  CHECK_FALSE(top::parse_snapshot(R"({"stages": 3})"));
  CHECK(top::parse_snapshot("{}"));
}

TEST_CASE_METHOD(fixture, "the feed polls and reports the collector gone", "[top]") {
  auto collector = top::connect_collector(sys, "127.0.0.1", port);
  REQUIRE(collector);
  top::snapshot_feed::settings st;
  st.host = "127.0.0.1";
  st.port = port;
  st.retry = 0ms;
  top::snapshot_feed feed{sys, *collector, st};
  CHECK(wait_for(feed, [](auto& n) { return n.snapshot && n.snapshot->pipeline == "fake"; }));
  caf::anon_send_exit(fake, caf::exit_reason::kill);
  CHECK(wait_for(feed, [](auto& n) { return !n.snapshot && n.link == top::link_state::gone; }));
  feed.stop();
}
