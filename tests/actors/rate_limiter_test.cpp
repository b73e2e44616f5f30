// The limiter actor (actors/rate_limiter.*): permits granted first come,
// first served across requesters, held until released or until the holder
// dies, cancelled waiters, its metrics, its token timer on virtual time and
// a measured rate with greedy requesters on real threads.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/stateful_actor.hpp>
#include <catch2/catch.hpp>

#include "rate_limiter.hpp"
#include "support/actor_fixture.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

using namespace std::chrono_literals;

using quit_atom = caf::atom_constant<caf::atom("rltquit")>;

rate_limit_settings limit(double rate, double burst, uint32_t slots) {
  rate_limit_settings s;
  s.name = "svc";
  s.rate = rate;
  s.burst = burst;
  s.max_concurrency = slots;
  return s;
}

// A requester the test steers: forwards permit messages to the limiter as
// itself and reports its grants to `observer` as (name, grant); quits on
// quit_atom without releasing anything.
caf::behavior client(caf::event_based_actor* self, caf::actor limiter, caf::actor observer,
                     std::string name) {
  return {
    [=](const permit_request& r) { self->send(limiter, r); },
    [=](const permit_release& r) { self->send(limiter, r); },
    [=](const permit_cancel& r) { self->send(limiter, r); },
    [=](const permit_grant& g) { self->send(observer, name, g); },
    [=](quit_atom) { self->quit(); },
  };
}

// Acquires, releases at once and asks again, for as long as it lives.
struct greedy_state {
  uint64_t next = 1;
};

caf::behavior greedy(caf::stateful_actor<greedy_state>* self, caf::actor limiter) {
  self->send(limiter, permit_request{self->state.next++, 1});
  return {
    [=](const permit_grant& g) {
      self->send(limiter, permit_release{g.ticket});
      self->send(limiter, permit_request{self->state.next++, 1});
    },
  };
}

rate_limit_metrics metrics_of(actor_fixture& f, const caf::actor& limiter) {
  rate_limit_metrics out;
  bool got = false;
  f.self->request(limiter, 5s, metrics_atom::value)
    .receive(
      [&](rate_limit_metrics& m) {
        out = std::move(m);
        got = true;
      },
      [](caf::error&) {});
  REQUIRE(got);
  return out;
}

// The next grant the scoped actor receives from a client, as "name:ticket".
std::string next_client_grant(actor_fixture& f) {
  std::string out = "none";
  f.self->receive([&](std::string& who, permit_grant& g) { out = who + ":" + std::to_string(g.ticket); },
                  caf::after(5s) >> [] {});
  return out;
}

// The next grant the scoped actor receives for itself: its ticket, or 0.
uint64_t next_own_grant(actor_fixture& f) {
  uint64_t out = 0;
  f.self->receive([&](permit_grant& g) { out = g.ticket; }, caf::after(5s) >> [] {});
  return out;
}

bool waiting_is(actor_fixture& f, const caf::actor& limiter, uint32_t n) {
  return f.eventually([&] { return metrics_of(f, limiter).waiting == n; });
}

// The fixture of caf-examples/11_virtual_time.cpp: nothing runs until the
// test says so, and timers wait for advance_time.
struct virtual_time_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  static caf::actor_system_config& prepare(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    c.set("logger.inline-output", true);
    c.set("middleman.network-backend", caf::atom("testing"));
    return c;
  }
  virtual_time_fixture()
    : sys(prepare(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
  }
};

} // namespace

TEST_CASE("the limiter grants waiters of different requesters in arrival order",
          "[limits][actors]") {
  actor_fixture f;
  auto limiter = spawn_rate_limiter(f.sys, limit(1e6, 1e6, 1));
  f.spawned.push_back(limiter);
  auto a = f.sys.spawn(client, limiter, caf::actor{f.self}, "a");
  auto b = f.sys.spawn(client, limiter, caf::actor{f.self}, "b");
  f.spawned.push_back(a);
  f.spawned.push_back(b);
  f.self->send(limiter, permit_request{1, 1});
  REQUIRE(next_own_grant(f) == 1);
  f.self->send(a, permit_request{10, 1});
  REQUIRE(waiting_is(f, limiter, 1));
  f.self->send(b, permit_request{20, 1});
  REQUIRE(waiting_is(f, limiter, 2));
  f.self->send(limiter, permit_request{2, 1});
  REQUIRE(waiting_is(f, limiter, 3));
  f.self->send(limiter, permit_release{1});
  CHECK(next_client_grant(f) == "a:10");
  f.self->send(a, permit_release{10});
  CHECK(next_client_grant(f) == "b:20");
  f.self->send(b, permit_release{20});
  CHECK(next_own_grant(f) == 2);
  f.self->send(limiter, permit_release{2});
  auto m = metrics_of(f, limiter);
  CHECK(m.granted == 4);
  CHECK(m.in_use == 0);
  CHECK(m.waiting == 0);
}

