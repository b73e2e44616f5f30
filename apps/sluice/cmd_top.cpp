// `sluice top [ADDRESS] [--interval MS] [--once] [--json]`: attach to a
// running `sluice run` through its console port and show its metrics live
// (apps/sluice/top/, docs/observability.md).

#include <clocale>
#include <cstdlib>
#include <iostream>
#include <sys/ioctl.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "cli.hpp"
#include "messages.hpp"
#include "metrics/listen_address.hpp"
#include "top/console.hpp"
#include "top/feed.hpp"
#include "top/format.hpp"
#include "top/screen.hpp"

namespace po = boost::program_options;

namespace sluice::cli {

namespace {

const char* top_usage = "usage: sluice top [ADDRESS] [--interval MS] [--once] [--json]\n";

/// The width for --once: the terminal's, or 120 when stdout is not one.
int output_width() {
  winsize ws{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 120;
}

} // namespace

int top(int argc, char** argv) {
  std::string address_text = "127.0.0.1:" + std::to_string(default_console_port);
  unsigned interval_ms = 0;
  bool once = false;
  bool as_json = false;
  po::options_description opts{"options"};
  opts.add_options()
    ("help,h", "show this help")
    ("address", po::value(&address_text), "the run's console address (default 127.0.0.1:7464)")
    ("interval", po::value(&interval_ms), "refresh every MS milliseconds (default: the run's interval)")
    ("once", po::bool_switch(&once), "print one snapshot and exit")
    ("json", po::bool_switch(&as_json), "with --once: print the snapshot as JSON");
  po::positional_options_description pos;
  pos.add("address", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "sluice top: " << e.what() << "\n\n" << top_usage << opts;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << top_usage << opts
              << "\nA `sluice run` listens on 127.0.0.1:7464 unless told otherwise and announces"
                 " its console address on stderr.\nKeys: press ? in the console.\n";
    return 0;
  }
  if (as_json && !once) {
    std::cerr << "sluice top: --json prints one snapshot; use it with --once\n";
    return 2;
  }
  auto address = parse_listen_address(address_text);
  if (!address) {
    std::cerr << "sluice top: " << address.err().message << '\n';
    return 2;
  }
  std::setlocale(LC_ALL, "");
  bool utf8 = top::locale_is_utf8();

  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  auto collector = top::connect_collector(sys, address->host, address->port);
  if (!collector) {
    std::cerr << "sluice top: " << collector.err().message << '\n';
    return 1;
  }
  if (!once && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
    std::cerr << "sluice top: the live console needs a terminal; use --once (and --json) to"
                 " print one snapshot\n";
    return 2;
  }
  top::console model{address->text(), utf8};
  if (once) {
    auto text = top::fetch_snapshot(sys, *collector, std::chrono::seconds(5));
    if (!text) {
      std::cerr << "sluice top: " << address->text() << ": " << text.err().message << '\n';
      return 1;
    }
    auto snap = top::parse_snapshot(*text);
    if (!snap) {
      std::cerr << "sluice top: " << address->text() << ": " << snap.err().message << '\n';
      return 1;
    }
    if (as_json) {
      std::cout << to_json(*snap).dump(2) << '\n';
    } else {
      model.update(std::move(*snap), top::wall_clock_us());
      for (auto& line : model.plain_text(output_width()))
        std::cout << line << '\n';
    }
    return 0;
  }
  top::snapshot_feed::settings settings;
  settings.host = address->host;
  settings.port = address->port;
  settings.interval = std::chrono::milliseconds{interval_ms};
  int rc = 0;
  {
    top::snapshot_feed feed{sys, *collector, settings};
    try {
      rc = top::run_screen(model, feed);
    } catch (const std::exception& e) { // the screen has been ended by now
      std::cerr << "sluice top: " << e.what() << '\n';
      rc = 1;
    }
  }
  return rc;
}

} // namespace sluice::cli
