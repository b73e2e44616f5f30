#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "messages.hpp"

namespace sluice::test {

/// Ends the process instead of hanging when a test's actors never stop.
struct watchdog {
  explicit watchdog(std::chrono::seconds limit) {
    thread_ = std::thread([this, limit] {
      auto deadline = std::chrono::steady_clock::now() + limit;
      while (!done_) {
        if (std::chrono::steady_clock::now() > deadline) {
          std::fprintf(stderr, "watchdog: the actor system did not shut down\n");
          std::_Exit(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }
  ~watchdog() {
    done_ = true;
    thread_.join();
  }
  std::atomic<bool> done_{false};
  std::thread thread_;
};

/// An actor system with sluice's message types and 2 scheduler threads;
/// handles are declared after it so they die first.
struct actor_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  std::vector<caf::actor> spawned;

  static caf::actor_system_config& prepare(caf::actor_system_config& c) {
    register_message_types(c);
    c.set("scheduler.max-threads", 2);
    return c;
  }

  actor_fixture() : sys(prepare(cfg)), self(sys) {
  }

  ~actor_fixture() {
    watchdog guard{std::chrono::seconds(10)};
    for (auto& a : spawned)
      self->send_exit(a, caf::exit_reason::kill);
    spawned.clear();
    self->await_all_other_actors_done();
  }

  /// Waits (polling, with a deadline) until `cond` holds; false on timeout.
  bool eventually(const std::function<bool()>& cond,
                  std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (cond())
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return cond();
  }
};

} // namespace sluice::test
