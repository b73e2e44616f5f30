// sluice run: loads and validates the config, starts an actor system, runs
// the coordinator, handles Ctrl-C, prints the summary.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "cli.hpp"
#include "coordinator.hpp"
#include "http_endpoint.hpp"
#include "messages.hpp"
#include "metrics/listen_address.hpp"
#include "metrics_collector.hpp"
#include "summary.hpp"

namespace sluice::cli {

namespace {

/// What the run holds that is not accounted for yet, asked of the
/// coordinator with a short timeout (a forced stop must not hang).
std::string in_flight_text(caf::actor_system& sys, const caf::actor& coord) {
  std::string text;
  caf::scoped_actor self{sys};
  self->request(coord, std::chrono::seconds(1), inflight_atom::value)
    .receive([&](std::string& s) { text = std::move(s); }, [](caf::error&) {});
  if (text.empty())
    return "the run did not answer; what was in flight is unknown";
  auto summary = json::parse(text, nullptr, false);
  if (summary.is_discarded())
    return "what was in flight is unknown";
  auto& t = summary["totals"];
  uint64_t read = t.value("read", uint64_t{0});
  uint64_t done = 0;
  for (auto key : {"written", "filtered", "dropped", "dead_lettered", "folded", "failed"})
    done += t.value(key, uint64_t{0});
  std::string out = std::to_string(read) + " records read, " + std::to_string(done)
                    + " accounted for, " + std::to_string(read > done ? read - done : 0)
                    + " in flight";
  std::string where;
  for (auto& row : summary["stages"]) {
    uint64_t in = row.value("in", uint64_t{0});
    uint64_t left = in;
    for (auto key : {"passed", "filtered", "folded", "written", "dropped", "dead_lettered",
                     "failed"})
      left -= std::min(left, row.value(key, uint64_t{0}));
    if (left > 0)
      where += (where.empty() ? "" : ", ") + row.value("id", std::string{}) + " "
               + std::to_string(left);
  }
  if (!where.empty())
    out += " (inside stages: " + where + "; the rest between stages)";
  return out;
}

/// Waits for SIGINT/SIGTERM on its own thread (they are blocked everywhere
/// else): the first asks the coordinator to stop gracefully, a second one
/// forces the process out with exit code 130.
class signal_watch {
public:
  signal_watch(caf::actor_system& sys, caf::actor coord) {
    thread_ = std::thread([this, &sys, coord] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      int count = 0;
      while (!done_) {
        timespec timeout{0, 100'000'000};
        int sig = sigtimedwait(&set, nullptr, &timeout);
        if (sig < 0 || done_)
          continue;
        if (++count == 1) {
          std::fprintf(stderr, "\nsluice: %s: stopping; records in flight drain to the sinks "
                               "(press Ctrl-C again to force)\n",
                       sig == SIGINT ? "interrupt" : "terminate");
          caf::anon_send(coord, halt_atom::value);
        } else {
          std::fprintf(stderr, "\nsluice: forced stop: %s\n"
                               "sluice: those records were not written; bounded outputs keep "
                               "their previous content\n",
                       in_flight_text(sys, coord).c_str());
          std::fflush(stderr);
          _exit(130);
        }
      }
    });
  }

