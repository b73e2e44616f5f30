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

/// The pipeline; `shape_extra` is spliced into the stage 'shape' (chaos).
std::string config_text(const std::string& shape_extra = "") {
  return R"cfg({
  "name": "remote",
  "defaults": {"batch_size": 256, "linger_ms": 20, "window": 4},
  "stages": [
    {"id": "gen", "type": "source.generate", "params": {"count": 20000, "seed": 3}},
    {"id": "shape", "type": "map", "inputs": ["gen"])cfg" + shape_extra + R"cfg(,
     "params": {"set": {"amount_cents": "round(.amount * 100)", "tag_count": "len(.tags)"},
                "rename": {"user": "customer"}}},
    {"id": "out", "type": "sink.file", "inputs": ["shape"], "params": {"path": "${OUT}"}}
  ]
})cfg";
}

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

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

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

/// Runs `config` with the stage 'shape' placed in `host`'s process; returns
/// the summary.
json run_with_remote_shape(caf::actor_system_config& cfg, const fs::path& config,
                           const host_process& host) {
  diagnostics diags;
  std::shared_ptr<const pipeline_plan> plan = load_pipeline(config.string(), {}, diags);
  REQUIRE(plan);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto remote = sys.middleman().remote_actor("127.0.0.1", host.port);
  REQUIRE(remote);
  auto shape = plan->config.find("shape")->index;
  run_options opts;
  opts.placement = [&](stage_index s, uint32_t) { return s == shape ? *remote : caf::actor{}; };
  auto coord = sys.spawn(coordinator, plan, opts);
  std::string text;
  self->request(coord, std::chrono::seconds(60), run_atom::value)
    .receive([&](std::string& s) { text = std::move(s); },
             [&](caf::error& e) { FAIL(sys.render(e)); });
  return json::parse(text);
}

} // namespace

SCENARIO("a stage in another process passes records through unchanged", "[remote][actors]") {
  char tmpl[] = "/tmp/sluice-remote-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  fs::path dir = tmpl;
  auto config = dir / "remote.json";
  std::ofstream{config} << config_text();

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
      remote_summary = run_with_remote_shape(cfg, config, host);
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

SCENARIO("a stage in another process that crashes loses and doubles nothing",
         "[remote][actors][fault]") {
  char tmpl[] = "/tmp/sluice-remote-crash-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  fs::path dir = tmpl;
  auto clean_config = dir / "clean.json";
  auto chaos_config = dir / "chaos.json";
  std::ofstream{clean_config} << config_text();
  // The receiving side's actor dies before 10% of its batches; its keeper,
  // in the second process, restarts it there.
  std::ofstream{chaos_config} << config_text(
    R"(, "chaos": {"seed": 21, "crash_batches": 0.1},
         "supervision": {"max_restarts": 1000, "within": "60s"})");

  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 2);

  GIVEN("a clean local run and a run with the crashing 'shape' in a second process") {
    setenv("OUT", (dir / "local.jsonl").c_str(), 1);
    {
      diagnostics diags;
      std::shared_ptr<const pipeline_plan> plan = load_pipeline(clean_config.string(), {}, diags);
      REQUIRE(plan);
      test::actor_fixture f;
      REQUIRE(run(f, plan, {})["status"] == "ok");
    }
    setenv("OUT", (dir / "remote.jsonl").c_str(), 1);
    json summary;
    {
      host_process host{chaos_config.string(), "shape"};
      REQUIRE(host.port != 0);
      summary = run_with_remote_shape(cfg, chaos_config, host);
    }
    THEN("the remote stage restarted, and the output equals the clean run's") {
      INFO(summary.dump(2));
      CHECK(summary["status"] == "ok");
      CHECK(summary["conservation"]["ok"] == true);
      uint64_t restarts = 0;
      for (auto& row : summary["stages"])
        if (row["id"] == "shape")
          restarts = row["restarts"].get<uint64_t>();
      CHECK(restarts > 0);
      // Record for record; the order of batches may change around a restart
      // (resent batches can arrive behind newer ones).
      auto local = sorted_lines(slurp(dir / "local.jsonl"));
      REQUIRE(local.size() == 20000);
      CHECK(sorted_lines(slurp(dir / "remote.jsonl")) == local);
    }
  }
  fs::remove_all(dir);
}
