// sluice lineage runs / trace / find / graph / export: the lineage store,
// read back (docs/lineage.md). The work is in runtime/lineage/query.*.

#include <chrono>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "cli.hpp"
#include "lineage/query.hpp"
#include "lineage/query_render.hpp"

namespace po = boost::program_options;

namespace sluice::cli {

namespace {

const char* lineage_usage = R"(usage: sluice lineage <subcommand> STORE [options]

subcommands:
  runs STORE              the runs in the store: when, status, records, events
  trace STORE RECORD_ID   every event of a record, its origin, parents and children
  find STORE [filters]    events by --stage, --outcome, --since, --until, --file
  graph STORE             input files -> stages -> outputs as DOT, edges counting records
  export STORE            every event as JSON lines (for other tools)

STORE is the file named by the pipeline's lineage.path. Run
'sluice lineage <subcommand> --help' for its options. Docs: docs/lineage.md.
)";

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string valid_outcomes() {
  std::string out;
  for (int i = 1; i <= static_cast<int>(lineage_outcome::retried); ++i)
    out += (out.empty() ? "" : ", ") + std::string{to_string(static_cast<lineage_outcome>(i))};
  return out;
}

/// Parses a subcommand's options; returns -1 to go on, else an exit code.
int parse(const std::string& sub, const std::string& usage, po::options_description& opts,
          po::positional_options_description& pos, int argc, char** argv,
          po::variables_map& vm) {
  opts.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "sluice lineage " << sub << ": " << e.what() << "\n\n" << usage << opts;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << usage << opts;
    return 0;
  }
  if (!vm.count("store")) {
    std::cerr << "sluice lineage " << sub << ": missing the store file\n" << usage;
    return 2;
  }
  return -1;
}

int fail(const std::string& sub, const std::string& message) {
  std::cerr << "sluice lineage " << sub << ": " << message << '\n';
  return 1;
}

std::optional<int64_t> run_of(const po::variables_map& vm) {
  if (vm.count("run"))
    return vm["run"].as<int64_t>();
  return std::nullopt;
}

int runs_cmd(int argc, char** argv) {
  std::string store;
  bool as_json = false;
  po::options_description opts{"options"};
  opts.add_options()("store", po::value(&store), "the lineage store")
    ("json", po::bool_switch(&as_json), "JSON instead of text");
  po::positional_options_description pos;
  pos.add("store", 1);
  po::variables_map vm;
  if (auto rc = parse("runs", "usage: sluice lineage runs STORE [--json]\n", opts, pos, argc,
                      argv, vm);
      rc >= 0)
    return rc;
  auto q = lineage_query::open(store);
  if (!q)
    return fail("runs", q.err().message);
  auto runs = q->runs();
  if (!runs)
    return fail("runs", runs.err().message);
  if (as_json)
    std::cout << runs_json(*runs).dump(2) << '\n';
  else
    std::cout << render_runs(*runs);
  return 0;
}

int trace_cmd(int argc, char** argv) {
  std::string store, id;
  bool as_json = false;
  size_t parents = 10;
  po::options_description opts{"options"};
  opts.add_options()("store", po::value(&store), "the lineage store")
    ("record", po::value(&id), "the record id")
    ("run", po::value<int64_t>(), "the run (default: the latest)")
    ("parents", po::value(&parents), "parents listed for a derived record (default 10)")
    ("json", po::bool_switch(&as_json), "JSON instead of text");
  po::positional_options_description pos;
  pos.add("store", 1).add("record", 1);
  po::variables_map vm;
  const char* usage = "usage: sluice lineage trace STORE RECORD_ID [--run N] [--json]\n";
  if (auto rc = parse("trace", usage, opts, pos, argc, argv, vm); rc >= 0)
    return rc;
  if (!vm.count("record")) {
    std::cerr << "sluice lineage trace: missing the record id\n" << usage;
    return 2;
  }
  auto q = lineage_query::open(store);
  if (!q)
    return fail("trace", q.err().message);
  auto t = q->trace(id, run_of(vm), parents);
  if (!t)
    return fail("trace", t.err().message);
  if (t->records.empty()) {
    std::cerr << "sluice lineage trace: " << render_trace(*t)
              << "hint: 'sluice lineage find " << store << " --run " << t->run
              << "' lists the run's records\n";
    return 1;
  }
  if (as_json)
    std::cout << trace_json(*t).dump(2) << '\n';
  else
    std::cout << render_trace(*t);
  return 0;
}

