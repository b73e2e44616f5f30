// The Prometheus text exposition of a metrics snapshot (runtime/metrics/
// prometheus.*): exact lines for known numbers, the shape of the format
// (HELP and TYPE once per family, families never split), and promtool's own
// check of a realistic snapshot.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "metrics/prometheus.hpp"
#include "runtime/io/temp_dir.hpp"
#include "runtime/metrics/sample_snapshot.hpp"

using namespace sluice;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  auto lines = lines_of(text);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

/// The sample lines whose metric name is exactly `name`.
std::vector<std::string> samples_of(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  for (auto& line : lines_of(text))
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0)
      out.push_back(line);
  return out;
}

std::string metric_name(const std::string& sample_line) {
  return sample_line.substr(0, sample_line.find_first_of("{ "));
}

} // namespace

// -- numbers and escaping -------------------------------------------------------------

TEST_CASE("numbers are written as plain decimals, never with an exponent or as NaN or Inf",
          "[metrics][prometheus]") {
  CHECK(prometheus_number(0.00005) == "0.00005");
  CHECK(prometheus_number(13.25) == "13.25");
  CHECK(prometheus_number(12) == "12");
  CHECK(prometheus_number(1e21) == "1000000000000000000000");
  CHECK(prometheus_number(-0.5) == "-0.5");
  CHECK(prometheus_number(-0.0) == "0");
  CHECK(prometheus_number(std::nan("")) == "0");
  CHECK(prometheus_number(std::numeric_limits<double>::infinity()) == "0");
  CHECK(prometheus_number(-std::numeric_limits<double>::infinity()) == "0");
}

