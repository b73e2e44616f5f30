// The `classify` stage kind (runtime/ops/classify.hpp): its params, its mock
// provider, and its OpenAI provider against the fake chat endpoint of
// tests/support's HTTP server. Each test drives the operator as the stage
// actor does: start, launch, wait for `done`, read, complete per record.

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/call.hpp"
#include "ops/registry.hpp"
#include "support/http_test_server.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using sluice::test::make_record;
using sluice::test::recording_emitter;

namespace {

// A `classify` stage (stage 1) built through the registry as the loader builds it.
struct classify_stage {
  stage_spec spec;
  diagnostics diags{"test.json"};
  op_ptr op;
  calling_op* calls = nullptr;

  explicit classify_stage(const json& params) {
    spec.id = "triage";
    spec.type = "classify";
    spec.index = 1;
    spec.json_path = "/stages/1";
    spec.params = params;
    spec.params_ordered = nlohmann::ordered_json::parse(params.dump());
    auto kind = stage_registry::instance().find("classify");
    REQUIRE(kind != nullptr);
    params_reader p{spec.params, "/stages/1/params", spec.type, diags, &spec.params_ordered};
    op = kind->make_op(spec, p);
    calls = dynamic_cast<calling_op*>(op.get());
    CHECK((op == nullptr) == diags.has_errors());
  }
};

// The diagnostics of a classify stage with these params ("" when accepted).
std::string config_errors(const json& params) {
  classify_stage s{params};
  return s.diags.render();
}

struct finished_call {
  net::http_response response;
  std::thread::id done_thread;
  std::chrono::steady_clock::duration took{};
  std::unique_ptr<call_answer> answer;
  recording_emitter out;
};

// One call as the stage actor makes it: launch, wait (with a deadline) for
// `done`, read, then complete every record.
finished_call run_call(calling_op& op, std::vector<record> recs) {
  finished_call c;
  auto promise = std::make_shared<std::promise<std::pair<net::http_response, std::thread::id>>>();
  auto future = promise->get_future();
  auto began = std::chrono::steady_clock::now();
  op.launch(recs, [promise](net::http_response res) {
    promise->set_value({std::move(res), std::this_thread::get_id()});
  });
  REQUIRE(future.wait_for(20s) == std::future_status::ready);
  c.took = std::chrono::steady_clock::now() - began;
  auto [res, thread] = future.get();
  c.done_thread = thread;
  c.response = res;
  c.answer = op.read(recs, std::move(res));
  REQUIRE(c.answer != nullptr);
  for (size_t i = 0; i < recs.size(); ++i)
    op.complete(std::move(recs[i]), i, *c.answer, c.out);
  return c;
}

std::vector<record> tickets(const std::vector<std::string>& subjects) {
  std::vector<record> out;
  for (size_t i = 0; i < subjects.size(); ++i)
    out.push_back(make_record({{"id", i + 1}, {"subject", subjects[i]}}, i + 1));
  return out;
}

json mock_params() {
  return {{"provider", "mock"},
          {"labels", {"high", "medium", "low"}},
          {"text", ".subject"},
          {"mock", {{"rules", {{{"when", "\"outage\" in lower(.subject)"}, {"label", "high"}},
                               {{"when", "\"refund\" in lower(.subject)"}, {"label", "medium"}}}},
                    {"default", "low"}}}};
}

json openai_params(const std::string& base_url, const std::string& key_env) {
  return {{"provider", "openai"},
          {"labels", {"high", "medium", "low"}},
          {"text", ".subject"},
          {"into", "triage.priority"},
          {"price_per_1k_tokens", {{"prompt", 0.5}, {"completion", 2.0}}},
          {"openai", {{"base_url", base_url}, {"model", "gpt-test"}, {"api_key_env", key_env}}}};
}

constexpr const char* test_key = "sk-test-do-not-print-0123456789";

// A key in an environment variable of the test's own, set for the test.
struct key_env {
  std::string name;
  explicit key_env(std::string n, const char* value = test_key) : name(std::move(n)) {
    ::setenv(name.c_str(), value, 1);
  }
  ~key_env() { ::unsetenv(name.c_str()); }
};

std::vector<std::string> labels_of(const recording_emitter& out, const char* field) {
  std::vector<std::string> labels;
  for (auto& c : out.contents())
    labels.push_back(c.at("triage").at(field).get<std::string>());
  return labels;
}

} // namespace

