// The shipped support-tickets example (configs/examples/tickets.json), run
// by the real binary as a user would: with the mock provider, then switched
// to `openai` against the local fake OpenAI endpoint, and without a key.
// The CRM it enriches from is the local HTTP test server too.

#include <cstdlib>
#include <map>
#include <set>

#include "sluice_process.hpp"
#include "support/http_test_server.hpp"

using namespace sluice::test;
using json = nlohmann::json;

namespace {

/// A copy of the example's folder (config and data, no earlier outputs).
fs::path example_copy(const std::string& name) {
  auto dir = temp_dir(name);
  fs::path src = fs::path{SLUICE_SOURCE_DIR} / "configs" / "examples";
  fs::copy_file(src / "tickets.json", dir / "tickets.json");
  fs::create_directories(dir / "data");
  fs::copy_file(src / "data" / "tickets.jsonl", dir / "data" / "tickets.jsonl");
  return dir;
}

std::vector<json> jsonl(const fs::path& p) {
  std::vector<json> out;
  std::stringstream in{slurp(p)};
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(json::parse(line));
  return out;
}

/// Runs the example in `dir`; returns its exit code.
int run_example(const fs::path& dir) {
  sluice_process run{dir, "tickets.json"};
  return run.wait_exit(std::chrono::seconds(60));
}

void check_outputs(const fs::path& dir) {
  auto summary = json::parse(slurp(dir / "summary.json"));
  INFO(summary.dump(2));
  CHECK(summary["status"] == "ok");
  CHECK(summary["conservation"]["ok"] == true);
  CHECK(summary["totals"]["read"] == 12);
  CHECK(summary["totals"]["written"] == 11);
  CHECK(summary["totals"]["dead_lettered"] == 1); // T-1010 has no subject
  // The three outages are high and enriched with their customer.
  std::set<std::string> urgent;
  for (auto& t : jsonl(dir / "out" / "urgent.jsonl")) {
    urgent.insert(t["ticket"].get<std::string>());
    CHECK(t["priority"] == "high");
    CHECK(t["customer"]["id"] == t["customer_id"]);
    CHECK(t["customer"]["tier"].is_string());
  }
  CHECK(urgent == std::set<std::string>{"T-1001", "T-1004", "T-1008"});
  std::map<std::string, std::string> queued;
  for (auto& t : jsonl(dir / "out" / "queue.jsonl")) {
    queued[t["ticket"].get<std::string>()] = t["priority"].get<std::string>();
    CHECK_FALSE(t.contains("customer"));
  }
  CHECK(queued == std::map<std::string, std::string>{
                    {"T-1002", "medium"}, {"T-1003", "low"}, {"T-1005", "low"},
                    {"T-1006", "medium"}, {"T-1007", "low"}, {"T-1009", "low"},
                    {"T-1011", "medium"}, {"T-1012", "low"}});
  // Both calling stages report their calls; classify its tokens and cost.
  for (auto& row : summary["stages"]) {
    if (row["id"] == "triage") {
      CHECK(row["calls"] == 3); // 11 tickets, 4 per request
      CHECK(row["prompt_tokens"].get<uint64_t>() > 0);
      CHECK(row["completion_tokens"] == 55); // 5 per label
      CHECK(row["cost_usd"].get<double>() > 0);
    }
    if (row["id"] == "enrich")
      CHECK(row["calls"] == 3);
  }
  CHECK_THAT(slurp(dir / "stderr.txt"), Catch::Contains("calls: triage: 3 calls (0 failed)"));
}

} // namespace

TEST_CASE("the tickets example classifies with the mock and enriches the urgent ones",
          "[e2e][calls]") {
  sluice::testing::http_test_server crm;
  auto dir = example_copy("tickets-mock");
  setenv("SLUICE_CRM_URL", crm.base_url().c_str(), 1);
  unsetenv("SLUICE_CLASSIFY_PROVIDER");
  REQUIRE(run_example(dir) == 0);
  check_outputs(dir);
  CHECK(crm.count("/customers/") == 3);
  CHECK(crm.count("/v1/") == 0); // the mock calls nothing
  fs::remove_all(dir);
}

TEST_CASE("the tickets example switched to openai asks the model endpoint",
          "[e2e][calls]") {
  sluice::testing::http_test_server services;
  auto dir = example_copy("tickets-openai");
  setenv("SLUICE_CRM_URL", services.base_url().c_str(), 1);
  setenv("SLUICE_CLASSIFY_PROVIDER", "openai", 1);
  setenv("OPENAI_BASE_URL", (services.base_url() + "/v1").c_str(), 1);
  setenv("OPENAI_API_KEY", "sk-e2e-secret", 1);
  auto code = run_example(dir);
  unsetenv("SLUICE_CLASSIFY_PROVIDER");
  unsetenv("OPENAI_BASE_URL");
  unsetenv("OPENAI_API_KEY");
  REQUIRE(code == 0);
  check_outputs(dir);
  CHECK(services.count("/v1/chat/completions") == 3);
  CHECK(services.count("/customers/") == 3);
  CHECK(slurp(dir / "stderr.txt").find("sk-e2e-secret") == std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("the tickets example switched to openai without a key does not start",
          "[e2e][calls]") {
  auto dir = example_copy("tickets-nokey");
  setenv("SLUICE_CLASSIFY_PROVIDER", "openai", 1);
  unsetenv("OPENAI_API_KEY");
  auto code = run_example(dir);
  unsetenv("SLUICE_CLASSIFY_PROVIDER");
  CHECK(code == 1);
  auto err = slurp(dir / "stderr.txt");
  CHECK_THAT(err, Catch::Contains("OPENAI_API_KEY is not set"));
  CHECK_THAT(err, Catch::Contains("/stages/2/params/openai/api_key_env"));
  CHECK_FALSE(fs::exists(dir / "out" / "urgent.jsonl"));
  fs::remove_all(dir);
}