TEST_CASE("with max_concurrency 1 a second request waits until the first is released",
          "[limits][actors]") {
  actor_fixture f;
  auto limiter = spawn_rate_limiter(f.sys, limit(1e6, 1e6, 1));
  f.spawned.push_back(limiter);
  f.self->send(limiter, permit_request{1, 1});
  REQUIRE(next_own_grant(f) == 1);
  f.self->send(limiter, permit_request{2, 1});
  REQUIRE(waiting_is(f, limiter, 1));
  auto m = metrics_of(f, limiter);
  CHECK(m.in_use == 1);
  CHECK(m.granted == 1);
  // An unknown and a duplicate ticket change nothing.
  f.self->send(limiter, permit_release{99});
  f.self->send(limiter, permit_request{2, 1});
  CHECK(metrics_of(f, limiter).waiting == 1);
  f.self->send(limiter, permit_release{1});
  CHECK(next_own_grant(f) == 2);
  f.self->send(limiter, permit_release{2});
  f.self->send(limiter, permit_release{2});
  m = metrics_of(f, limiter);
  CHECK(m.in_use == 0);
  CHECK(m.granted == 2);
}

TEST_CASE("a holder that dies without releasing gives its permit back to the next waiter",
          "[limits][actors]") {
  actor_fixture f;
  auto limiter = spawn_rate_limiter(f.sys, limit(1e6, 1e6, 1));
  f.spawned.push_back(limiter);
  auto holder = f.sys.spawn(client, limiter, caf::actor{f.self}, "holder");
  auto waiter = f.sys.spawn(client, limiter, caf::actor{f.self}, "waiter");
  f.spawned.push_back(waiter);
  f.self->send(holder, permit_request{1, 1});
  REQUIRE(next_client_grant(f) == "holder:1");
  // A waiter that dies is dropped from the queue.
  f.self->send(waiter, permit_request{1, 1});
  REQUIRE(waiting_is(f, limiter, 1));
  f.self->send(waiter, quit_atom::value);
  REQUIRE(waiting_is(f, limiter, 0));
  // The scoped actor waits; the holder crashes.
  f.self->send(limiter, permit_request{5, 1});
  REQUIRE(waiting_is(f, limiter, 1));
  f.self->send(holder, quit_atom::value);
  CHECK(next_own_grant(f) == 5);
  auto m = metrics_of(f, limiter);
  CHECK(m.released_by_monitor == 1);
  CHECK(m.in_use == 1);
  CHECK(m.waiting == 0);
  CHECK(m.granted == 2);
}

TEST_CASE("a cancelled waiter is never granted and a cancelled permit is released",
          "[limits][actors]") {
  actor_fixture f;
  auto limiter = spawn_rate_limiter(f.sys, limit(1e6, 1e6, 1));
  f.spawned.push_back(limiter);
  f.self->send(limiter, permit_request{1, 1});
  REQUIRE(next_own_grant(f) == 1);
  f.self->send(limiter, permit_request{2, 1});
  f.self->send(limiter, permit_cancel{2});
  f.self->send(limiter, permit_request{3, 1});
  REQUIRE(waiting_is(f, limiter, 1));
  f.self->send(limiter, permit_release{1});
  CHECK(next_own_grant(f) == 3); // not 2
  f.self->send(limiter, permit_cancel{3});
  auto m = metrics_of(f, limiter);
  CHECK(m.granted == 2);
  CHECK(m.in_use == 0);
  CHECK(m.waiting == 0);
}