TEST_CASE("microseconds become exact decimal seconds", "[metrics][prometheus]") {
  CHECK(prometheus_seconds(0) == "0");
  CHECK(prometheus_seconds(50) == "0.00005");
  CHECK(prometheus_seconds(1'500'000) == "1.5");
  CHECK(prometheus_seconds(30'000'000) == "30");
  CHECK(prometheus_seconds(1'700'000'000'000'001) == "1700000000.000001");
  CHECK(prometheus_seconds(-2) == "-0.000002");
  CHECK(prometheus_seconds(std::numeric_limits<int64_t>::min()) == "-9223372036854.775808");
}

TEST_CASE("label values escape backslash, double quote and line feed", "[metrics][prometheus]") {
  CHECK(prometheus_escape_label("plain") == "plain");
  CHECK(prometheus_escape_label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(prometheus_escape_label("tab\tstays") == "tab\tstays");

  auto s = test::sample_snapshot();
  s.pipeline = "we\"ird\\name\nhere";
  auto text = render_prometheus(s);
  CHECK(has_line(text, "sluice_pipeline_records_read_total{pipeline=\"we\\\"ird\\\\name\\nhere\"} 1000"));
  for (auto& line : lines_of(text))
    CHECK(line.find("name\nhere") == std::string::npos);
}

// -- stage families -------------------------------------------------------------------

TEST_CASE("a stage without replica views is one series, replica 0, from its totals",
          "[metrics][prometheus]") {
  auto text = render_prometheus(test::sample_snapshot());
  CHECK(has_line(text, R"(sluice_stage_records_out_total{pipeline="orders",stage="read",replica="0"} 1000)"));
  CHECK(has_line(text, R"(sluice_stage_batches_out_total{pipeline="orders",stage="read",replica="0"} 10)"));
  CHECK(has_line(text, R"(sluice_stage_busy_seconds_total{pipeline="orders",stage="read",replica="0"} 0.25)"));
  CHECK(has_line(text, R"(sluice_stage_in_flight_batches{pipeline="orders",stage="read",replica="0"} 2)"));
  CHECK(has_line(text, R"(sluice_stage_window_batches{pipeline="orders",stage="read",replica="0"} 8)"));
  CHECK(has_line(text, R"(sluice_stage_utilization_ratio{pipeline="orders",stage="read",replica="0"} 0.25)"));
  CHECK(has_line(text, R"(sluice_stage_state{pipeline="orders",stage="read",replica="0",state="running"} 1)"));
}

TEST_CASE("a stage with replica views has one series per replica and none for the stage",
          "[metrics][prometheus]") {
  auto text = render_prometheus(test::sample_snapshot());
  auto out = samples_of(text, "sluice_stage_records_out_total");
  CHECK(out == std::vector<std::string>{
                 R"(sluice_stage_records_out_total{pipeline="orders",stage="read",replica="0"} 1000)",
                 R"(sluice_stage_records_out_total{pipeline="orders",stage="shape",replica="0"} 450)",
                 R"(sluice_stage_records_out_total{pipeline="orders",stage="shape",replica="1"} 451)",
                 R"(sluice_stage_records_out_total{pipeline="orders",stage="write",replica="0"} 0)"});
  CHECK(has_line(text, R"(sluice_stage_records_filtered_total{pipeline="orders",stage="shape",replica="1"} 49)"));
  CHECK(has_line(text, R"(sluice_stage_errors_total{pipeline="orders",stage="shape",replica="1"} 3)"));
  CHECK(has_line(text, R"(sluice_stage_retries_total{pipeline="orders",stage="shape",replica="1"} 2)"));
  CHECK(has_line(text, R"(sluice_stage_busy_seconds_total{pipeline="orders",stage="shape",replica="1"} 1.500001)"));
  CHECK(has_line(text, R"(sluice_stage_mailbox_messages{pipeline="orders",stage="shape",replica="1"} 4)"));
  CHECK(has_line(text, R"(sluice_stage_records_written_total{pipeline="orders",stage="write",replica="0"} 900)"));
}

TEST_CASE("every counter family a stage has is rendered, each ending in _total",
          "[metrics][prometheus]") {
  auto text = render_prometheus(test::sample_snapshot());
  for (auto name : {"sluice_stage_records_in_total", "sluice_stage_records_out_total",
                    "sluice_stage_batches_in_total", "sluice_stage_batches_out_total",
                    "sluice_stage_records_filtered_total", "sluice_stage_records_written_total",
                    "sluice_stage_records_folded_total", "sluice_stage_records_dropped_total",
                    "sluice_stage_records_dead_lettered_total", "sluice_stage_records_failed_total",
                    "sluice_stage_errors_total", "sluice_stage_retries_total",
                    "sluice_stage_restarts_total", "sluice_stage_duplicates_total",
                    "sluice_stage_breaker_opened_total", "sluice_stage_busy_seconds_total"}) {
    INFO(name);
    CHECK(has_line(text, std::string{"# TYPE "} + name + " counter"));
    CHECK(samples_of(text, name).size() == 4); // read, shape x2, write
  }
  for (auto& line : lines_of(text)) {
    if (line.rfind("# TYPE ", 0) != 0 || line.substr(line.rfind(' ') + 1) != "counter")
      continue;
    auto name = line.substr(7, line.rfind(' ') - 7);
    INFO(name);
    CHECK(name.size() > 6);
    CHECK(name.substr(name.size() - 6) == "_total");
  }
}

TEST_CASE("the state is a state set: one series per state, 1 for the current one",
          "[metrics][prometheus]") {
  auto s = test::sample_snapshot();
  auto text = render_prometheus(s);
  std::string base = R"(sluice_stage_state{pipeline="orders",stage="shape",replica="1",state=")";
  for (auto state : {"starting", "running", "failing", "restarting", "done", "failed"}) {
    INFO(state);
    CHECK(has_line(text, base + state + "\"} 0"));
  }
  CHECK(has_line(text, base + "backpressured\"} 1"));
  CHECK(samples_of(text, "sluice_stage_state").size() == 4 * 7);

  SECTION("a state the renderer does not know is added, not lost") {
    s.stages[0].state = "hibernating";
    text = render_prometheus(s);
    CHECK(has_line(text, R"(sluice_stage_state{pipeline="orders",stage="read",replica="0",state="hibernating"} 1)"));
    CHECK(has_line(text, R"(sluice_stage_state{pipeline="orders",stage="read",replica="0",state="running"} 0)"));
  }
}

TEST_CASE("batch durations are a histogram in seconds with cumulative buckets",
          "[metrics][prometheus]") {
  auto text = render_prometheus(test::sample_snapshot());
  std::string p = R"(sluice_stage_batch_duration_seconds_bucket{pipeline="orders",stage="shape",replica="0",le=")";
  // 2 x 40 us, 2 x 400 us, 1 x 40 s (above the last bound)
  CHECK(has_line(text, p + "0.00005\"} 2"));
  CHECK(has_line(text, p + "0.0001\"} 2"));
  CHECK(has_line(text, p + "0.00025\"} 2"));
  CHECK(has_line(text, p + "0.0005\"} 4"));
  CHECK(has_line(text, p + "1\"} 4"));
  CHECK(has_line(text, p + "30\"} 4"));
  CHECK(has_line(text, p + "+Inf\"} 5"));
  CHECK(has_line(text, R"(sluice_stage_batch_duration_seconds_sum{pipeline="orders",stage="shape",replica="0"} 40.00088)"));
  CHECK(has_line(text, R"(sluice_stage_batch_duration_seconds_count{pipeline="orders",stage="shape",replica="0"} 5)"));

  // Buckets never go down, and +Inf equals _count, for every series.
  std::map<std::string, uint64_t> last;
  for (auto& line : samples_of(text, "sluice_stage_batch_duration_seconds_bucket")) {
    auto series = line.substr(0, line.find(",le="));
    auto value = std::stoull(line.substr(line.rfind(' ') + 1));
    CHECK(value >= last[series]);
    last[series] = value;
  }
  CHECK(last.size() == 4);
  CHECK(samples_of(text, "sluice_stage_batch_duration_seconds_bucket").size()
        == 4 * latency_histogram::bucket_count);
}

TEST_CASE("end-to-end latency is rendered for sinks only", "[metrics][prometheus]") {
  auto s = test::sample_snapshot();
  s.stages[1].replicas[0].end_to_end_hist = test::histogram_of({{10, 1}}); // not a sink
  auto text = render_prometheus(s);
  auto buckets = samples_of(text, "sluice_stage_end_to_end_latency_seconds_bucket");
  CHECK(buckets.size() == latency_histogram::bucket_count);
  for (auto& line : buckets)
    CHECK(line.find("stage=\"write\"") != std::string::npos);
  std::string p = R"(sluice_stage_end_to_end_latency_seconds_bucket{pipeline="orders",stage="write",replica="0",le=")";
  // 400 x 3 ms, 500 x 20 ms
  CHECK(has_line(text, p + "0.0025\"} 0"));
  CHECK(has_line(text, p + "0.005\"} 400"));
  CHECK(has_line(text, p + "0.01\"} 400"));
  CHECK(has_line(text, p + "0.025\"} 900"));
  CHECK(has_line(text, p + "+Inf\"} 900"));
  CHECK(has_line(text, R"(sluice_stage_end_to_end_latency_seconds_sum{pipeline="orders",stage="write",replica="0"} 11.2)"));
  CHECK(has_line(text, R"(sluice_stage_end_to_end_latency_seconds_count{pipeline="orders",stage="write",replica="0"} 900)"));
}