int find_cmd(int argc, char** argv) {
  std::string store, outcome, since, until;
  bool as_json = false;
  lineage_find_filter f;
  po::options_description opts{"options"};
  opts.add_options()("store", po::value(&store), "the lineage store")
    ("stage", po::value(&f.stage), "events at this stage (its id)")
    ("outcome", po::value(&outcome), "events with this outcome (read, passed, ..., retried)")
    ("since", po::value(&since), "at or after: 2026-12-06T04:00:00Z, or an age: 10m, 2h, 7d")
    ("until", po::value(&until), "before (same forms as --since)")
    ("file", po::value(&f.file), "records read from this input file (exact path or a part of it)")
    ("run", po::value<int64_t>(), "the run (default: the latest)")
    ("limit", po::value(&f.limit), "events listed (default 100; the total is always counted)")
    ("json", po::bool_switch(&as_json), "JSON instead of text");
  po::positional_options_description pos;
  pos.add("store", 1);
  po::variables_map vm;
  const char* usage =
    "usage: sluice lineage find STORE [--stage ID] [--outcome O] [--since T] [--until T]\n"
    "                          [--file PATH] [--run N] [--limit N] [--json]\n";
  if (auto rc = parse("find", usage, opts, pos, argc, argv, vm); rc >= 0)
    return rc;
  if (!outcome.empty()) {
    f.outcome = lineage_outcome_from_string(outcome);
    if (!f.outcome)
      return fail("find", "unknown outcome '" + outcome + "'; valid: " + valid_outcomes());
  }
  auto now = now_us();
  for (auto [text, into] : {std::pair{&since, &f.since_us}, std::pair{&until, &f.until_us}}) {
    if (text->empty())
      continue;
    auto t = parse_lineage_time(*text, now);
    if (!t)
      return fail("find", (into == &f.since_us ? "--since: " : "--until: ") + t.err().message);
    *into = *t;
  }
  f.run = run_of(vm);
  auto q = lineage_query::open(store);
  if (!q)
    return fail("find", q.err().message);
  auto r = q->find(f);
  if (!r)
    return fail("find", r.err().message);
  if (as_json)
    std::cout << find_json(*r).dump(2) << '\n';
  else
    std::cout << render_find(*r);
  return 0;
}

int graph_cmd(int argc, char** argv) {
  std::string store;
  bool all = false, as_json = false;
  po::options_description opts{"options"};
  opts.add_options()("store", po::value(&store), "the lineage store")
    ("run", po::value<int64_t>(), "the run (default: the latest)")
    ("all", po::bool_switch(&all), "every run, merged")
    ("json", po::bool_switch(&as_json), "JSON instead of DOT");
  po::positional_options_description pos;
  pos.add("store", 1);
  po::variables_map vm;
  const char* usage = "usage: sluice lineage graph STORE [--run N | --all] [--json]\n";
  if (auto rc = parse("graph", usage, opts, pos, argc, argv, vm); rc >= 0)
    return rc;
  if (all && vm.count("run")) {
    std::cerr << "sluice lineage graph: --run and --all contradict each other\n" << usage;
    return 2;
  }
  auto q = lineage_query::open(store);
  if (!q)
    return fail("graph", q.err().message);
  auto g = q->graph(run_of(vm), all);
  if (!g)
    return fail("graph", g.err().message);
  if (as_json)
    std::cout << graph_json(*g).dump(2) << '\n';
  else
    std::cout << render_graph_dot(*g);
  return 0;
}

int export_cmd(int argc, char** argv) {
  std::string store, output;
  po::options_description opts{"options"};
  opts.add_options()("store", po::value(&store), "the lineage store")
    ("run", po::value<int64_t>(), "the run (default: every run)")
    ("output,o", po::value(&output), "write to this file (default: stdout)");
  po::positional_options_description pos;
  pos.add("store", 1);
  po::variables_map vm;
  const char* usage = "usage: sluice lineage export STORE [--run N] [-o FILE]\n";
  if (auto rc = parse("export", usage, opts, pos, argc, argv, vm); rc >= 0)
    return rc;
  auto q = lineage_query::open(store);
  if (!q)
    return fail("export", q.err().message);
  std::ofstream file;
  if (!output.empty()) {
    file.open(output);
    if (!file)
      return fail("export", "cannot write '" + output + "'");
  }
  auto n = q->export_jsonl(output.empty() ? std::cout : file, run_of(vm));
  if (!n)
    return fail("export", n.err().message);
  if (!output.empty())
    std::cerr << "sluice lineage export: " << *n << " events to " << output << '\n';
  return 0;
}

} // namespace

int lineage(int argc, char** argv) {
  if (argc < 2 || std::string{argv[1]} == "--help" || std::string{argv[1]} == "-h") {
    std::cout << lineage_usage;
    return argc < 2 ? 2 : 0;
  }
  std::string sub = argv[1];
  if (sub == "runs")
    return runs_cmd(argc - 1, argv + 1);
  if (sub == "trace")
    return trace_cmd(argc - 1, argv + 1);
  if (sub == "find")
    return find_cmd(argc - 1, argv + 1);
  if (sub == "graph")
    return graph_cmd(argc - 1, argv + 1);
  if (sub == "export")
    return export_cmd(argc - 1, argv + 1);
  std::cerr << "sluice lineage: unknown subcommand '" << sub << "'\n\n" << lineage_usage;
  return 2;
}

} // namespace sluice::cli