TEST_CASE("the classify kind is a calling parallel transform", "[ops][classify]") {
  auto kind = stage_registry::instance().find("classify");
  REQUIRE(kind != nullptr);
  CHECK(kind->role == stage_role::transform);
  CHECK(kind->calls);
  CHECK(kind->allows_parallelism);
  CHECK_FALSE(kind->summary.empty());
  classify_stage s{mock_params()};
  REQUIRE(s.calls != nullptr);
  CHECK(s.calls->records_per_call() == 20);
  CHECK(s.calls->max_in_flight() == 4);
}

// -- the mock provider --------------------------------------------------------------

SCENARIO("a mock classifier labels by its rules, the first match winning", "[ops][classify]") {
  GIVEN("rules for outages and refunds and a default") {
    auto params = mock_params();
    params["price_per_1k_tokens"] = {{"prompt", 1.0}, {"completion", 10.0}};
    classify_stage s{params};
    INFO(s.diags.render());
    REQUIRE(s.calls != nullptr);
    REQUIRE(s.calls->start());
    WHEN("a call carries four tickets") {
      auto subjects = std::vector<std::string>{"Outage in EU", "refund please",
                                               "outage and refund", "hello"};
      auto first = run_call(*s.calls, tickets(subjects));
      auto second = run_call(*s.calls, tickets(subjects));
      THEN("each gets the label of its first matching rule, at `label`") {
        REQUIRE(first.out.emitted.size() == 4);
        CHECK(first.out.failed.empty());
        std::vector<std::string> got;
        for (auto& c : first.out.contents())
          got.push_back(c.at("label").get<std::string>());
        CHECK(got == std::vector<std::string>{"high", "medium", "high", "low"});
        CHECK(first.out.contents()[0].at("subject") == "Outage in EU");
      }
      THEN("usage is estimated the same way every time and priced") {
        REQUIRE_FALSE(first.answer->failure);
        CHECK(first.answer->completion_tokens == 4 * 5);
        CHECK(first.answer->prompt_tokens > 0);
        CHECK(first.answer->prompt_tokens == second.answer->prompt_tokens);
        CHECK(first.answer->completion_tokens == second.answer->completion_tokens);
        CHECK(first.answer->cost_usd
              == Approx(first.answer->prompt_tokens / 1000.0 * 1.0 + 20 / 1000.0 * 10.0));
        CHECK(first.out.contents() == second.out.contents());
      }
      THEN("the answer has the shape of an OpenAI chat completion") {
        auto body = json::parse(first.response.body);
        auto content = json::parse(body["choices"][0]["message"]["content"].get<std::string>());
        CHECK(content["labels"][1] == json{{"n", 2}, {"label", "medium"}});
        CHECK(body["usage"]["completion_tokens"] == 20);
      }
    }
  }
}

TEST_CASE("a mock answers through the client's timer, never inside launch", "[ops][classify]") {
  for (int latency : {0, 150}) {
    auto params = mock_params();
    params["mock"]["latency_ms"] = latency;
    classify_stage s{params};
    REQUIRE(s.calls != nullptr);
    auto call = run_call(*s.calls, tickets({"outage"}));
    CHECK(call.done_thread != std::this_thread::get_id());
    // A timer never fires early: a lower bound, not a speed assertion.
    CHECK(call.took >= std::chrono::milliseconds{latency});
    CHECK(call.out.contents().at(0).at("label") == "high");
  }
}

