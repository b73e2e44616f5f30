// sluice: the command line. Parses arguments and hands over; the work is in
// runtime/ (config, graph, operators) and actors/ (running them).

#include <iostream>

#include <boost/program_options.hpp>

#include "cli.hpp"

namespace po = boost::program_options;

namespace {

const char* usage = R"(usage: sluice <command> [options]

commands:
  run CONFIG        run a pipeline; progress on a terminal, a summary at the end
  validate CONFIG   check a pipeline config; every problem with its JSON path
  graph CONFIG      print the stage graph (Graphviz DOT, or --format mermaid)
  kinds             list the stage types
  dlq inspect FILE  summarise a dead-letter file (counts by stage and error)
  dlq replay FILE --into CONFIG --stage ID
                    feed dead letters back into a pipeline at a stage, then run it
  lineage runs|trace|find|graph|export STORE ...
                    read a lineage store: a record's trace, events by stage and outcome
  top [ADDRESS]     the live console of a running pipeline (default 127.0.0.1:7464);
                    --once prints one snapshot (--json as JSON), --interval MS

options for run, validate and graph:
  --set PATH=VALUE  override a config value, e.g. --set stages.big.params.when=".amount > 10"
                    (repeatable; VALUE is JSON if it parses as JSON, else a string)
  --log-level L     trace, debug, info, warn (default), error, off
  --log-format F    text (default) or json
options for run:
  --summary-json F  also write the summary as JSON to F
  --progress / --no-progress   force the progress line on or off (default: on a terminal)
  --threads N       scheduler threads (default: one per core)
options for graph:
  --format F        dot (default) or mermaid

Run 'sluice <command> --help' for a command's options. Docs: docs/config.md.
)";

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string{argv[1]} == "--help" || std::string{argv[1]} == "-h"
      || std::string{argv[1]} == "help") {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  if (command == "kinds")
    return sluice::cli::kinds();
  if (command == "dlq")
    return sluice::cli::dlq(argc - 1, argv + 1);
  if (command == "lineage")
    return sluice::cli::lineage(argc - 1, argv + 1);
  if (command == "top")
    return sluice::cli::top(argc - 1, argv + 1);
  if (command != "run" && command != "validate" && command != "graph") {
    std::cerr << "sluice: unknown command '" << command << "'\n\n" << usage;
    return 2;
  }
  sluice::cli::run_args args;
  std::string log_level = "warn";
  std::string log_format = "text";
  std::string format = "dot";
  bool progress = false;
  bool no_progress = false;
  po::options_description opts{"options"};
  opts.add_options()
    ("help,h", "show this help")
    ("config", po::value(&args.config.file), "the pipeline config (JSON)")
    ("set", po::value(&args.config.overrides)->composing(), "PATH=VALUE override")
    ("log-level", po::value(&log_level), "trace, debug, info, warn, error, off")
    ("log-format", po::value(&log_format), "text or json");
  if (command == "run")
    opts.add_options()
      ("summary-json", po::value(&args.summary_json), "write the summary as JSON to this file")
      ("progress", po::bool_switch(&progress), "show the progress line")
      ("no-progress", po::bool_switch(&no_progress), "hide the progress line")
      ("threads", po::value(&args.threads), "scheduler threads (default: one per core)")
      ("console-addr", po::value(&args.console_addr),
       "where `sluice top` attaches: HOST:PORT, or off (default 127.0.0.1:7464)")
      ("metrics-addr", po::value(&args.metrics_addr),
       "serve /metrics and /api/v1 over HTTP at HOST:PORT (default: off)");
  if (command == "graph")
    opts.add_options()("format", po::value(&format), "dot or mermaid");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc - 1, argv + 1).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "sluice " << command << ": " << e.what() << "\n\n"
              << "usage: sluice " << command << " CONFIG [options]\n" << opts;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: sluice " << command << " CONFIG [options]\n" << opts;
    return 0;
  }
  if (args.config.file.empty()) {
    std::cerr << "sluice " << command << ": missing the pipeline config file\n"
              << "usage: sluice " << command << " CONFIG [options]\n";
    return 2;
  }
  if (auto err = sluice::cli::setup_logging(log_level, log_format); !err.empty()) {
    std::cerr << "sluice: " << err << '\n';
    return 2;
  }
  if (progress && no_progress) {
    std::cerr << "sluice run: --progress and --no-progress contradict each other\n";
    return 2;
  }
  args.progress = progress ? 1 : no_progress ? 0 : -1;
  if (command == "validate")
    return sluice::cli::validate(args.config);
  if (command == "graph") {
    if (format != "dot" && format != "mermaid") {
      std::cerr << "sluice graph: unknown format '" << format << "' (use dot or mermaid)\n";
      return 2;
    }
    return sluice::cli::graph(args.config, format);
  }
  return sluice::cli::run(args);
}