  ~signal_watch() {
    // Wake the watcher now rather than at its next timeout: waiting out the
    // timeout added up to 100 ms to every run. The signal is blocked in every
    // thread, so it stays pending for the watcher, whose sigtimedwait takes
    // it and sees done_.
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

/// Where the console listens, from --console-addr over the config's
/// metrics.console: nullopt when it is off; `fallback` is set when the
/// address is the default one (a taken default port falls back to a free one).
struct console_choice {
  bool on = true;
  listen_address at;
  bool fallback = false;
};

result<console_choice> choose_console(const pipeline_plan& plan, const run_args& args) {
  console_choice c;
  std::string text = args.console_addr;
  if (text == "off") {
    c.on = false;
    return c;
  }
  if (text.empty()) {
    if (!plan.config.metrics.console) {
      c.on = false;
      return c;
    }
    text = plan.config.metrics.console_addr;
  }
  if (text.empty()) {
    c.at.port = default_console_port;
    c.fallback = true;
    return c;
  }
  auto parsed = parse_listen_address(text);
  if (!parsed)
    return error{errc::invalid_config, "--console-addr: " + parsed.err().message};
  c.at = *parsed;
  return c;
}

/// Publishes the collector on the console address; returns the bound
/// address, or an error saying what to do.
result<listen_address> open_console(caf::actor_system& sys, const caf::actor& collector,
                                    const console_choice& c) {
  auto& mm = sys.middleman();
  auto port = mm.publish(collector, c.at.port, c.at.host.c_str(), false);
  if (!port && c.fallback)
    port = mm.publish(collector, 0, c.at.host.c_str(), false);
  if (!port)
    return error{errc::io_error, "cannot open the console at " + c.at.text() + ": "
                                   + sys.render(port.error())
                                   + " (choose another with --console-addr HOST:PORT, "
                                     "or --console-addr off)"};
  listen_address bound = c.at;
  bound.port = *port;
  return bound;
}

/// The HTTP endpoint's address from --metrics-addr over metrics.http;
/// nullopt: off.
result<std::optional<listen_address>> choose_http(const pipeline_plan& plan,
                                                  const run_args& args) {
  std::string text = args.metrics_addr.empty() ? plan.config.metrics.http_addr : args.metrics_addr;
  if (text.empty() || text == "off")
    return std::optional<listen_address>{};
  auto parsed = parse_listen_address(text);
  if (!parsed)
    return error{errc::invalid_config, "--metrics-addr: " + parsed.err().message};
  return std::optional<listen_address>{*parsed};
}

/// The HTTP endpoint's view of the collector: one request per HTTP
/// request, on the endpoint's thread, bounded in time.
http_endpoint::provider snapshot_provider(caf::actor_system& sys, caf::actor collector) {
  return [&sys, collector]() -> std::optional<metrics_snapshot> {
    std::string text;
    caf::scoped_actor self{sys};
    self->request(collector, std::chrono::seconds(2), snapshot_atom::value)
      .receive([&](std::string& s) { text = std::move(s); }, [](caf::error&) {});
    if (text.empty())
      return std::nullopt;
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded())
      return std::nullopt;
    return snapshot_from_json(j);
  };
}

} // namespace

int run(const run_args& args) {
  diagnostics diags;
  load_options lopts;
  lopts.overrides = args.config.overrides;
  std::shared_ptr<const pipeline_plan> plan = load_pipeline(args.config.file, lopts, diags);
  std::cerr << diags.render();
  if (!plan) {
    std::cerr << args.config.file << ": invalid config; nothing was run\n";
    return 1;
  }
  return run_plan(std::move(plan), args);
}

int run_plan(std::shared_ptr<const pipeline_plan> plan, const run_args& args) {
  // Block the stop signals before any thread exists, so only the watcher sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto console = choose_console(*plan, args);
  if (!console) {
    std::cerr << "sluice run: " << console.err().message << '\n';
    return 2;
  }
  auto http_at = choose_http(*plan, args);
  if (!http_at) {
    std::cerr << "sluice run: " << http_at.err().message << '\n';
    return 2;
  }
  caf::actor_system_config cfg;
  register_message_types(cfg);
  if (console->on)
    cfg.load<caf::io::middleman>();
  auto threads = args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", static_cast<size_t>(threads));
  std::string summary_text;
  {
    caf::actor_system sys{cfg};
    run_options ropts;
    ropts.progress = args.progress == 1 || (args.progress == -1 && isatty(STDERR_FILENO));
    caf::actor collector;
    // Stops the collector whatever happens below: a published actor that
    // is still alive would keep ~actor_system waiting forever.
    struct stop_on_exit {
      caf::actor& who;
      ~stop_on_exit() {
        if (who)
          caf::anon_send_exit(who, caf::exit_reason::user_shutdown);
      }
    } stop_collector{collector};
    if (console->on || *http_at) {
      collector_options copts;
      copts.interval_ms = plan->config.metrics.interval_ms;
      copts.history = plan->config.metrics.history;
      copts.scheduler_threads = threads;
      collector = sys.spawn(metrics_collector, plan, copts);
      ropts.collector = collector;
    }
    if (console->on) {
      auto bound = open_console(sys, collector, *console);
      if (!bound) {
        std::cerr << "sluice run: " << bound.err().message << "; nothing was run\n";
        return 1;
      }
      std::cerr << "sluice: console on " << bound->text() << " (attach: sluice top "
                << bound->text() << ")\n";
    }
    std::unique_ptr<http_endpoint> http; // stops before the collector does
    if (*http_at) {
      auto started = http_endpoint::start(**http_at, snapshot_provider(sys, collector));
      if (!started) {
        std::cerr << "sluice run: " << started.err().message << "; nothing was run\n";
        return 1;
      }
      http = std::move(*started);
      std::cerr << "sluice: metrics on http://" << http->address().text()
                << "/metrics (and /api/v1/pipeline, /api/v1/stages, /healthz)\n";
    }
    auto coord = sys.spawn(coordinator, plan, ropts);
    signal_watch watch{sys, coord};
    caf::scoped_actor self{sys};
    self->request(coord, caf::infinite, run_atom::value)
      .receive([&](std::string& text) { summary_text = std::move(text); },
               [&](caf::error& err) {
                 summary_text.clear();
                 std::cerr << "sluice: the run ended abnormally: " << sys.render(err) << '\n';
               });
  }
  if (summary_text.empty())
    return 1;
  auto summary = json::parse(summary_text);
  std::cerr << render_summary(summary);
  if (!args.summary_json.empty()) {
    std::ofstream out{args.summary_json};
    out << summary.dump(2) << '\n';
    if (!out) {
      std::cerr << "sluice: cannot write the summary to '" << args.summary_json << "'\n";
      return 1;
    }
  }
  bool ok = summary["status"] != "failed" && summary["conservation"]["ok"].get<bool>()
            && !summary.contains("commit_errors");
  return ok ? 0 : 1;
}

} // namespace sluice::cli
