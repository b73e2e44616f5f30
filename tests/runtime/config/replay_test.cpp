#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/replay.hpp"
#include "runtime/io/temp_dir.hpp"

using namespace sluice;
using ojson = nlohmann::ordered_json;

namespace {

// read -> check -> big -> out, plus a second source `more` fanned into `big`
// and a side branch `audit` off `read`.
ojson orders() {
  return ojson::parse(R"({
    "name": "orders",
    "dlq": {"path": "out/dead.jsonl"},
    "stages": [
      {"id": "read", "type": "source.file", "params": {"path": "orders.csv"}},
      {"id": "more", "type": "source.file", "params": {"path": "more.jsonl"}},
      {"id": "check", "type": "validate", "inputs": ["read"], "on_error": "dlq",
       "params": {"schema": {"type": "object"}}},
      {"id": "audit", "type": "sink.null", "inputs": ["read"]},
      {"id": "big", "type": "filter", "inputs": ["check", "more"], "params": {"when": ".amount > 5"}},
      {"id": "split", "type": "route", "inputs": ["big"],
       "params": {"routes": {"food": ".category == \"food\""}, "default": "other"}},
      {"id": "food", "type": "sink.null", "inputs": ["split.food"]},
      {"id": "other", "type": "sink.null", "inputs": ["split.other", "more"]}
    ]})");
}

std::vector<std::string> ids(const ojson& cfg) {
  std::vector<std::string> out;
  for (auto& st : cfg["stages"])
    out.push_back(st["id"].get<std::string>());
  return out;
}

replay_request into(std::string stage) {
  replay_request r;
  r.dlq_path = "dead.jsonl";
  r.stage = std::move(stage);
  r.only_stage = r.stage;
  return r;
}

using strings = std::vector<std::string>;

} // namespace

SCENARIO("replaying into a stage keeps only what is downstream of it", "[config][replay]") {
  GIVEN("a pipeline with two sources, a side branch and fan-in") {
    auto rc = make_replay_config(orders(), into("check"));
    REQUIRE(rc);
    auto& cfg = rc->config;
    THEN("a source.dlq stage comes first and feeds the stage") {
      CHECK(rc->source_id == "dlq_replay");
      auto& src = cfg["stages"][0];
      CHECK(src["type"] == "source.dlq");
      CHECK(src["params"]["path"] == "dead.jsonl");
      CHECK(src["params"]["stage"] == "check");
      CHECK(src["on_error"] == "dlq"); // the stage's own policy
      CHECK(cfg["stages"][1]["inputs"] == ojson::array({"dlq_replay"}));
    }
    THEN("the sources and the side branch upstream are gone") {
      CHECK(ids(cfg) == strings{"dlq_replay", "check", "big", "split", "food", "other"});
      CHECK(rc->original_index == std::vector<int>{-1, 2, 4, 5, 6, 7});
    }
    THEN("inputs naming removed stages are dropped, the others kept") {
      CHECK(cfg["stages"][2]["inputs"] == ojson::array({"check"}));
      CHECK(cfg["stages"][5]["inputs"] == ojson::array({"split.other"}));
    }
    THEN("the rest of the config is as written") {
      CHECK(cfg["name"] == "orders");
      CHECK(cfg["dlq"]["path"] == "out/dead.jsonl");
      CHECK(cfg["stages"][3]["params"]["routes"]["food"] == ".category == \"food\"");
      auto keys = std::vector<std::string>{};
      for (auto& [k, v] : cfg.items())
        keys.push_back(k);
      CHECK(keys == strings{"name", "dlq", "stages"});
    }
  }
  GIVEN("a replay of every stage's dead letters, of one class") {
    auto req = into("big");
    req.only_stage.reset();
    req.only_class = "type_error";
    auto rc = make_replay_config(orders(), req);
    REQUIRE(rc);
    auto& src = rc->config["stages"][0];
    CHECK_FALSE(src["params"].contains("stage"));
    CHECK(src["params"]["class"] == "type_error");
    CHECK_FALSE(src.contains("on_error"));
    CHECK(ids(rc->config) == strings{"dlq_replay", "big", "split", "food", "other"});
  }
  GIVEN("a pipeline that already has a stage named dlq_replay") {
    auto p = orders();
    p["stages"][3]["id"] = "dlq_replay";
    auto rc = make_replay_config(p, into("check"));
    REQUIRE(rc);
    CHECK(rc->source_id == "dlq_replay_2");
  }
}

