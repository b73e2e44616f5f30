// sluice dlq inspect / replay: the dead-letter file, read back
// (docs/dead-letters.md). The work is in runtime/io/dlq_inspect.* and
// runtime/config/replay.*; replay runs through run_plan like `sluice run`.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "cli.hpp"
#include "config/loader.hpp"
#include "config/replay.hpp"
#include "io/dlq_inspect.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace sluice::cli {

namespace {

const char* dlq_usage = R"(usage: sluice dlq <subcommand> [options]

subcommands:
  inspect FILE      summarise a dead-letter file: counts by stage and error class,
                    the most frequent messages, the time range, malformed lines
  replay FILE --into PIPELINE.json --stage ID
                    feed the dead letters back into a pipeline at stage ID, after
                    the cause is fixed, and run it like 'sluice run'

Run 'sluice dlq <subcommand> --help' for its options. Docs: docs/dead-letters.md.
)";

const char* inspect_usage = "usage: sluice dlq inspect FILE [--format text|json] [--top N]\n";

const char* replay_usage =
  R"(usage: sluice dlq replay FILE --into PIPELINE.json --stage ID [options]

Builds a pipeline from PIPELINE.json in which a source.dlq stage reading FILE
feeds stage ID in place of ID's inputs; stages that the new source does not
reach (the original sources and everything upstream of ID) are left out, so no
record is read twice. Then validates and runs it exactly like 'sluice run'.
By default only the dead letters that failed in stage ID are replayed: those
are the records that failed there. Records that fail again follow the stages'
on_error, as in any run; the pipeline's own dead-letter file cannot be FILE
(send them elsewhere with --set dlq.path=...).
)";

std::string dir_of(const std::string& file) {
  auto slash = file.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : file.substr(0, slash);
}

// `file` as a path relative to `base_dir`, where the config's paths resolve.
std::string relative_to(const std::string& file, const std::string& base_dir) {
  std::error_code ec;
  auto abs_file = fs::absolute(file, ec).lexically_normal();
  auto abs_base = fs::absolute(base_dir, ec).lexically_normal();
  auto rel = abs_file.lexically_relative(abs_base);
  return rel.empty() ? abs_file.string() : rel.string();
}

bool readable(const std::string& path, std::string& why) {
  std::ifstream in{path, std::ios::binary};
  if (in && !fs::is_directory(path))
    return true;
  why = fs::is_directory(path) ? "is a directory" : std::strerror(errno);
  return false;
}

int inspect(int argc, char** argv) {
  std::string file, format = "text";
  size_t top = 10;
  po::options_description opts{"options"};
  opts.add_options()
    ("help,h", "show this help")
    ("file", po::value(&file), "the dead-letter file")
    ("format", po::value(&format), "text (default) or json")
    ("top", po::value(&top), "distinct messages listed per stage (default 10)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "sluice dlq inspect: " << e.what() << "\n\n" << inspect_usage << opts;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << inspect_usage << opts;
    return 0;
  }
  if (file.empty()) {
    std::cerr << "sluice dlq inspect: missing the dead-letter file\n" << inspect_usage;
    return 2;
  }
  if (format != "text" && format != "json") {
    std::cerr << "sluice dlq inspect: unknown format '" << format << "' (use text or json)\n";
    return 2;
  }
  std::string why;
  if (!readable(file, why)) {
    std::cerr << "sluice dlq inspect: cannot read '" << file << "': " << why << '\n';
    return 1;
  }
  dlq_inspect_options iopts;
  iopts.top_messages = top;
  auto summary = inspect_dead_letter_file(file, iopts);
  if (!summary) {
    std::cerr << "sluice dlq inspect: " << summary.err().message << '\n';
    return 1;
  }
  if (format == "json")
    std::cout << summary->dump(2) << '\n';
  else
    std::cout << render_dead_letter_summary(*summary);
  return 0;
}

