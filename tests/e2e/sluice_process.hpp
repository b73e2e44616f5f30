#pragma once

// Helpers for end-to-end tests that drive the sluice binary as a user would:
// start it in a directory, signal it, wait for it, read what it wrote.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace sluice::test {

inline std::string slurp(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

inline size_t lines_in(const fs::path& p) {
  auto text = slurp(p);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// The lines of a file, sorted (replicas and retries reorder records).
inline std::vector<std::string> sorted_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::stringstream in{slurp(p)};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

/// `sluice run CONFIG --summary-json summary.json --no-progress [extra]` in
/// `work`, stdout and stderr to stdout.txt and stderr.txt there.
/// With `with_stdin`, its stdin is a pipe the test writes with
/// write_stdin() and ends with close_stdin().
struct sluice_process {
  pid_t pid = -1;
  fs::path dir;
  int stdin_fd = -1;

  sluice_process(const fs::path& work, const std::string& config,
                 std::vector<std::string> extra = {}, bool with_stdin = false)
    : dir(work) {
    std::vector<std::string> args{SLUICE_BINARY, "run", config, "--summary-json",
                                  "summary.json", "--no-progress"};
    args.insert(args.end(), extra.begin(), extra.end());
    int fds[2] = {-1, -1};
    if (with_stdin)
      REQUIRE(pipe(fds) == 0);
    std::fflush(nullptr); // else the child's freopen writes our buffered output again
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (chdir(work.c_str()) != 0)
        _exit(126);
      if (with_stdin && (dup2(fds[0], STDIN_FILENO) < 0 || close(fds[1]) != 0))
        _exit(126);
      if (!freopen("stdout.txt", "w", stdout) || !freopen("stderr.txt", "w", stderr))
        _exit(126);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(SLUICE_BINARY, argv.data());
      _exit(127);
    }
    if (with_stdin) {
      close(fds[0]);
      stdin_fd = fds[1];
    }
  }

  void write_stdin(const std::string& text) {
    REQUIRE(stdin_fd >= 0);
    size_t done = 0;
    while (done < text.size()) {
      auto n = ::write(stdin_fd, text.data() + done, text.size() - done);
      REQUIRE(n > 0);
      done += static_cast<size_t>(n);
    }
  }

  void close_stdin() {
    if (stdin_fd >= 0)
      close(stdin_fd);
    stdin_fd = -1;
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
    close_stdin();
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

inline bool eventually(const std::function<bool()>& cond, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

/// A fresh directory under /tmp named after the test.
inline fs::path temp_dir(const std::string& name) {
  std::string tmpl = "/tmp/sluice-" + name + "-XXXXXX";
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

} // namespace sluice::test