TEST_CASE("a non-finite gauge is written as 0", "[metrics][prometheus]") {
  auto s = test::sample_snapshot();
  s.stages[0].utilization = std::numeric_limits<double>::quiet_NaN();
  s.node.cpu_seconds = std::numeric_limits<double>::infinity();
  auto text = render_prometheus(s);
  CHECK(has_line(text, R"(sluice_stage_utilization_ratio{pipeline="orders",stage="read",replica="0"} 0)"));
  CHECK(has_line(text, "process_cpu_seconds_total 0"));
  for (auto& line : lines_of(text)) {
    if (line.rfind("#", 0) == 0)
      continue;
    auto value = line.substr(line.rfind(' ') + 1);
    INFO(line);
    CHECK(value.find_first_not_of("0123456789.-") == std::string::npos);
  }
}

// -- edges, pipeline, node ------------------------------------------------------------

TEST_CASE("edges are series between stage replicas", "[metrics][prometheus]") {
  auto s = test::sample_snapshot();
  s.edges[3].port = "ok";
  auto text = render_prometheus(s);
  CHECK(has_line(text, R"(sluice_edge_records_total{pipeline="orders",from="read",from_replica="0",port="",to="shape",to_replica="1"} 500)"));
  CHECK(has_line(text, R"(sluice_edge_records_total{pipeline="orders",from="shape",from_replica="1",port="ok",to="write",to_replica="0"} 451)"));
  CHECK(has_line(text, R"(sluice_edge_in_flight_batches{pipeline="orders",from="shape",from_replica="0",port="",to="write",to_replica="0"} 1)"));
  CHECK(has_line(text, R"(sluice_edge_window_batches{pipeline="orders",from="shape",from_replica="0",port="",to="write",to_replica="0"} 4)"));
  CHECK(samples_of(text, "sluice_edge_records_total").size() == 4);
}

TEST_CASE("rate limits are series of their own, one per limit", "[metrics][prometheus]") {
  auto s = test::sample_snapshot();
  CHECK(samples_of(render_prometheus(s), "sluice_rate_limit_tokens").empty()); // none declared
  rate_limit_view llm;
  llm.name = "llm";
  llm.rate = 50;
  llm.per_s = 2;
  llm.max_concurrency = 4;
  llm.tokens = -1.5;
  llm.in_use = 3;
  llm.waiting = 7;
  llm.granted = 120;
  llm.wait_s_total = 2.25;
  s.rate_limits.push_back(llm);
  auto text = render_prometheus(s);
  CHECK(has_line(text, R"(sluice_rate_limit_tokens{pipeline="orders",rate_limit="llm"} -1.5)"));
  CHECK(has_line(text, R"(sluice_rate_limit_permits_in_use{pipeline="orders",rate_limit="llm"} 3)"));
  CHECK(has_line(text, R"(sluice_rate_limit_waiting{pipeline="orders",rate_limit="llm"} 7)"));
  CHECK(has_line(text, R"(sluice_rate_limit_rate_per_second{pipeline="orders",rate_limit="llm"} 25)"));
  CHECK(has_line(text, R"(sluice_rate_limit_max_concurrency{pipeline="orders",rate_limit="llm"} 4)"));
  CHECK(has_line(text, R"(sluice_rate_limit_permits_granted_total{pipeline="orders",rate_limit="llm"} 120)"));
  CHECK(has_line(text, R"(sluice_rate_limit_wait_seconds_total{pipeline="orders",rate_limit="llm"} 2.25)"));
  CHECK(has_line(text, "# TYPE sluice_rate_limit_permits_granted_total counter"));
  auto back = snapshot_from_json(to_json(s));
  REQUIRE(back.rate_limits.size() == 1);
  CHECK(back.rate_limits[0].name == "llm");
  CHECK(back.rate_limits[0].tokens == -1.5);
  CHECK(back.rate_limits[0].waiting == 7);
}