TEST_CASE("the limiter answers metrics_atom with its settings and its state", "[limits][actors]") {
  actor_fixture f;
  auto s = limit(50, 10, 4);
  s.per_us = 2'000'000;
  s.name = "llm";
  auto limiter = spawn_rate_limiter(f.sys, s);
  f.spawned.push_back(limiter);
  auto m = metrics_of(f, limiter);
  CHECK(m.resource == "llm");
  CHECK(m.rate == 50);
  CHECK(m.per_us == 2'000'000);
  CHECK(m.burst == 10);
  CHECK(m.max_concurrency == 4);
  CHECK(m.tokens == 10);
  f.self->send(limiter, permit_request{1, 2.5});
  f.self->receive([](permit_grant& g) {
    CHECK(g.resource == "llm");
    CHECK(g.ticket == 1);
  }, caf::after(5s) >> [] { FAIL("no grant"); });
  m = metrics_of(f, limiter);
  CHECK(m.granted == 1);
  CHECK(m.in_use == 1);
  CHECK(m.tokens == Approx(7.5).margin(0.1));
  CHECK(m.released_by_monitor == 0);
}

TEST_CASE("the permit messages survive serialization", "[limits][actors]") {
  caf::actor_system_config cfg;
  register_rate_limit_messages(cfg);
  caf::actor_system sys{cfg};
  rate_limit_metrics m;
  m.resource = "llm";
  m.tokens = -2.5;
  m.granted = 7;
  m.max_wait_us = 9;
  auto msg = caf::make_message(permit_request{3, 0.5}, permit_grant{"llm", 4, 5},
                               permit_release{6}, permit_cancel{7}, m);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(msg.save(sink));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(back.load(source));
  REQUIRE(back.match_elements<permit_request, permit_grant, permit_release, permit_cancel,
                             rate_limit_metrics>());
  CHECK(back.get_as<permit_request>(0).cost == 0.5);
  CHECK(back.get_as<permit_grant>(1).resource == "llm");
  CHECK(back.get_as<permit_grant>(1).waited_us == 5);
  CHECK(back.get_as<permit_cancel>(3).ticket == 7);
  CHECK(back.get_as<rate_limit_metrics>(4).tokens == -2.5);
  CHECK(back.get_as<rate_limit_metrics>(4).max_wait_us == 9);
}

TEST_CASE("on virtual time the limiter arms one timer for the head's tokens", "[limits][actors]") {
  virtual_time_fixture f;
  std::vector<uint64_t> granted;
  auto limiter = spawn_rate_limiter(f.sys, limit(10, 1, 0)); // a token per 100 ms
  auto requester = f.sys.spawn([&](caf::event_based_actor* self) -> caf::behavior {
    for (uint64_t t = 1; t <= 5; ++t)
      self->send(limiter, permit_request{t, 1});
    return {[&](const permit_grant& g) { granted.push_back(g.ticket); }};
  });
  f.sched.run();
  CHECK(granted == std::vector<uint64_t>{1});
  REQUIRE(f.sched.has_pending_timeout());
  // Five requests, one timer.
  CHECK(f.sched.advance_time(std::chrono::milliseconds(99)) == 0);
  CHECK(f.sched.advance_time(std::chrono::milliseconds(1)) == 1);
  f.sched.run();
  CHECK(granted == std::vector<uint64_t>{1, 2});
  CHECK(f.sched.advance_time(std::chrono::milliseconds(100)) == 1);
  f.sched.run();
  CHECK(granted == std::vector<uint64_t>{1, 2, 3});
  f.sched.advance_time(std::chrono::milliseconds(200));
  f.sched.run();
  f.sched.advance_time(std::chrono::milliseconds(200));
  f.sched.run();
  CHECK(granted == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK_FALSE(f.sched.has_pending_timeout()); // nobody waits: no timer
  caf::anon_send_exit(requester, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(limiter, caf::exit_reason::user_shutdown);
  f.sched.run();
}

TEST_CASE("three greedy requesters get rate times time plus the burst", "[limits][actors]") {
  actor_fixture f;
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto limiter = spawn_rate_limiter(f.sys, limit(100, 5, 0));
  f.spawned.push_back(limiter);
  for (int i = 0; i < 3; ++i)
    f.spawned.push_back(f.sys.spawn(greedy, limiter));
  // The measurement window itself, not a wait for an actor.
  f.self->receive(caf::after(2s) >> [] {});
  auto before = std::chrono::duration<double>(clock::now() - start).count();
  auto m = metrics_of(f, limiter);
  auto after = std::chrono::duration<double>(clock::now() - start).count();
  INFO("granted " << m.granted << " in " << before << ".." << after << " s");
  CHECK(m.granted >= 0.95 * (5 + 100 * before));
  CHECK(m.granted <= 1.05 * (5 + 100 * after));
  CHECK(m.granted >= 195);
  CHECK(m.in_use <= 3);
}