TEST_CASE("a mock rule that fails on a record fails only that record", "[ops][classify]") {
  classify_stage s{mock_params()};
  REQUIRE(s.calls != nullptr);
  std::vector<record> recs = tickets({"outage", "refund"});
  recs.insert(recs.begin() + 1, make_record({{"id", 9}, {"subject", 42}}, 9)); // lower(42) fails
  auto call = run_call(*s.calls, std::move(recs));
  REQUIRE_FALSE(call.answer->failure);
  REQUIRE(call.out.failed.size() == 1);
  CHECK(call.out.failed[0].rec.content().at("id") == 9);
  CHECK(call.out.failed[0].err.code == errc::type_error);
  CHECK_THAT(call.out.failed[0].err.message, Catch::Contains("mock rule 1"));
  REQUIRE(call.out.emitted.size() == 2);
  CHECK(call.out.contents()[0].at("label") == "high");
  CHECK(call.out.contents()[1].at("label") == "medium");
  CHECK(call.answer->completion_tokens == 2 * 5); // only the two it labelled
}

TEST_CASE("a label that cannot be set at into fails only its record", "[ops][classify]") {
  auto params = mock_params();
  params["into"] = "meta.label";
  classify_stage s{params};
  REQUIRE(s.calls != nullptr);
  std::vector<record> recs;
  recs.push_back(make_record({{"subject", "outage"}, {"meta", "a string"}}, 1));
  recs.push_back(make_record({{"subject", "refund"}}, 2));
  auto call = run_call(*s.calls, std::move(recs));
  REQUIRE(call.out.failed.size() == 1);
  CHECK(call.out.failed[0].err.code == errc::type_error);
  CHECK_THAT(call.out.failed[0].err.message, Catch::StartsWith("classify: into "));
  CHECK(call.out.failed[0].rec.content() == json{{"subject", "outage"}, {"meta", "a string"}});
  REQUIRE(call.out.emitted.size() == 1);
  CHECK(call.out.contents()[0].at("meta").at("label") == "medium");
}

// -- the openai provider against the fake chat endpoint ------------------------------

SCENARIO("an OpenAI classifier labels a batch in one request", "[ops][classify][http]") {
  testing::http_test_server server;
  key_env key{"SLUICE_TEST_CLASSIFY_KEY_1"};
  GIVEN("a batch of five tickets, one of them with a line break") {
    classify_stage s{openai_params(server.base_url() + "/v1/", key.name)};
    INFO(s.diags.render());
    REQUIRE(s.calls != nullptr);
    REQUIRE(s.calls->start());
    auto call = run_call(*s.calls, tickets({"Site is DOWN", "refund for order 7", "hello",
                                            "payment outage", "thanks\nbye"}));
    THEN("every record gets its label at the `into` path") {
      INFO(call.response.body);
      REQUIRE_FALSE(call.answer->failure);
      CHECK(call.out.failed.empty());
      CHECK(labels_of(call.out, "priority")
            == std::vector<std::string>{"high", "medium", "low", "high", "low"});
    }
    THEN("the usage and its cost are counted") {
      auto usage = json::parse(call.response.body)["usage"];
      CHECK(call.answer->prompt_tokens == usage["prompt_tokens"].get<uint64_t>());
      CHECK(call.answer->completion_tokens == 5 * 5);
      CHECK(call.answer->cost_usd
            == Approx(call.answer->prompt_tokens / 1000.0 * 0.5 + 25 / 1000.0 * 2.0));
    }
    THEN("one request asked for JSON with the numbered lines") {
      auto bodies = server.bodies("/v1/chat/completions");
      REQUIRE(bodies.size() == 1);
      auto req = json::parse(bodies[0]);
      CHECK(req["model"] == "gpt-test");
      CHECK(req["temperature"] == 0);
      CHECK(req["response_format"] == json{{"type", "json_object"}});
      REQUIRE(req["messages"].size() == 2);
      CHECK(req["messages"][0]["role"] == "system");
      CHECK_THAT(req["messages"][0]["content"].get<std::string>(),
                 Catch::Contains(R"({"labels":[{"n":<number>,"label":"<one of the labels>"}]})")
                   && Catch::Contains("high, medium, low"));
      CHECK(req["messages"][1]["content"]
            == "1: Site is DOWN\n2: refund for order 7\n3: hello\n4: payment outage\n5: thanks bye");
    }
  }
}