SCENARIO("replays that cannot be done are refused", "[config][replay]") {
  WHEN("the stage does not exist") {
    auto rc = make_replay_config(orders(), into("chek"));
    REQUIRE_FALSE(rc);
    CHECK(rc.err().code == errc::runtime_error);
    CHECK(rc.err().message == "the pipeline has no stage 'chek'; did you mean 'check'?");
  }
  WHEN("nothing is close") {
    auto rc = make_replay_config(orders(), into("zzzzzzzz"));
    REQUIRE_FALSE(rc);
    CHECK_THAT(rc.err().message, Catch::Contains("its stages are 'read', 'more', 'check'"));
  }
  WHEN("the stage is a source") {
    auto rc = make_replay_config(orders(), into("read"));
    REQUIRE_FALSE(rc);
    CHECK_THAT(rc.err().message, Catch::StartsWith("stage 'read' is a source (source.file)"));
  }
  WHEN("the config is not a pipeline") {
    auto rc = make_replay_config(ojson::parse(R"({"name": "x"})"), into("check"));
    REQUIRE_FALSE(rc);
    CHECK(rc.err().code == errc::invalid_config);
  }
  WHEN("the dead-letter file is the pipeline's own") {
    test::temp_dir dir;
    dir.write("out/dead.jsonl", "");
    pipeline_config cfg;
    cfg.dlq_path = dir / "out/dead.jsonl";
    auto st = check_replay_file(cfg, dir / "out/../out/dead.jsonl");
    REQUIRE_FALSE(st);
    CHECK_THAT(st.err().message, Catch::Contains("--set dlq.path="));
    CHECK(check_replay_file(cfg, dir / "other.jsonl"));
    cfg.dlq_path.clear();
    CHECK(check_replay_file(cfg, dir / "out/dead.jsonl"));
  }
}

TEST_CASE("diagnostics of the replay config point into the original file",
          "[config][replay]") {
  auto rc = make_replay_config(orders(), into("check"));
  REQUIRE(rc);
  CHECK(original_json_path(*rc, "/stages/2/params/when") == "/stages/4/params/when");
  CHECK(original_json_path(*rc, "/stages/0/params/path")
        == "(replay source 'dlq_replay')/params/path");
  CHECK(original_json_path(*rc, "/dlq") == "/dlq");
  CHECK(original_json_path(*rc, "/stages/99") == "/stages/99");
}

TEST_CASE("a replay config loads with the normal loader", "[config][replay]") {
  test::temp_dir dir;
  dir.write("dead.jsonl", "");
  auto rc = make_replay_config(orders(), into("check"));
  REQUIRE(rc);
  diagnostics diags;
  auto plan = load_pipeline_text(rc->config.dump(), dir / "p.json", dir.path(), {}, diags);
  INFO(diags.render());
  REQUIRE(plan);
  CHECK(plan->config.stages[0].type == "source.dlq");
  CHECK(plan->source_files[0] == std::vector<std::string>{"dead.jsonl"});
}

TEST_CASE("a replay appends to file sinks unless their mode is set", "[config][replay]") {
  auto cfg = ojson::parse(R"({
    "name": "files",
    "stages": [
      {"id": "read", "type": "source.file", "params": {"path": "in.jsonl"}},
      {"id": "check", "type": "filter", "inputs": ["read"], "params": {"when": "true"}},
      {"id": "a", "type": "sink.file", "inputs": ["check"], "params": {"path": "a.jsonl"}},
      {"id": "b", "type": "sink.file", "inputs": ["check"],
       "params": {"path": "b.jsonl", "mode": "overwrite"}},
      {"id": "c", "type": "sink.null", "inputs": ["check"]}
    ]})");
  auto rc = make_replay_config(cfg, into("check"));
  REQUIRE(rc);
  auto& stages = rc->config["stages"];
  CHECK(stages[2]["params"]["mode"] == "append");
  CHECK(stages[3]["params"]["mode"] == "overwrite");
  CHECK_FALSE(stages[4].contains("params"));
  CHECK(rc->appending == strings{"a"});
}
