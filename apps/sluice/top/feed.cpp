#include "top/feed.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "messages.hpp"

namespace sluice::top {

int64_t wall_clock_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

result<caf::actor> connect_collector(caf::actor_system& sys, const std::string& host,
                                     uint16_t port) {
  auto where = host + ":" + std::to_string(port);
  auto a = sys.middleman().remote_actor(host, port);
  if (!a)
    return error{errc::io_error,
                 "cannot attach to " + where + ": " + sys.render(a.error())
                   + "\nno `sluice run` seems to be listening there. A run announces its console"
                     " address on stderr (\"sluice: console on HOST:PORT\"); pass that address,"
                     " e.g. `sluice top 127.0.0.1:7464`."};
  return *a;
}

result<std::string> fetch_snapshot(caf::actor_system& sys, const caf::actor& collector,
                                   std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  std::optional<result<std::string>> out;
  self->request(collector, timeout, snapshot_atom::value)
    .receive([&](std::string& text) { out.emplace(std::move(text)); },
             [&](caf::error& err) {
               out.emplace(error{errc::io_error, "the pipeline process did not answer: "
                                                   + sys.render(err)});
             });
  return std::move(*out);
}

result<metrics_snapshot> parse_snapshot(const std::string& text) {
  try {
    return snapshot_from_json(nlohmann::json::parse(text));
  } catch (const std::exception& e) {
    return error{errc::parse_error, std::string{"the snapshot did not parse: "} + e.what()};
  }
}

struct snapshot_feed::impl {
  caf::actor_system& sys;
  caf::actor initial;
  settings cfg;
  std::mutex mtx;
  std::vector<news> queue;
  std::atomic<bool> stopping{false};
  std::atomic<bool> poll_soon{false};
  std::thread worker;

  impl(caf::actor_system& s, caf::actor c, settings st)
    : sys(s), initial(std::move(c)), cfg(std::move(st)) {}

  void push(news n) {
    n.at_us = wall_clock_us();
    std::lock_guard<std::mutex> guard{mtx};
    queue.push_back(std::move(n));
  }

  void run() {
    using clock = std::chrono::steady_clock;
    using std::chrono::milliseconds;
    caf::scoped_actor self{sys};
    caf::actor target = std::move(initial);
    if (target)
      self->monitor(target);
    auto interval = cfg.interval.count() > 0 ? cfg.interval : milliseconds{1000};
    auto next_poll = clock::now();
    auto next_retry = clock::time_point::max();
    std::string retry_note;
    if (cfg.retry.count() > 0)
      retry_note = "retrying every " + std::to_string((cfg.retry.count() + 999) / 1000) + " s";
    auto lost = [&] {
      if (!target)
        return;
      self->demonitor(target);
      target = nullptr;
      push({std::nullopt, link_state::gone, retry_note});
      if (cfg.retry.count() > 0)
        next_retry = clock::now() + cfg.retry;
    };
    while (!stopping) {
      auto now = clock::now();
      if (poll_soon.exchange(false))
        next_poll = now;
      if (target && now >= next_poll) {
        next_poll = now + interval;
        self->request(target, cfg.timeout, snapshot_atom::value)
          .receive(
            [&](std::string& text) {
              auto snap = parse_snapshot(text);
              if (!snap) {
                push({std::nullopt, link_state::not_answering, snap.err().message});
                return;
              }
              if (cfg.interval.count() == 0 && snap->interval_ms > 0)
                interval = milliseconds{std::max<uint32_t>(100, snap->interval_ms)};
              push({std::move(*snap), link_state::live, {}});
            },
            [&](caf::error& err) {
              if (err == caf::sec::request_timeout)
                push({std::nullopt, link_state::not_answering, {}});
              else
                lost();
            });
      }
      if (!target && now >= next_retry) {
        next_retry = now + cfg.retry;
        auto a = sys.middleman().remote_actor(cfg.host, cfg.port);
        if (a) {
          target = std::move(*a);
          self->monitor(target);
          next_poll = clock::now();
        }
      }
      self->receive(
        [&](caf::down_msg& down) {
          if (target && down.source == target.address())
            lost();
        },
        caf::others >> [](caf::message_view&) -> caf::result<caf::message> {
          return caf::message{}; // a late reply to a request that timed out
        },
        caf::after(milliseconds{50}) >> [] {});
    }
  }
};

snapshot_feed::snapshot_feed(caf::actor_system& sys, caf::actor collector, settings s)
  : impl_(std::make_unique<impl>(sys, std::move(collector), std::move(s))) {
  impl_->worker = std::thread{[this] { impl_->run(); }};
}

snapshot_feed::~snapshot_feed() { stop(); }

void snapshot_feed::stop() {
  impl_->stopping = true;
  if (impl_->worker.joinable())
    impl_->worker.join();
}

void snapshot_feed::poll_now() { impl_->poll_soon = true; }

std::vector<snapshot_feed::news> snapshot_feed::take() {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return std::exchange(impl_->queue, {});
}

} // namespace sluice::top