TEST_CASE("a label outside the set fails only its record", "[ops][classify][http]") {
  testing::http_test_server server;
  key_env key{"SLUICE_TEST_CLASSIFY_KEY_2"};
  classify_stage s{openai_params(server.base_url() + "/v1", key.name)};
  REQUIRE(s.calls != nullptr);
  REQUIRE(s.calls->start());
  auto call = run_call(*s.calls, tickets({"outage", "refund", "something weird", "hi"}));
  REQUIRE_FALSE(call.answer->failure);
  REQUIRE(call.out.failed.size() == 1);
  CHECK(call.out.failed[0].err.code == errc::parse_error);
  CHECK(call.out.failed[0].err.message
        == "classify: the model answered 'urgent-ish' for record 3, which is not one of high, medium, low");
  CHECK(call.out.failed[0].rec.content().at("subject") == "something weird");
  CHECK_FALSE(call.out.failed[0].rec.content().contains("triage"));
  CHECK(labels_of(call.out, "priority") == std::vector<std::string>{"high", "medium", "low"});
}

TEST_CASE("an answer whose content is not JSON fails the whole call", "[ops][classify][http]") {
  testing::http_test_server server;
  key_env key{"SLUICE_TEST_CLASSIFY_KEY_3"};
  classify_stage s{openai_params(server.base_url() + "/v1", key.name)};
  REQUIRE(s.calls != nullptr);
  REQUIRE(s.calls->start());
  auto call = run_call(*s.calls, tickets({"outage", "garbage in, garbage out"}));
  REQUIRE(call.answer->failure);
  CHECK(call.answer->failure->code == errc::parse_error);
  CHECK_THAT(call.answer->failure->message, Catch::Contains("not a JSON object: I cannot do that"));
  CHECK(call.answer->completion_tokens == 10); // paid for all the same
  CHECK(call.out.emitted.empty());
  CHECK(call.out.failed.size() == 2);
}

TEST_CASE("a record with a null text fails alone and is not sent", "[ops][classify][http]") {
  testing::http_test_server server;
  key_env key{"SLUICE_TEST_CLASSIFY_KEY_4"};
  classify_stage s{openai_params(server.base_url() + "/v1", key.name)};
  REQUIRE(s.calls != nullptr);
  REQUIRE(s.calls->start());
  std::vector<record> recs = tickets({"outage", "refund"});
  recs.insert(recs.begin(), make_record({{"id", 7}}, 7)); // no subject
  auto call = run_call(*s.calls, std::move(recs));
  REQUIRE_FALSE(call.answer->failure);
  REQUIRE(call.out.failed.size() == 1);
  CHECK(call.out.failed[0].err.code == errc::type_error);
  CHECK(call.out.failed[0].err.message == "classify: text (.subject) is null or missing");
  CHECK(labels_of(call.out, "priority") == std::vector<std::string>{"high", "medium"});
  auto bodies = server.bodies("/v1/chat/completions");
  REQUIRE(bodies.size() == 1);
  CHECK(json::parse(bodies[0])["messages"][1]["content"] == "2: outage\n3: refund");

  WHEN("no record of a call has a text, nothing is asked") {
    auto none = run_call(*s.calls, {make_record({{"id", 1}}, 1), make_record({{"id", 2}}, 2)});
    CHECK_FALSE(none.answer->failure);
    CHECK(none.out.failed.size() == 2);
    CHECK(none.answer->prompt_tokens == 0);
    CHECK(server.count("/v1/chat/completions") == 1);
  }
}