TEST_CASE("the pipeline and the process have their own series", "[metrics][prometheus]") {
  auto text = render_prometheus(test::sample_snapshot());
  CHECK(has_line(text, R"(sluice_pipeline_records_read_total{pipeline="orders"} 1000)"));
  CHECK(has_line(text, R"(sluice_pipeline_records_in_flight{pipeline="orders"} 100)"));
  CHECK(has_line(text, R"(sluice_pipeline_info{pipeline="orders",status="running"} 1)"));
  CHECK(has_line(text, R"(sluice_pipeline_start_time_seconds{pipeline="orders"} 1700000000)"));
  CHECK(has_line(text, "# TYPE process_cpu_seconds_total counter"));
  CHECK(has_line(text, "process_cpu_seconds_total 3.5"));
  CHECK(has_line(text, "process_resident_memory_bytes 52428800"));
  // taken 1700000012.5 s, up for 13.25 s
  CHECK(has_line(text, "process_start_time_seconds 1699999999.25"));
  CHECK(has_line(text, "sluice_node_uptime_seconds 13.25"));
  CHECK(has_line(text, "sluice_node_actors 17"));
  CHECK(has_line(text, "sluice_node_scheduler_threads 4"));
}

// -- the format's shape ---------------------------------------------------------------

TEST_CASE("each family has one HELP and one TYPE line before its samples and is never split",
          "[metrics][prometheus]") {
  auto text = render_prometheus(test::sample_snapshot());
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  std::map<std::string, std::string> types;
  std::map<std::string, int> helps;
  std::set<std::string> finished;
  std::string current;
  for (auto& line : lines_of(text)) {
    INFO(line);
    REQUIRE(!line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      auto name = line.substr(7, line.find(' ', 7) - 7);
      CHECK(++helps[name] == 1);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      auto name = line.substr(7, line.find(' ', 7) - 7);
      CHECK(helps[name] == 1); // HELP first
      CHECK(types.emplace(name, line.substr(line.rfind(' ') + 1)).second);
      if (!current.empty())
        finished.insert(current);
      CHECK(finished.count(name) == 0);
      current = name;
      continue;
    }
    auto name = metric_name(line);
    if (types[current] == "histogram") {
      for (auto suffix : {"_bucket", "_sum", "_count"})
        if (name == current + suffix)
          name = current;
    }
    CHECK(name == current); // a sample of the family whose TYPE came last
  }
  CHECK(helps.size() == types.size());
  CHECK(types.size() == 16 + 6 + 5 + 2 + 3 + 4 + 6); // 6: the calling stages' families
  CHECK(types["sluice_stage_state"] == "gauge");
  CHECK(types["sluice_stage_batch_duration_seconds"] == "histogram");
  CHECK(types["sluice_pipeline_info"] == "gauge");
}

TEST_CASE("an empty snapshot leaves out the stage and edge families", "[metrics][prometheus]") {
  metrics_snapshot s;
  s.pipeline = "empty";
  auto text = render_prometheus(s);
  CHECK(text.find("sluice_stage_") == std::string::npos);
  CHECK(text.find("sluice_edge_") == std::string::npos);
  CHECK(has_line(text, R"(sluice_pipeline_info{pipeline="empty",status="starting"} 1)"));
  CHECK(has_line(text, "sluice_node_actors 0"));
}

TEST_CASE("promtool accepts the exposition of a realistic snapshot without lint",
          "[metrics][prometheus][promtool]") {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    FAIL("promtool is not installed: install the Debian package 'prometheus' "
         "(apt-get install prometheus), which provides /usr/bin/promtool");
  test::temp_dir dir;
  auto in = dir.write("metrics.prom", render_prometheus(test::sample_snapshot()));
  auto out = dir / "promtool.out";
  auto command = "promtool check metrics < '" + in + "' > '" + out + "' 2>&1";
  int rc = std::system(command.c_str());
  auto report = dir.read("promtool.out");
  INFO("promtool said: " << report);
  REQUIRE(WIFEXITED(rc));
  CHECK(WEXITSTATUS(rc) == 0);
  CHECK(report.empty());
}
