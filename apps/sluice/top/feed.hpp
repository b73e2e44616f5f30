#pragma once

// The console's link to a running `sluice run`: connect to its metrics
// collector (published with CAF's middleman on the console port), ask it
// for snapshots (snapshot_atom -> JSON text), and notice when the process
// goes away. snapshot_feed does the polling on a thread of its own so the
// UI never waits on the network.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "core/result.hpp"
#include "metrics/snapshot.hpp"
#include "top/console.hpp"

namespace sluice::top {

/// Connects to the collector published at host:port. The error says what
/// was tried and how to find the right port.
result<caf::actor> connect_collector(caf::actor_system& sys, const std::string& host,
                                     uint16_t port);

/// One request for the snapshot, as JSON text; waits at most `timeout`.
result<std::string> fetch_snapshot(caf::actor_system& sys, const caf::actor& collector,
                                   std::chrono::milliseconds timeout);

/// Parses the collector's reply; the error names what did not parse.
result<metrics_snapshot> parse_snapshot(const std::string& text);

/// Polls a collector every interval on its own thread and queues what it
/// learns for the UI thread (take()). After the process goes away it tries
/// to reconnect every `retry` and says so. Construct after the actor
/// system and destroy before it (the destructor stops and joins the thread).
class snapshot_feed {
public:
  struct settings {
    std::string host;
    uint16_t port = 0;
    std::chrono::milliseconds interval{0}; ///< 0: the snapshot's interval_ms
    std::chrono::milliseconds timeout{2000};
    std::chrono::milliseconds retry{3000};  ///< 0: do not reconnect
  };

  /// Something the feed learnt, in order.
  struct news {
    std::optional<metrics_snapshot> snapshot;
    link_state link = link_state::live;
    std::string note; ///< for the status line
    int64_t at_us = 0; ///< wall clock, since the epoch
  };

  snapshot_feed(caf::actor_system& sys, caf::actor collector, settings s);
  ~snapshot_feed();
  snapshot_feed(const snapshot_feed&) = delete;
  snapshot_feed& operator=(const snapshot_feed&) = delete;

  /// Everything learnt since the last call, oldest first.
  std::vector<news> take();
  /// Asks for a snapshot now instead of at the next interval.
  void poll_now();
  /// Stops polling and joins the thread (idempotent).
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Microseconds since the epoch, now.
int64_t wall_clock_us();

} // namespace sluice::top