TEST_CASE("a classify stage without its API key variable does not start", "[ops][classify]") {
  key_env other{"SLUICE_TEST_CLASSIFY_OTHER", test_key};
  auto params = openai_params("http://127.0.0.1:9/v1", "SLUICE_TEST_CLASSIFY_UNSET");
  ::unsetenv("SLUICE_TEST_CLASSIFY_UNSET");
  classify_stage s{params};
  REQUIRE(s.calls != nullptr); // validation does not need the key
  auto st = s.calls->start();
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::invalid_config);
  CHECK_THAT(st.err().message, Catch::Contains("SLUICE_TEST_CLASSIFY_UNSET")
                                 && Catch::Contains("/stages/1/params/openai/api_key_env"));
  CHECK_THAT(st.err().message, !Catch::Contains(test_key));
}

TEST_CASE("an empty API key sends no Authorization and a 401 is permanent", "[ops][classify][http]") {
  testing::http_test_server server;
  key_env key{"SLUICE_TEST_CLASSIFY_EMPTY", ""};
  classify_stage s{openai_params(server.base_url() + "/v1", key.name)};
  REQUIRE(s.calls != nullptr);
  REQUIRE(s.calls->start());
  auto call = run_call(*s.calls, tickets({"outage"}));
  REQUIRE(call.answer->failure);
  CHECK(call.answer->failure->code == errc::runtime_error);
  CHECK_THAT(call.answer->failure->message, Catch::Contains("HTTP 401") && Catch::Contains("missing key"));
  REQUIRE(call.out.failed.size() == 1);
}

TEST_CASE("a busy or failing model endpoint is transient", "[ops][classify][http]") {
  testing::http_test_server server;
  key_env key{"SLUICE_TEST_CLASSIFY_KEY_5"};
  SECTION("500") {
    classify_stage s{openai_params(server.base_url() + "/v1?status=500", key.name)};
    REQUIRE(s.calls != nullptr);
    REQUIRE(s.calls->start());
    auto call = run_call(*s.calls, tickets({"outage", "refund"}));
    REQUIRE(call.answer->failure);
    CHECK(call.answer->failure->code == errc::transient);
    CHECK_THAT(call.answer->failure->message,
               Catch::StartsWith("classify: POST http://127.0.0.1:" + std::to_string(server.port())
                                 + "/v1/chat/completions: HTTP 500"));
    CHECK_THAT(call.answer->failure->message, !Catch::Contains(test_key) && !Catch::Contains("status="));
    CHECK(call.out.failed.size() == 2);
    CHECK(server.count("/v1/chat/completions") == 1); // the query stayed after the path
  }
  SECTION("429 with Retry-After") {
    classify_stage s{openai_params(server.base_url() + "/v1?retry429_every=1", key.name)};
    REQUIRE(s.calls != nullptr);
    REQUIRE(s.calls->start());
    auto call = run_call(*s.calls, tickets({"outage"}));
    REQUIRE(call.answer->failure);
    CHECK(call.answer->failure->code == errc::transient);
    CHECK(call.answer->failure->retry_after_ms == 1000);
  }
  SECTION("a timeout") {
    auto params = openai_params(server.base_url() + "/v1?delay_ms=5000", key.name);
    params["openai"]["timeout_ms"] = 100;
    classify_stage s{params};
    REQUIRE(s.calls != nullptr);
    REQUIRE(s.calls->start());
    auto call = run_call(*s.calls, tickets({"outage"}));
    REQUIRE(call.answer->failure);
    CHECK(call.answer->failure->code == errc::transient);
    CHECK_THAT(call.answer->failure->message, Catch::Contains("timed out"));
  }
}

// -- params ---------------------------------------------------------------------------

