// sluice validate / graph / kinds.

#include <iostream>

#include "cli.hpp"
#include "config/loader.hpp"
#include "ops/registry.hpp"

namespace sluice::cli {

namespace {

std::unique_ptr<pipeline_plan> load(const config_args& args) {
  diagnostics diags;
  load_options opts;
  opts.overrides = args.overrides;
  auto plan = load_pipeline(args.file, opts, diags);
  std::cerr << diags.render();
  if (!plan) {
    auto n = diags.all().size();
    std::cerr << args.file << ": " << n << (n == 1 ? " problem" : " problems")
              << "; nothing was run\n";
  }
  return plan;
}

} // namespace

int validate(const config_args& args) {
  auto plan = load(args);
  if (!plan)
    return 1;
  std::cout << args.file << ": ok: pipeline '" << plan->config.name << "', "
            << plan->config.stages.size() << " stages, " << plan->graph->edges().size()
            << " edges\n";
  return 0;
}

int graph(const config_args& args, const std::string& format) {
  auto plan = load(args);
  if (!plan)
    return 1;
  std::cout << (format == "mermaid" ? plan->graph->to_mermaid()
                                    : plan->graph->to_dot(plan->config.name));
  return 0;
}

int kinds() {
  for (auto& k : stage_registry::instance().kinds())
    std::cout << k.name << std::string(k.name.size() < 18 ? 18 - k.name.size() : 1, ' ')
              << k.summary << '\n';
  return 0;
}

} // namespace sluice::cli
