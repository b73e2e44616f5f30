#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sluice {
struct pipeline_plan;
} // namespace sluice

namespace sluice::cli {

/// Options every command that reads a config shares.
struct config_args {
  std::string file;
  std::vector<std::string> overrides; ///< --set PATH=VALUE
};

struct run_args {
  config_args config;
  std::string summary_json; ///< --summary-json FILE
  int progress = -1;        ///< -1: when stderr is a terminal
  unsigned threads = 0;     ///< 0: one per core
  std::string console_addr; ///< --console-addr: overrides metrics.console ("off" closes it)
  std::string metrics_addr; ///< --metrics-addr: overrides metrics.http
};

/// `sluice run`: loads args.config and hands it to run_plan.
int run(const run_args& args);
/// Runs a loaded, validated plan exactly as `sluice run` does (actor system,
/// Ctrl-C, summary, --summary-json, exit code); args.config is not read.
int run_plan(std::shared_ptr<const pipeline_plan> plan, const run_args& args);
int validate(const config_args& args);
int graph(const config_args& args, const std::string& format);
int kinds();
/// `sluice dlq inspect|replay ...`; argv[0] is "dlq" (cmd_dlq.cpp).
int dlq(int argc, char** argv);
/// `sluice lineage runs|trace|find|graph|export STORE ...`; argv[0] is
/// "lineage" (cmd_lineage.cpp).
int lineage(int argc, char** argv);
/// `sluice top [ADDRESS] [--interval MS] [--once] [--json]`; argv[0] is
/// "top" (cmd_top.cpp, apps/sluice/top/).
int top(int argc, char** argv);

/// Sets up spdlog: level (trace, debug, info, warn, error, off) and format
/// (text or json: one JSON object per line). Returns an error text or "".
std::string setup_logging(const std::string& level, const std::string& format);

} // namespace sluice::cli