TEST_CASE("classify params are checked at their JSON paths", "[ops][classify][config]") {
  SECTION("labels are required, non-empty and distinct") {
    auto p = mock_params();
    p.erase("labels");
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/labels: missing required param 'labels'"));
    p["labels"] = json::array();
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/labels: expected at least one label"));
    p["labels"] = {"high", "low", "high"};
    p["mock"]["rules"] = json::array();
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/labels/2: label 'high' is listed twice"));
  }
  SECTION("the mock's default and its rules' labels must be labels") {
    auto p = mock_params();
    p["mock"]["default"] = "meh";
    CHECK_THAT(config_errors(p),
               Catch::Contains("/stages/1/params/mock/default: 'meh' is not one of the labels (high, medium, low)"));
    p = mock_params();
    p["mock"]["rules"][1]["label"] = "urgent";
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/mock/rules/1/label: 'urgent' is not one of"));
    p = mock_params();
    p["mock"].erase("default");
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/mock/default: missing required param"));
    p = mock_params();
    p["mock"]["rules"][0]["when"] = "lower(";
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/mock/rules/0/when: "));
  }
  SECTION("the chosen provider's block is needed; the other one is checked too") {
    auto p = mock_params();
    p["openai"] = {{"model", "gpt-test"}};
    CHECK(config_errors(p).empty()); // switching provider is one value
    p["openai"] = {{"base_url", "http://127.0.0.1:9/v1"}};
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/openai/model: missing required param 'model'"));
    p = mock_params();
    p.erase("mock");
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/mock: provider 'mock' needs"));
    p = openai_params("http://127.0.0.1:9/v1", "K");
    p["mock"] = {{"default", "low"}};
    CHECK(config_errors(p).empty());
    p["mock"] = {{"default", "urgent"}};
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/mock/default: 'urgent' is not one of"));
  }
  SECTION("openai needs a model and a sound URL and variable name") {
    auto p = openai_params("http://127.0.0.1:9/v1", "K");
    p["openai"].erase("model");
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/openai/model: missing required param 'model'"));
    p = openai_params("ftp://example.com", "K");
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/openai/base_url: "));
    p = openai_params("http://127.0.0.1:9/v1", "sk-abc-123");
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/openai/api_key_env: expected the name of an environment variable"));
    p = openai_params("http://127.0.0.1:9/v1", "K");
    p["openai"]["temperature"] = 3;
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/openai/temperature: "));
    p = openai_params("http://127.0.0.1:9/v1", "K");
    p.erase("openai");
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/openai: provider 'openai' needs"));
  }
  SECTION("unknown keys are refused with the known ones as a hint") {
    auto p = mock_params();
    p["labelz"] = {"a"};
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/labelz: unknown param 'labelz'")
                                   && Catch::Contains("known params: "));
    p = openai_params("http://127.0.0.1:9/v1", "K");
    p["openai"]["api_key"] = "sk-nope";
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/openai/api_key: unknown param 'api_key'")
                                   && Catch::Contains("api_key_env"));
    p = mock_params();
    p["price_per_1k_tokens"] = {{"prompt", -1}};
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/price_per_1k_tokens/prompt: "));
  }
  SECTION("ranges and the target field") {
    auto p = mock_params();
    p["records_per_request"] = 101;
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/records_per_request: expected an integer from 1 to 100"));
    p = mock_params();
    p["into"] = ".";
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/into: "));
    p = mock_params();
    p.erase("provider");
    CHECK_THAT(config_errors(p), Catch::Contains("/stages/1/params/provider: missing required param"));
  }
  SECTION("a full config is accepted") {
    auto p = openai_params("http://127.0.0.1:9/v1", "K");
    p["records_per_request"] = 10;
    p["max_in_flight"] = 2;
    p["prompt"] = "Rate each support ticket's urgency.";
    classify_stage s{p};
    INFO(s.diags.render());
    REQUIRE(s.calls != nullptr);
    CHECK(s.calls->records_per_call() == 10);
    CHECK(s.calls->max_in_flight() == 2);
  }
}
