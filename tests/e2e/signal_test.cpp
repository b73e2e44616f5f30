// Ctrl-C on a streaming run: sources stop, what was read drains to the sinks,
// the summary says "stopped", the conservation check holds, exit code 0.
// Runs the sluice binary as a user would, on the shipped streaming example
// and on a pipeline writing a file in place.

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

size_t lines_in(const fs::path& p) {
  auto text = slurp(p);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// `sluice run CONFIG --summary-json summary.json` in `dir`, stdout and
/// stderr to files there.
struct sluice_process {
  pid_t pid = -1;
  fs::path dir;

  sluice_process(const fs::path& work, const std::string& config) : dir(work) {
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (chdir(work.c_str()) != 0)
        _exit(126);
      freopen("stdout.txt", "w", stdout);
      freopen("stderr.txt", "w", stderr);
      execl(SLUICE_BINARY, SLUICE_BINARY, "run", config.c_str(), "--summary-json",
            "summary.json", "--no-progress", nullptr);
      _exit(127);
    }
  }

  /// Exit code, or -1 if it did not end within `limit`.
  int wait_exit(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  ~sluice_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

bool eventually(const std::function<bool()>& cond, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

fs::path temp_dir() {
  char tmpl[] = "/tmp/sluice-signal-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

} // namespace

SCENARIO("Ctrl-C stops a streaming run cleanly", "[e2e][signals]") {
  GIVEN("an endless generator writing a file in place") {
    auto dir = temp_dir();
    std::ofstream{dir / "endless.json"} << R"({
      "name": "endless",
      "defaults": {"batch_size": 100, "linger_ms": 20, "window": 4},
      "stages": [
        {"id": "gen", "type": "source.generate", "params": {"rate": 20000}},
        {"id": "big", "type": "filter", "inputs": ["gen"], "params": {"when": ".amount > 50"}},
        {"id": "out", "type": "sink.file", "inputs": ["big"], "params": {"path": "out/big.jsonl"}}
      ]})";
    sluice_process run{dir, "endless.json"};
    WHEN("records reach the file and SIGINT arrives") {
      REQUIRE(eventually([&] { return lines_in(dir / "out/big.jsonl") >= 500; },
                         std::chrono::seconds(20)));
      kill(run.pid, SIGINT);
      THEN("it drains, reports 'stopped' with the books balanced, and exits 0") {
        REQUIRE(run.wait_exit(std::chrono::seconds(20)) == 0);
        auto summary = json::parse(slurp(dir / "summary.json"));
        CHECK(summary["status"] == "stopped");
        CHECK(summary["conservation"]["ok"] == true);
        auto read = summary["totals"]["read"].get<uint64_t>();
        auto written = summary["totals"]["written"].get<uint64_t>();
        auto filtered = summary["totals"]["filtered"].get<uint64_t>();
        CHECK(read == written + filtered);
        // Everything written is in the file: nothing was left in a buffer.
        CHECK(lines_in(dir / "out/big.jsonl") == written);
        CHECK(slurp(dir / "stderr.txt").find("stopping") != std::string::npos);
      }
    }
    fs::remove_all(dir);
  }
  GIVEN("the shipped streaming example") {
    auto dir = temp_dir();
    fs::copy(fs::path{SLUICE_SOURCE_DIR} / "configs/examples/stream.json", dir / "stream.json");
    sluice_process run{dir, "stream.json"};
    WHEN("a window of per-category counts was printed and SIGINT arrives") {
      REQUIRE(eventually([&] { return lines_in(dir / "stdout.txt") >= 1; },
                         std::chrono::seconds(20)));
      kill(run.pid, SIGINT);
      THEN("it stops with exit code 0 and every printed line is a category count") {
        REQUIRE(run.wait_exit(std::chrono::seconds(20)) == 0);
        auto summary = json::parse(slurp(dir / "summary.json"));
        CHECK(summary["status"] == "stopped");
        CHECK(summary["conservation"]["ok"] == true);
        std::stringstream out{slurp(dir / "stdout.txt")};
        for (std::string line; std::getline(out, line);) {
          auto j = json::parse(line);
          CHECK(j.contains("category"));
          CHECK(j["orders"].get<int64_t>() > 0);
          CHECK(j["window_end"].get<int64_t>() - j["window_start"].get<int64_t>() == 2000);
        }
      }
    }
    fs::remove_all(dir);
  }
}
