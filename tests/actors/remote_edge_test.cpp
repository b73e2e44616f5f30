// Edges cross processes unchanged: one stage runs in a second process (an
// actor system of its own, connected over 127.0.0.1 through caf::io's
// middleman), and the records that pass through it are the same, byte for
// byte, as in a run where every stage is local.

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/io/middleman.hpp>

#include "coordinator.hpp"
#include "support/actor_fixture.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

const char* config_text = R"cfg({
  "name": "remote",
  "defaults": {"batch_size": 256, "linger_ms": 20, "window": 4},
  "stages": [
    {"id": "gen", "type": "source.generate", "params": {"count": 20000, "seed": 3}},
    {"id": "shape", "type": "map", "inputs": ["gen"],
     "params": {"set": {"amount_cents": "round(.amount * 100)", "tag_count": "len(.tags)"},
                "rename": {"user": "customer"}}},
    {"id": "out", "type": "sink.file", "inputs": ["shape"], "params": {"path": "${OUT}"}}
  ]
})cfg";

std::string slurp(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// The stage host child process: started with fork/exec, its port read
/// from a pipe; killed if it is still there at the end.
struct host_process {
  pid_t pid = -1;
  uint16_t port = 0;

  host_process(const std::string& config, const std::string& stage) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl(SLUICE_STAGE_HOST, SLUICE_STAGE_HOST, config.c_str(), stage.c_str(), nullptr);
      _exit(127);
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    unsigned p = 0;
    if (std::fscanf(in, "%u", &p) == 1)
      port = static_cast<uint16_t>(p);
    std::fclose(in);
  }

  int wait_exit() {
    int status = 0;
    for (int i = 0; i < 1000; ++i) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      usleep(10'000);
    }
    return -2; // still running after 10 s
  }

  ~host_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

json run(test::actor_fixture& f, std::shared_ptr<const pipeline_plan> plan, placement_fn place) {
  run_options opts;
  opts.placement = std::move(place);
  auto coord = f.sys.spawn(coordinator, plan, opts);
  std::string text;
  f.self->request(coord, std::chrono::seconds(60), run_atom::value)
    .receive([&](std::string& s) { text = std::move(s); },
             [&](caf::error& e) { FAIL(f.sys.render(e)); });
  return json::parse(text);
}

} // namespace

SCENARIO("a stage in another process passes records through unchanged", "[remote][actors]") {
  char tmpl[] = "/tmp/sluice-remote-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  fs::path dir = tmpl;
  auto config = dir / "remote.json";
  std::ofstream{config} << config_text;

  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 2);

  GIVEN("the same pipeline run locally and with 'shape' in a second process") {
    std::string local_out;
    std::string remote_out;
    json local_summary;
    json remote_summary;
    {
      setenv("OUT", (dir / "local.jsonl").c_str(), 1);
      diagnostics diags;
      std::shared_ptr<const pipeline_plan> plan = load_pipeline(config.string(), {}, diags);
      REQUIRE(plan);
      test::actor_fixture f;
      local_summary = run(f, plan, {});
      local_out = slurp(dir / "local.jsonl");
    }
    {
      setenv("OUT", (dir / "remote.jsonl").c_str(), 1);
      host_process host{config.string(), "shape"};
      REQUIRE(host.port != 0);
      diagnostics diags;
      std::shared_ptr<const pipeline_plan> plan = load_pipeline(config.string(), {}, diags);
      REQUIRE(plan);
      caf::actor_system sys{cfg};
      caf::scoped_actor self{sys};
      auto remote = sys.middleman().remote_actor("127.0.0.1", host.port);
      REQUIRE(remote);
      auto shape = plan->config.find("shape")->index;
      run_options opts;
      opts.placement = [&](stage_index s, uint32_t) {
        return s == shape ? *remote : caf::actor{};
      };
      auto coord = sys.spawn(coordinator, plan, opts);
      std::string text;
      self->request(coord, std::chrono::seconds(60), run_atom::value)
        .receive([&](std::string& s) { text = std::move(s); },
                 [&](caf::error& e) { FAIL(sys.render(e)); });
      remote_summary = json::parse(text);
      remote_out = slurp(dir / "remote.jsonl");
      THEN("the host process ends when the run is over") {
        CHECK(host.wait_exit() == 0);
      }
    }
    THEN("both runs succeed with the conservation check holding") {
      CHECK(local_summary["status"] == "ok");
      CHECK(remote_summary["status"] == "ok");
      INFO(remote_summary.dump(2));
      CHECK(remote_summary["conservation"]["ok"] == true);
      CHECK(remote_summary["totals"]["written"] == 20000);
    }
    THEN("the outputs are identical, record for record") {
      REQUIRE(!local_out.empty());
      CHECK(std::count(remote_out.begin(), remote_out.end(), '\n') == 20000);
      CHECK(remote_out == local_out);
    }
  }
  fs::remove_all(dir);
}
