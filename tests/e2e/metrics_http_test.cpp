// The metrics a running `sluice run` serves, read as Prometheus and a
// script would: over HTTP from another process, while records flow.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <regex>

#include "sluice_process.hpp"

using namespace sluice::test;

namespace {

struct http_reply {
  int status = 0;
  std::string head;
  std::string body;
};

/// One HTTP/1.1 request on a fresh connection to 127.0.0.1:port.
http_reply http(uint16_t port, const std::string& method, const std::string& target) {
  http_reply out;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return out;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  REQUIRE(send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  std::string all;
  char buf[8192];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
    all.append(buf, static_cast<size_t>(n));
  close(fd);
  auto split = all.find("\r\n\r\n");
  if (split == std::string::npos)
    return out;
  out.head = all.substr(0, split);
  out.body = all.substr(split + 4);
  std::sscanf(out.head.c_str(), "HTTP/1.1 %d", &out.status);
  return out;
}

/// The port a run announced for its HTTP endpoint ("metrics on http://H:P/metrics").
uint16_t announced_http_port(const fs::path& dir) {
  static const std::regex re{R"(metrics on http://127\.0\.0\.1:(\d+)/metrics)"};
  std::smatch m;
  auto text = slurp(dir / "stderr.txt");
  if (!std::regex_search(text, m, re))
    return 0;
  return static_cast<uint16_t>(std::stoi(m[1].str()));
}

/// The sum of every series of `family` whose labels contain `labels`.
double sum_series(const std::string& exposition, const std::string& family,
                  const std::string& labels) {
  double sum = 0;
  std::stringstream in{exposition};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(family + "{", 0) != 0 || line.find(labels) == std::string::npos)
      continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

const json* find_stage(const json& stages, const std::string& id) {
  for (auto& s : stages)
    if (s.value("id", std::string{}) == id)
      return &s;
  return nullptr;
}

const char* known_counts = R"({
  "name": "known",
  "defaults": {"batch_size": 64, "linger_ms": 5},
  "metrics": {"interval_ms": 100, "http": "127.0.0.1:0", "console": false},
  "stages": [
    {"id": "read", "type": "source.file", "params": {"path": "-", "format": "jsonl"}},
    {"id": "small", "type": "filter", "inputs": ["read"], "parallelism": 2,
     "params": {"when": ".n <= 300"}},
    {"id": "out", "type": "sink.file", "inputs": ["small"], "params": {"path": "out.jsonl"}}
  ]
})";

} // namespace