int replay(int argc, char** argv) {
  std::string file, into, stage, only_stage, only_class;
  bool all_stages = false;
  run_args args;
  std::string log_level = "warn", log_format = "text";
  bool progress = false, no_progress = false;
  po::options_description opts{"options"};
  opts.add_options()
    ("help,h", "show this help")
    ("file", po::value(&file), "the dead-letter file to replay")
    ("into", po::value(&into), "the pipeline config (JSON) to replay into")
    ("stage", po::value(&stage), "the stage the records go back into")
    ("only-stage", po::value(&only_stage),
     "replay only the dead letters of this stage (default: those of --stage)")
    ("all-stages", po::bool_switch(&all_stages), "replay the dead letters of every stage")
    ("only-class", po::value(&only_class), "replay only the dead letters of this error class")
    ("set", po::value(&args.config.overrides)->composing(),
     "PATH=VALUE override of the replay pipeline")
    ("summary-json", po::value(&args.summary_json), "write the summary as JSON to this file")
    ("progress", po::bool_switch(&progress), "show the progress line")
    ("no-progress", po::bool_switch(&no_progress), "hide the progress line")
    ("threads", po::value(&args.threads), "scheduler threads (default: one per core)")
    ("log-level", po::value(&log_level), "trace, debug, info, warn, error, off")
    ("log-format", po::value(&log_format), "text or json");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "sluice dlq replay: " << e.what() << "\n\n" << replay_usage << '\n' << opts;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << replay_usage << '\n' << opts;
    return 0;
  }
  auto usage_error = [&](const std::string& what) {
    std::cerr << "sluice dlq replay: " << what << "\nusage: sluice dlq replay FILE --into "
                 "PIPELINE.json --stage ID [options] (--help for more)\n";
    return 2;
  };
  if (file.empty())
    return usage_error("missing the dead-letter file");
  if (into.empty())
    return usage_error("missing --into PIPELINE.json");
  if (stage.empty())
    return usage_error("missing --stage ID (the stage the records go back into)");
  if (all_stages && !only_stage.empty())
    return usage_error("--all-stages and --only-stage contradict each other");
  if (progress && no_progress)
    return usage_error("--progress and --no-progress contradict each other");
  args.progress = progress ? 1 : no_progress ? 0 : -1;
  if (auto err = setup_logging(log_level, log_format); !err.empty()) {
    std::cerr << "sluice: " << err << '\n';
    return 2;
  }
  std::string why;
  if (!readable(file, why)) {
    std::cerr << "sluice dlq replay: cannot read the dead-letter file '" << file << "': " << why
              << '\n';
    return 2;
  }
  load_options lopts;
  lopts.overrides = args.config.overrides;
  auto base_dir = dir_of(into);
  auto report_original = [&] {
    // The config itself is broken: report it as `run` would.
    diagnostics diags;
    load_pipeline(into, lopts, diags);
    std::cerr << diags.render() << into << ": invalid config; nothing was run\n";
    return 1;
  };
  std::ifstream in{into, std::ios::binary};
  if (!in)
    return report_original();
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::ordered_json::parse(text.str(), nullptr, false);
  if (doc.is_discarded())
    return report_original();

  replay_request req;
  req.dlq_path = relative_to(file, base_dir);
  req.stage = stage;
  if (!all_stages)
    req.only_stage = only_stage.empty() ? stage : only_stage;
  if (!only_class.empty())
    req.only_class = only_class;
  auto rc = make_replay_config(doc, req);
  if (!rc) {
    if (rc.err().code == errc::invalid_config)
      return report_original();
    std::cerr << "sluice dlq replay: " << into << ": " << rc.err().message << '\n';
    return 2;
  }
  diagnostics diags;
  std::shared_ptr<const pipeline_plan> plan =
    load_pipeline_text(rc->config.dump(2), into, base_dir, lopts, diags);
  for (auto d : diags.all()) {
    d.json_path = original_json_path(*rc, d.json_path);
    std::cerr << d.render() << '\n';
  }
  if (!plan) {
    std::cerr << into << ": invalid config (as replayed into stage '" << stage
              << "'); nothing was run\n";
    return 1;
  }
  if (auto same = check_replay_file(plan->config, file); !same) {
    std::cerr << "sluice dlq replay: " << same.err().message << '\n';
    return 2;
  }
  std::string left_out;
  auto& stages = doc["stages"];
  for (size_t i = 0; i < stages.size(); ++i)
    if (std::find(rc->original_index.begin(), rc->original_index.end(), static_cast<int>(i))
          == rc->original_index.end()
        && stages[i].is_object() && stages[i].contains("id") && stages[i]["id"].is_string())
      left_out += (left_out.empty() ? "" : ", ") + stages[i]["id"].get<std::string>();
  std::cerr << "sluice dlq replay: " << file << " ("
            << (req.only_stage ? "dead letters of stage '" + *req.only_stage + "'"
                               : std::string{"dead letters of every stage"})
            << (req.only_class ? ", class " + *req.only_class : std::string{})
            << ") into stage '" << stage << "' of " << into
            << (left_out.empty() ? std::string{} : "; left out: " + left_out) << '\n';
  if (!rc->appending.empty()) {
    std::string names;
    for (auto& id : rc->appending)
      names += (names.empty() ? "'" : ", '") + id + "'";
    std::cerr << "sluice dlq replay: sinks " << names
              << " append to their files (set params.mode=overwrite to replace them)\n";
  }
  return run_plan(std::move(plan), args);
}

} // namespace

int dlq(int argc, char** argv) {
  if (argc < 2 || std::string{argv[1]} == "--help" || std::string{argv[1]} == "-h"
      || std::string{argv[1]} == "help") {
    (argc < 2 ? std::cerr : std::cout) << dlq_usage;
    return argc < 2 ? 2 : 0;
  }
  std::string sub = argv[1];
  if (sub == "inspect")
    return inspect(argc - 1, argv + 1);
  if (sub == "replay")
    return replay(argc - 1, argv + 1);
  std::cerr << "sluice dlq: unknown subcommand '" << sub << "'\n\n" << dlq_usage;
  return 2;
}

} // namespace sluice::cli
