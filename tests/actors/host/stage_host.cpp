// A second process for cross-process edge tests: loads a pipeline config,
// spawns one replica of one stage in its own actor system, publishes it on
// 127.0.0.1 (a free port), prints the port on stdout and runs until the
// stage actor ends (the coordinator in the test process stops it) or 60 s
// pass.
//
//   stage_host CONFIG STAGE_ID

#include <cstdio>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "config/loader.hpp"
#include "messages.hpp"
#include "stage_actor.hpp"

int main(int argc, char** argv) {
  using namespace sluice;
  if (argc != 3) {
    std::fprintf(stderr, "usage: stage_host CONFIG STAGE_ID\n");
    return 2;
  }
  diagnostics diags;
  std::shared_ptr<const pipeline_plan> plan = load_pipeline(argv[1], {}, diags);
  if (!plan) {
    std::fprintf(stderr, "%s", diags.render().c_str());
    return 1;
  }
  auto spec = plan->config.find(argv[2]);
  if (spec == nullptr) {
    std::fprintf(stderr, "no stage '%s'\n", argv[2]);
    return 1;
  }
  // stdout carries only the port (the test closes it after reading); logs
  // (e.g. a stage restart) go to stderr.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("stage_host"));
  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  // The replica's keeper: it restarts the stage's worker here, in this
  // process, when it crashes.
  auto stage = sys.spawn(stage_actor, plan, spec->index, uint32_t{0});
  auto port = sys.middleman().publish(stage, 0, "127.0.0.1", true);
  if (!port) {
    std::fprintf(stderr, "publish failed: %s\n", sys.render(port.error()).c_str());
    caf::anon_send_exit(stage, caf::exit_reason::kill);
    return 1;
  }
  std::printf("%u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  // Never outlive the test that started us.
  std::thread guard([stage] {
    std::this_thread::sleep_for(std::chrono::seconds(60));
    caf::anon_send_exit(stage, caf::exit_reason::kill);
  });
  guard.detach();
  caf::scoped_actor self{sys};
  self->wait_for(stage);
  return 0;
}