SCENARIO("the HTTP endpoint of a running pipeline serves its known counts", "[e2e][metrics]") {
  auto dir = temp_dir("metrics-http");
  { std::ofstream{dir / "pipeline.json"} << known_counts; }
  GIVEN("a run reading stdin, fed 1,000 records and kept open") {
    sluice_process run{dir, "pipeline.json", {}, true};
    uint16_t port = 0;
    REQUIRE(eventually([&] { return (port = announced_http_port(dir)) != 0; },
                       std::chrono::seconds(20)));
    std::string lines;
    for (int n = 1; n <= 1000; ++n)
      lines += "{\"n\":" + std::to_string(n) + "}\n";
    run.write_stdin(lines);

    WHEN("the counts have settled") {
      json stages;
      bool settled = eventually(
        [&] {
          auto r = http(port, "GET", "/api/v1/stages");
          if (r.status != 200)
            return false;
          stages = json::parse(r.body, nullptr, false);
          auto* out = find_stage(stages, "out");
          return out && (*out)["totals"].value("written", 0) == 300;
        },
        std::chrono::seconds(20));
      INFO(stages.dump(1));
      REQUIRE(settled);
      THEN("/api/v1/stages has each stage's exact totals and replicas") {
        auto* small = find_stage(stages, "small");
        REQUIRE(small != nullptr);
        CHECK((*small)["totals"]["records_in"] == 1000);
        CHECK((*small)["totals"]["filtered"] == 700);
        CHECK((*small)["totals"]["records_out"] == 300);
        CHECK((*small)["replicas"].size() == 2);
        CHECK((*small)["parallelism"] == 2);
        CHECK((*small)["state"] == "running");
        auto* read = find_stage(stages, "read");
        REQUIRE(read != nullptr);
        CHECK((*read)["role"] == "source");
        CHECK((*read)["totals"]["records_in"] == 1000);
      }
      THEN("/api/v1/pipeline says the run is running with nothing in flight") {
        auto r = http(port, "GET", "/api/v1/pipeline");
        REQUIRE(r.status == 200);
        CHECK(r.head.find("application/json") != std::string::npos);
        auto p = json::parse(r.body);
        CHECK(p["pipeline"] == "known");
        CHECK(p["status"] == "running");
        CHECK(p["records_read"] == 1000);
        CHECK(p["in_flight"] == 0);
        CHECK(p["node"]["pid"] == run.pid);
        bool started = false;
        for (auto& e : p["events"])
          started = started || e["kind"] == "pipeline_started";
        CHECK(started);
      }
      THEN("/metrics has the same counts and passes promtool check metrics") {
        auto r = http(port, "GET", "/metrics");
        REQUIRE(r.status == 200);
        CHECK(r.head.find("text/plain; version=0.0.4") != std::string::npos);
        CHECK(sum_series(r.body, "sluice_stage_records_filtered_total",
                         "pipeline=\"known\",stage=\"small\"") == 700);
        CHECK(sum_series(r.body, "sluice_stage_records_written_total", "stage=\"out\"") == 300);
        CHECK(sum_series(r.body, "sluice_stage_end_to_end_latency_seconds_count",
                         "stage=\"out\"") == 300);
        CHECK(sum_series(r.body, "sluice_pipeline_records_read_total", "pipeline=\"known\"")
              == 1000);
        { std::ofstream{dir / "scrape.txt"} << r.body; }
        auto cmd = "promtool check metrics < '" + (dir / "scrape.txt").string() + "' > '"
                   + (dir / "promtool.txt").string() + "' 2>&1";
        int rc = std::system(cmd.c_str());
        INFO("promtool said: " << slurp(dir / "promtool.txt")
             << " (promtool comes with the Debian package prometheus)");
        CHECK(rc == 0);
        CHECK(slurp(dir / "promtool.txt").empty());
      }
      THEN("/healthz is ok and wrong requests get 4xx, not a crash") {
        auto h = http(port, "GET", "/healthz");
        CHECK(h.status == 200);
        CHECK(json::parse(h.body)["run_status"] == "running");
        CHECK(http(port, "GET", "/nope").status == 404);
        CHECK(http(port, "DELETE", "/metrics").status == 405);
        CHECK(http(port, "GET", "/api/v1/stages/nope").status == 404);
        CHECK(http(port, "GET", "/metrics").status == 200);
      }
      AND_WHEN("stdin ends") {
        run.close_stdin();
        THEN("the run ends ok with the same counts in its summary") {
          REQUIRE(run.wait_exit(std::chrono::seconds(30)) == 0);
          auto summary = json::parse(slurp(dir / "summary.json"));
          CHECK(summary["totals"]["read"] == 1000);
          CHECK(summary["totals"]["written"] == 300);
          CHECK(lines_in(dir / "out.jsonl") == 300);
        }
      }
    }
  }
  fs::remove_all(dir);
}

SCENARIO("a metrics address that cannot be used refuses the run before it starts",
         "[e2e][metrics]") {
  auto dir = temp_dir("metrics-refused");
  { std::ofstream{dir / "pipeline.json"} << known_counts; }
  WHEN("the port is taken") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    auto taken = std::to_string(ntohs(addr.sin_port));
    sluice_process run{dir, "pipeline.json", {"--metrics-addr", "127.0.0.1:" + taken}, true};
    THEN("it exits 1 naming the address, and writes nothing") {
      CHECK(run.wait_exit(std::chrono::seconds(20)) == 1);
      auto err = slurp(dir / "stderr.txt");
      CHECK(err.find("127.0.0.1:" + taken) != std::string::npos);
      CHECK(err.find("nothing was run") != std::string::npos);
      CHECK_FALSE(fs::exists(dir / "out.jsonl"));
    }
    close(fd);
  }
  WHEN("the address is malformed") {
    sluice_process run{dir, "pipeline.json", {"--metrics-addr", "127.0.0.1:http"}, true};
    THEN("it exits 2 and says what is wrong with it") {
      CHECK(run.wait_exit(std::chrono::seconds(20)) == 2);
      CHECK(slurp(dir / "stderr.txt")
            == "sluice run: --metrics-addr: '127.0.0.1:http' is not a listen address: the port "
               "'http' is not a number (expected HOST:PORT, e.g. 127.0.0.1:9464, or a port)\n");
    }
  }
  WHEN("an explicit console address is taken") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    auto taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    sluice_process run{dir, "pipeline.json", {"--console-addr", taken}, true};
    THEN("it exits 1 and says how to choose another") {
      CHECK(run.wait_exit(std::chrono::seconds(20)) == 1);
      auto err = slurp(dir / "stderr.txt");
      CHECK(err.find("cannot open the console at " + taken) != std::string::npos);
      CHECK(err.find("--console-addr off") != std::string::npos);
    }
    close(fd);
  }
  fs::remove_all(dir);
}
