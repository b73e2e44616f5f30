// Loading and validating pipeline configs: the plan of a valid config, every
// validation error with its JSON path, ${VAR} substitution, --set overrides
// and relative paths.

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/env_subst.hpp"
#include "config/loader.hpp"
#include "ops/registry.hpp"
#include "runtime/io/temp_dir.hpp"

using namespace sluice;
using sluice::test::temp_dir;

namespace {

// The repository root, from this file's path (tests/runtime/config/...).
std::string repo_path(const std::string& rel) {
  std::string self = __FILE__;
  auto at = self.rfind("tests/runtime/config/");
  REQUIRE(at != std::string::npos);
  return self.substr(0, at) + rel;
}

// A source that needs no file: stage 0 of most configs below.
constexpr const char* gen = R"({"id": "gen", "type": "source.generate", "params": {"count": 3}})";

// A pipeline config around `stages` (the text inside "stages": [...]);
// `top` is inserted before "stages" (end it with a comma).
std::string pipeline(const std::string& stages, const std::string& top = "") {
  return R"({"name": "t", )" + top + R"("stages": [)" + stages + "]}";
}

std::unique_ptr<pipeline_plan> load(const std::string& text, diagnostics& diags,
                                    const std::vector<std::string>& overrides = {},
                                    const std::string& base_dir = ".") {
  load_options opts;
  opts.overrides = overrides;
  return load_pipeline_text(text, "test.json", base_dir, opts, diags);
}

// Loads a config that must fail; returns the rendered diagnostics.
std::string errors_of(const std::string& text, const std::vector<std::string>& overrides = {},
                      const std::string& base_dir = ".") {
  diagnostics diags;
  auto plan = load(text, diags, overrides, base_dir);
  CHECK(plan == nullptr);
  CHECK(diags.has_errors());
  return diags.render();
}

// Whether `diags` holds an error at `path` with exactly `message`.
bool has_error(const diagnostics& diags, const std::string& path, const std::string& message) {
  return std::any_of(diags.all().begin(), diags.all().end(), [&](const diagnostic& d) {
    return d.severity == diagnostic::level::error && d.json_path == path && d.message == message;
  });
}

// Every edge as "from.port->to (label)", in the graph's order.
std::vector<std::string> edge_list(const pipeline_plan& plan) {
  std::vector<std::string> out;
  for (auto& e : plan.graph->edges())
    out.push_back(plan.stage(e.from).id + "." + std::to_string(e.port) + "->"
                  + plan.stage(e.to).id + " (" + e.label + ")");
  return out;
}

// Sets an environment variable for one test and restores the old state.
class env_var {
public:
  env_var(const char* name, const char* value) : name_(name) {
    if (auto old = std::getenv(name)) {
      had_ = true;
      old_ = old;
    }
    if (value != nullptr)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~env_var() {
    if (had_)
      ::setenv(name_.c_str(), old_.c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  env_var(const env_var&) = delete;
  env_var& operator=(const env_var&) = delete;

private:
  std::string name_;
  std::string old_;
  bool had_ = false;
};

} // namespace

// -- a valid pipeline -------------------------------------------------------------

TEST_CASE("the shipped orders example loads into a complete plan", "[config][loader]") {
  diagnostics diags;
  auto file = repo_path("configs/examples/orders.json");
  auto dir = repo_path("configs/examples");
  auto plan = load_pipeline(file, {}, diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(diags.all().empty());

  auto& cfg = plan->config;
  CHECK(cfg.name == "orders");
  CHECK(cfg.file == file);
  CHECK(cfg.base_dir == dir);
  CHECK(cfg.dlq_path == dir + "/out/orders.dead.jsonl");
  CHECK(cfg.defaults.batch_size == 1024);
  CHECK(cfg.defaults.linger_ms == 50);
  CHECK(cfg.defaults.window == 8);

  std::vector<std::string> ids, types;
  for (auto& st : cfg.stages) {
    ids.push_back(st.id);
    types.push_back(st.type);
  }
  CHECK(ids == std::vector<std::string>{"read", "check", "big", "shape", "split", "totals", "out", "rest"});
  CHECK(types == std::vector<std::string>{"source.file", "validate", "filter", "map", "route",
                                          "aggregate", "sink.file", "sink.file"});
  for (size_t i = 0; i < cfg.stages.size(); ++i) {
    CHECK(cfg.stages[i].index == i);
    CHECK(cfg.stages[i].json_path == "/stages/" + std::to_string(i));
    REQUIRE(plan->kinds[i] != nullptr);
    CHECK(plan->kinds[i]->name == cfg.stages[i].type);
    CHECK(cfg.stages[i].streaming == false); // a file source is bounded
  }
  CHECK(cfg.stages[0].on_error == error_policy::dlq);
  CHECK(cfg.stages[1].on_error == error_policy::dlq);
  CHECK(cfg.stages[2].on_error == error_policy::fail);
  REQUIRE(cfg.stages[5].inputs.size() == 1);
  CHECK(cfg.stages[5].inputs[0].stage == "split");
  CHECK(cfg.stages[5].inputs[0].port == "food");
  CHECK(cfg.stages[5].inputs[0].str() == "split.food");
  CHECK(cfg.find("split") == &cfg.stages[4]);
  CHECK(cfg.find("nope") == nullptr);

  CHECK(plan->is_sink == std::vector<bool>{false, false, false, false, false, false, true, true});
  for (size_t i = 0; i < plan->ports.size(); ++i)
    CHECK(plan->ports[i] == (i == 4 ? std::vector<std::string>{"food", "other"}
                                    : std::vector<std::string>{}));
  REQUIRE(plan->source_files.size() >= 1);
  CHECK(plan->source_files[0] == std::vector<std::string>{"data/orders.csv"});

  REQUIRE(plan->graph != nullptr);
  CHECK(edge_list(*plan)
        == std::vector<std::string>{"read.0->check (read)", "check.0->big (check)",
                                    "big.0->shape (big)", "shape.0->split (shape)",
                                    "split.0->totals (split.food)", "totals.0->out (totals)",
                                    "split.1->rest (split.other)"});

  // The order is a permutation of all stages that respects every edge.
  REQUIRE(plan->order.size() == cfg.stages.size());
  std::vector<size_t> pos(cfg.stages.size(), SIZE_MAX);
  for (size_t i = 0; i < plan->order.size(); ++i)
    pos[plan->order[i]] = i;
  CHECK(std::count(pos.begin(), pos.end(), SIZE_MAX) == 0);
  for (auto& e : plan->graph->edges()) {
    INFO(cfg.stages[e.from].id << " -> " << cfg.stages[e.to].id);
    CHECK(pos[e.from] < pos[e.to]);
  }
  CHECK(plan->order.front() == 0);
}

TEST_CASE("a minimal pipeline gets the defaults", "[config][loader]") {
  diagnostics diags;
  auto plan = load(pipeline(std::string{gen} + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen"]})"),
                   diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  auto& st = plan->config.stages[1];
  CHECK(st.on_error == error_policy::fail);
  CHECK(st.parallelism == 1);
  CHECK(st.flow.batch_size == 1024);
  CHECK(st.flow.linger_ms == 50);
  CHECK(st.flow.window == 8);
  CHECK(st.partition_by.empty());
  CHECK(st.base_dir == ".");
  CHECK(plan->config.dlq_path.empty());
  CHECK(plan->order == std::vector<stage_index>{0, 1});
  CHECK(plan->source_files[0] == std::vector<std::string>{"generate"});
}

TEST_CASE("stage flow settings override the defaults, which override the built-ins",
          "[config][loader]") {
  diagnostics diags;
  auto plan = load(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"], "batch_size": 10, "window": 2})",
                            R"("defaults": {"batch_size": 100, "linger_ms": 5},)"),
                   diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->config.stages[0].flow.batch_size == 100);
  CHECK(plan->config.stages[0].flow.linger_ms == 5);
  CHECK(plan->config.stages[0].flow.window == 8);
  CHECK(plan->config.stages[1].flow.batch_size == 10);
  CHECK(plan->config.stages[1].flow.linger_ms == 5);
  CHECK(plan->config.stages[1].flow.window == 2);
}

TEST_CASE("an endless generator makes every stage of the run streaming", "[config][loader]") {
  diagnostics diags;
  auto plan = load(pipeline(R"({"id": "gen", "type": "source.generate"},
                               {"id": "out", "type": "sink.null", "inputs": ["gen"]})"),
                   diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->config.stages[0].streaming);
  CHECK(plan->config.stages[1].streaming);
}

TEST_CASE("parallel stateful stages are partitioned by their keys", "[config][loader]") {
  diagnostics diags;
  auto plan = load(pipeline(std::string{gen} + R"J(,
    {"id": "agg", "type": "aggregate", "inputs": ["gen"], "parallelism": 4,
     "params": {"group_by": [".user"], "aggregates": {"n": "count()"}}},
    {"id": "out", "type": "sink.null", "inputs": ["agg"]})J"),
                   diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->config.stages[1].parallelism == 4);
  CHECK(plan->config.stages[1].partition_by == ".user");
}

// -- one error at a time: message, JSON path, hint -----------------------------------

TEST_CASE("an unknown stage type is reported with the known types", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "m", "type": "mapp", "inputs": ["gen"]},
    {"id": "out", "type": "sink.null", "inputs": ["m"]})"));
  CHECK(out == "test.json: /stages/1/type: unknown stage type 'mapp' (hint: known types: "
               "'source.file', 'source.generate', 'source.dlq', 'map', 'filter', 'validate', "
               "'route', 'dedupe', 'aggregate', 'chaos', 'http', 'classify', 'sink.file', "
               "'sink.stdout', 'sink.null')\n");
}

TEST_CASE("an unknown param is reported with the params the type knows", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "f", "type": "filter", "inputs": ["gen"], "params": {"when": ".amount > 1", "whn": "x"}},
    {"id": "out", "type": "sink.null", "inputs": ["f"]})"));
  CHECK(out == "test.json: /stages/1/params/whn: unknown param 'whn' for stage type 'filter' "
               "(hint: known params: when)\n");
}

TEST_CASE("a param a sink.null does not take is reported", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"], "params": {"path": "x"}})"));
  CHECK(out == "test.json: /stages/1/params/path: unknown param 'path' for stage type "
               "'sink.null' (hint: this stage type takes no params)\n");
}

TEST_CASE("an unknown top-level key is reported with the known keys", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"]})", R"("dql": {"path": "d.jsonl"},)"));
  CHECK(out == "test.json: /dql: unknown key 'dql' in the pipeline config (hint: known keys: "
               "'name', 'description', 'defaults', 'dlq', 'metrics', 'lineage', 'resources', "
               "'stages')\n");
}

TEST_CASE("an unknown stage key is reported with the known keys", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"], "paralelism": 2})"));
  CHECK(out == "test.json: /stages/1/paralelism: unknown key 'paralelism' in a stage (hint: known keys: "
               "'id', 'type', 'inputs', 'params', 'on_error', 'parallelism', 'partition_by', "
               "'batch_size', 'linger_ms', 'window', 'retry', 'circuit_breaker', 'supervision', "
               "'chaos', 'rate_limit', 'cost')\n");
}

TEST_CASE("a missing name, stages or stage type is reported", "[config][loader]") {
  CHECK(errors_of(R"({"stages": [)" + std::string{gen}
                  + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen"]}]})")
        == "test.json: /name: missing or empty pipeline name (hint: add \"name\": \"my-pipeline\")\n");
  CHECK(errors_of(R"({"name": "t", "stages": []})")
        == "test.json: /stages: expected a non-empty list of stages\n");
  CHECK(errors_of(R"({"name": "t"})") == "test.json: /stages: expected a non-empty list of stages\n");
  CHECK(errors_of(R"([1, 2])")
        == "test.json: /: a pipeline config is a JSON object with \"name\" and \"stages\"\n");
  CHECK(errors_of(pipeline(std::string{gen} + R"(, {"id": "out", "inputs": ["gen"]})"))
        == "test.json: /stages/1/type: missing stage type\n");
  CHECK(errors_of(pipeline(std::string{gen} + R"(, 7)"))
        == "test.json: /stages/1: expected a stage object with \"id\" and \"type\"\n");
}

TEST_CASE("a description must be a string", "[config][loader]") {
  CHECK(errors_of(pipeline(std::string{gen} + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen"]})",
                           R"("description": 5,)"))
        == "test.json: /description: expected a string\n");
}

TEST_CASE("inputs that are not a list of ids are reported once, where they are written",
          "[config][loader]") {
  CHECK(errors_of(pipeline(std::string{gen} + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen", 3]})"))
        == "test.json: /stages/1/inputs/1: expected a stage id\n");
  // Not also "stage 'out' has no inputs": the user wrote some, in the wrong shape.
  CHECK(errors_of(pipeline(std::string{gen} + R"(, {"id": "out", "type": "sink.null", "inputs": "gen"})"))
        == "test.json: /stages/1/inputs: expected a list of stage ids, e.g. [\"read\"] or "
           "[\"split.food\"]\n");
}

TEST_CASE("a duplicate stage id is reported at the second one", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"]},
    {"id": "out", "type": "sink.null", "inputs": ["gen"]})"));
  CHECK(out == "test.json: /stages/2/id: duplicate stage id 'out'\n");
}

TEST_CASE("a stage id with a dot is refused", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out.file", "type": "sink.null", "inputs": ["gen"]})"));
  CHECK(out == "test.json: /stages/1/id: stage id 'out.file' is not a plain name (hint: use "
               "letters, digits, '_' and '-', starting with a letter or '_' (no '.': it "
               "separates a route's outputs))\n");
  CHECK(errors_of(pipeline(std::string{gen} + R"(, {"id": "1st", "type": "sink.null", "inputs": ["gen"]})"))
        == "test.json: /stages/1/id: stage id '1st' is not a plain name (hint: use letters, "
           "digits, '_' and '-', starting with a letter or '_' (no '.': it separates a "
           "route's outputs))\n");
}

TEST_CASE("an input naming an unknown stage is reported at the input", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen", "gne"]})"));
  CHECK(out == "test.json: /stages/1/inputs/1: unknown stage 'gne'\n");
}

namespace {

// A route with two outputs (food, other) after `gen`, as stage 1.
constexpr const char* split = R"({"id": "split", "type": "route", "inputs": ["gen"],
  "params": {"routes": {"food": ".category == \"food\""}, "default": "other"}})";

} // namespace

TEST_CASE("an input naming a route without a port asks for one", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + "," + split + R"(,
    {"id": "a", "type": "sink.null", "inputs": ["split"]},
    {"id": "b", "type": "sink.null", "inputs": ["split.other"]})"));
  CHECK(out == "test.json: /stages/2/inputs/0: stage 'split' has named outputs; pick one "
               "(hint: use one of 'split.food', 'split.other')\n");
}

TEST_CASE("an input naming an unknown port lists the ports", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + "," + split + R"(,
    {"id": "a", "type": "sink.null", "inputs": ["split.fod"]},
    {"id": "b", "type": "sink.null", "inputs": ["split.other"]})"));
  CHECK(out == "test.json: /stages/2/inputs/0: stage 'split' has no output 'fod' (hint: its "
               "outputs: 'food', 'other')\n");
  auto single = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "a", "type": "sink.null", "inputs": ["gen.x"]})"));
  CHECK(single == "test.json: /stages/1/inputs/0: stage 'gen' has no output 'x' (hint: it has "
                  "one output: write \"gen\")\n");
}

TEST_CASE("a sink used as an input is refused", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"]},
    {"id": "more", "type": "sink.null", "inputs": ["out"]})"));
  CHECK(out == "test.json: /stages/2/inputs/0: 'out' is a sink; sinks have no output\n");
}

TEST_CASE("a stage naming itself as input is refused", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "f", "type": "filter", "inputs": ["gen", "f"], "params": {"when": "true"}},
    {"id": "out", "type": "sink.null", "inputs": ["f"]})"));
  CHECK(out == "test.json: /stages/1/inputs/1: stage 'f' names itself as input\n");
}

TEST_CASE("a source with inputs is refused", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "gen2", "type": "source.generate", "inputs": ["gen"], "params": {"count": 1}},
    {"id": "out", "type": "sink.null", "inputs": ["gen2"]})"));
  CHECK(out == "test.json: /stages/1/inputs: a source ('source.generate') takes no inputs\n");
}

TEST_CASE("a transform or sink without inputs is refused", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "f", "type": "filter", "params": {"when": "true"}},
    {"id": "out", "type": "sink.null", "inputs": ["gen"]},
    {"id": "lonely", "type": "sink.null", "inputs": []})"));
  CHECK(out == "test.json: /stages/1: stage 'f' has no inputs (hint: add \"inputs\": "
               "[\"<upstream stage id>\"])\n"
               "test.json: /stages/3: stage 'lonely' has no inputs (hint: add \"inputs\": "
               "[\"<upstream stage id>\"])\n");
}

TEST_CASE("a cycle is reported with its path", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "a", "type": "filter", "inputs": ["gen", "b"], "params": {"when": "true"}},
    {"id": "b", "type": "map", "inputs": ["a"], "params": {"set": {"x": "1"}}},
    {"id": "out", "type": "sink.null", "inputs": ["b"]})"));
  CHECK(out == "test.json: /stages/1/inputs: cycle: a -> b -> a (hint: a pipeline is a DAG; "
               "remove one of these inputs)\n");
}

TEST_CASE("a longer cycle names every stage on it once and closes it", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "a", "type": "filter", "inputs": ["gen", "c"], "params": {"when": "true"}},
    {"id": "b", "type": "filter", "inputs": ["a"], "params": {"when": "true"}},
    {"id": "c", "type": "filter", "inputs": ["b"], "params": {"when": "true"}},
    {"id": "out", "type": "sink.null", "inputs": ["c"]})"));
  CHECK(out == "test.json: /stages/1/inputs: cycle: a -> b -> c -> a (hint: a pipeline is a "
               "DAG; remove one of these inputs)\n");
}

TEST_CASE("every stage from which no sink is reachable is reported", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"]},
    {"id": "f", "type": "filter", "inputs": ["gen"], "params": {"when": "true"}},
    {"id": "g", "type": "map", "inputs": ["f"], "params": {"drop": ["x"]}})"));
  CHECK(out == "test.json: /stages/2: no sink is reachable from stage 'f': its records would be "
               "lost (hint: feed it into a sink (sink.file, sink.stdout or sink.null) or remove it)\n"
               "test.json: /stages/3: no sink is reachable from stage 'g': its records would be "
               "lost (hint: feed it into a sink (sink.file, sink.stdout or sink.null) or remove it)\n");
}

TEST_CASE("a route output nobody consumes is reported", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + "," + split + R"(,
    {"id": "a", "type": "sink.null", "inputs": ["split.food"]})"));
  CHECK(out == "test.json: /stages/1: output 'split.other' has no consumer: records sent there "
               "would be lost (hint: add a stage with \"inputs\": [\"split.other\"] (sink.null "
               "discards on purpose))\n");
}

TEST_CASE("on_error dlq needs a dead-letter file", "[config][loader]") {
  auto text = pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"], "on_error": "dlq"})");
  CHECK(errors_of(text) == "test.json: /stages/1/on_error: on_error is \"dlq\" but the pipeline "
                           "has no dead-letter file (hint: add \"dlq\": {\"path\": "
                           "\"out/dead.jsonl\"} at the top level)\n");
  diagnostics diags;
  auto with_dlq = load(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"], "on_error": "dlq"})",
                                R"("dlq": {"path": "/tmp/dead.jsonl"},)"),
                       diags);
  INFO(diags.render());
  REQUIRE(with_dlq != nullptr);
  CHECK(with_dlq->config.stages[1].on_error == error_policy::dlq);
  CHECK(with_dlq->config.dlq_path == "/tmp/dead.jsonl");
}

TEST_CASE("bad on_error and dlq values are reported", "[config][loader]") {
  CHECK(errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"], "on_error": "retry"})"))
        == "test.json: /stages/1/on_error: expected \"fail\", \"drop\" or \"dlq\"\n");
  CHECK(errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"]})", R"("dlq": "dead.jsonl",)"))
        == "test.json: /dlq: expected {\"path\": \"out/dead.jsonl\"}\n");
}

TEST_CASE("parallelism > 1 on sink.file is refused", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.file", "inputs": ["gen"], "parallelism": 2,
     "params": {"path": "/tmp/sluice-loader-test-never-written.jsonl"}})"));
  CHECK(out == "test.json: /stages/1/parallelism: stage type 'sink.file' runs as one replica "
               "(hint: remove parallelism (it writes one file in order))\n");
}

TEST_CASE("a parallel aggregate without group_by is refused", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"J(,
    {"id": "agg", "type": "aggregate", "inputs": ["gen"], "parallelism": 3,
     "params": {"aggregates": {"n": "count()"}}},
    {"id": "out", "type": "sink.null", "inputs": ["agg"]})J"));
  CHECK(out == "test.json: /stages/1/parallelism: stage type 'aggregate' keeps state per key; "
               "with parallelism > 1 it needs keys (hint: add group_by/key, or partition_by, "
               "or remove parallelism)\n");
}

TEST_CASE("a bad partition_by expression is reported with its column", "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"], "parallelism": 2, "partition_by": ".user +"})"));
  CHECK(out == "test.json: /stages/1/partition_by: column 8: expected an expression after '+' "
               "in '.user +'\n");
  CHECK(errors_of(pipeline(std::string{gen} + R"(,
    {"id": "out", "type": "sink.null", "inputs": ["gen"], "partition_by": 3})"))
        == "test.json: /stages/1/partition_by: expected an expression, e.g. \".customer\"\n");
}

TEST_CASE("an expression syntax error is reported at its param with the column",
          "[config][loader]") {
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "big", "type": "filter", "inputs": ["gen"], "params": {"when": ".amount > 1 &&"}},
    {"id": "out", "type": "sink.null", "inputs": ["big"]})"));
  CHECK(out == "test.json: /stages/1/params/when: column 15: expected an expression after '&&' "
               "in '.amount > 1 &&'\n");
}

TEST_CASE("batch sizes, linger and windows must be whole numbers in range", "[config][loader]") {
  auto stage = [](const std::string& extra) {
    return pipeline(std::string{gen} + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen"], )"
                    + extra + "}");
  };
  CHECK(errors_of(stage(R"("batch_size": 0)"))
        == "test.json: /stages/1/batch_size: expected a whole number from 1 to 1000000, got 0\n");
  CHECK(errors_of(stage(R"("batch_size": 1000001)"))
        == "test.json: /stages/1/batch_size: expected a whole number from 1 to 1000000, got 1000001\n");
  CHECK(errors_of(stage(R"("batch_size": -5)"))
        == "test.json: /stages/1/batch_size: expected a whole number from 1 to 1000000\n");
  CHECK(errors_of(stage(R"("batch_size": 2.5)"))
        == "test.json: /stages/1/batch_size: expected a whole number from 1 to 1000000\n");
  CHECK(errors_of(stage(R"("batch_size": "100")"))
        == "test.json: /stages/1/batch_size: expected a whole number from 1 to 1000000\n");
  CHECK(errors_of(stage(R"("window": 0)"))
        == "test.json: /stages/1/window: expected a whole number from 1 to 4096, got 0\n");
  CHECK(errors_of(stage(R"("window": 4097)"))
        == "test.json: /stages/1/window: expected a whole number from 1 to 4096, got 4097\n");
  CHECK(errors_of(stage(R"("linger_ms": 3600001)"))
        == "test.json: /stages/1/linger_ms: expected a whole number from 0 to 3600000, got 3600001\n");
  CHECK(errors_of(stage(R"("parallelism": 0)"))
        == "test.json: /stages/1/parallelism: expected a whole number from 1 to 256, got 0\n");
  auto defaults = pipeline(std::string{gen} + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen"]})",
                           R"("defaults": {"window": 0, "batch": 5},)");
  CHECK(errors_of(defaults)
        == "test.json: /defaults/batch: unknown key 'batch' in defaults (hint: known keys: "
           "'batch_size', 'linger_ms', 'window', 'retry', 'circuit_breaker', 'supervision')\n"
           "test.json: /defaults/window: expected a whole number from 1 to 4096, got 0\n");
}

TEST_CASE("invalid JSON is reported with its line and column", "[config][loader]") {
  diagnostics diags;
  auto plan = load("{\n  \"name\": \"t\",\n  \"stages\": [,]\n}\n", diags);
  CHECK(plan == nullptr);
  REQUIRE(diags.all().size() == 1);
  auto& d = diags.all()[0];
  CHECK(d.file == "test.json");
  CHECK(d.json_path.empty());
  CHECK(d.hint == "the config must be valid JSON");
  CHECK(d.message.rfind("parse error at line 3, column 14: ", 0) == 0);
  CHECK(d.message.find("[json.exception") == std::string::npos);
  CHECK(errors_of("").rfind("test.json: parse error at line 1, column 1: ", 0) == 0);
}

TEST_CASE("a missing config file is reported with the reason", "[config][loader]") {
  diagnostics diags;
  auto plan = load_pipeline("/nonexistent/sluice/p.json", {}, diags);
  CHECK(plan == nullptr);
  CHECK(diags.render()
        == "/nonexistent/sluice/p.json: cannot read the config file: No such file or directory\n");
}

// -- all errors at once -------------------------------------------------------------

TEST_CASE("several problems of different stages are all reported at once", "[config][loader]") {
  diagnostics diags;
  auto plan = load(pipeline(std::string{gen} + R"J(,
    {"id": "m", "type": "mapp", "inputs": ["gen"]},
    {"id": "f", "type": "filter", "inputs": ["gen"], "params": {"when": ".a > 1", "whn": "x"}},
    {"id": "g", "type": "filter", "inputs": ["gen"], "params": {"when": ".a >"}, "on_error": "dlq"},
    {"id": "gen2", "type": "source.generate", "inputs": ["gen"]},
    {"id": "h", "type": "filter", "params": {"when": "true"}},
    {"id": "out", "type": "sink.file", "inputs": ["m", "f", "g", "gen2", "h"], "parallelism": 2,
     "params": {"path": "/tmp/sluice-loader-test-never-written.jsonl"}},
    {"id": "agg", "type": "aggregate", "inputs": ["gen"], "parallelism": 2,
     "params": {"aggregates": {"n": "count()"}}},
    {"id": "out2", "type": "sink.null", "inputs": ["agg", "nope"]})J"),
                   diags);
  CHECK(plan == nullptr);
  INFO(diags.render());
  CHECK(has_error(diags, "/stages/1/type", "unknown stage type 'mapp'"));
  CHECK(has_error(diags, "/stages/2/params/whn", "unknown param 'whn' for stage type 'filter'"));
  CHECK(has_error(diags, "/stages/3/params/when", "column 5: expected an expression after '>' in '.a >'"));
  CHECK(has_error(diags, "/stages/3/on_error", "on_error is \"dlq\" but the pipeline has no dead-letter file"));
  CHECK(has_error(diags, "/stages/4/inputs", "a source ('source.generate') takes no inputs"));
  CHECK(has_error(diags, "/stages/5", "stage 'h' has no inputs"));
  CHECK(has_error(diags, "/stages/6/parallelism", "stage type 'sink.file' runs as one replica"));
  CHECK(has_error(diags, "/stages/7/parallelism",
                  "stage type 'aggregate' keeps state per key; with parallelism > 1 it needs keys"));
  CHECK(has_error(diags, "/stages/8/inputs/1", "unknown stage 'nope'"));
  CHECK(diags.all().size() == 9);
}

TEST_CASE("structural and stage problems are reported together", "[config][loader]") {
  // Problems found while reading the tree (an unknown key, a bad batch size, a
  // dotted id) must not hide the ones found when building the stages (an
  // unknown type, an unknown param, an expression error).
  diagnostics diags;
  auto plan = load(pipeline(std::string{gen} + R"(,
    {"id": "m", "type": "mapp", "inputs": ["gen"], "param": {}},
    {"id": "f", "type": "filter", "inputs": ["gen"], "params": {"when": ".a > 1", "whn": "x"},
     "batch_size": 0},
    {"id": "out.x", "type": "sink.null", "inputs": ["m", "f"]})",
                            R"("dql": {},)"),
                   diags);
  CHECK(plan == nullptr);
  INFO(diags.render());
  CHECK(has_error(diags, "/dql", "unknown key 'dql' in the pipeline config"));
  CHECK(has_error(diags, "/stages/1/param", "unknown key 'param' in a stage"));
  CHECK(has_error(diags, "/stages/2/batch_size", "expected a whole number from 1 to 1000000, got 0"));
  CHECK(has_error(diags, "/stages/3/id", "stage id 'out.x' is not a plain name"));
  CHECK(has_error(diags, "/stages/1/type", "unknown stage type 'mapp'"));
  CHECK(has_error(diags, "/stages/2/params/whn", "unknown param 'whn' for stage type 'filter'"));
}

TEST_CASE("graph problems are reported alongside param problems", "[config][loader]") {
  // Every input resolves, so the graph can be checked although a param is wrong.
  diagnostics diags;
  auto plan = load(pipeline(std::string{gen} + R"(,
    {"id": "f", "type": "filter", "inputs": ["gen"], "params": {"when": "true", "whn": "x"}},
    {"id": "dead", "type": "map", "inputs": ["gen"], "params": {"drop": ["x"]}},
    {"id": "out", "type": "sink.null", "inputs": ["f"]})"),
                   diags);
  CHECK(plan == nullptr);
  INFO(diags.render());
  CHECK(has_error(diags, "/stages/1/params/whn", "unknown param 'whn' for stage type 'filter'"));
  CHECK(has_error(diags, "/stages/2",
                  "no sink is reachable from stage 'dead': its records would be lost"));
}

TEST_CASE("a route with a param error causes no follow-on error at its consumers",
          "[config][loader]") {
  // The route's predicate does not compile; "split.food" must not be reported
  // as an unknown output as well (the user wrote it right).
  diagnostics diags;
  auto plan = load(pipeline(std::string{gen} + R"(,
    {"id": "split", "type": "route", "inputs": ["gen"],
     "params": {"routes": {"food": ".category =="}, "default": "other"}},
    {"id": "a", "type": "sink.null", "inputs": ["split.food"]},
    {"id": "b", "type": "sink.null", "inputs": ["split.other"]})"),
                   diags);
  CHECK(plan == nullptr);
  INFO(diags.render());
  CHECK(has_error(diags, "/stages/1/params/routes/food",
                  "column 13: expected an expression after '==' in '.category =='"));
  CHECK(diags.all().size() == 1);
}

// -- ${VAR} substitution ----------------------------------------------------------

TEST_CASE("${VAR} and ${VAR:-default} are substituted in every string", "[config][env]") {
  env_var user{"SLUICE_TEST_USER", "ann"};
  env_var name{"SLUICE_TEST_NAME", "nightly"};
  env_var empty{"SLUICE_TEST_EMPTY", ""};
  env_var unset{"SLUICE_TEST_UNSET", nullptr};
  diagnostics diags;
  auto plan = load(pipeline(std::string{gen} + R"(,
    {"id": "f", "type": "filter", "inputs": ["gen"],
     "params": {"when": ".user == \"${SLUICE_TEST_USER}\" || .user == \"${SLUICE_TEST_UNSET:-bob}\" || .x == \"${SLUICE_TEST_EMPTY:-e}\""}},
    {"id": "out", "type": "sink.null", "inputs": ["f"]})"),
                   diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->config.stages[1].params["when"]
        == ".user == \"ann\" || .user == \"bob\" || .x == \"e\"");
  CHECK(plan->config.stages[1].params_ordered["when"]
        == ".user == \"ann\" || .user == \"bob\" || .x == \"e\"");

  diagnostics named;
  auto p2 = load(R"({"name": "${SLUICE_TEST_NAME}-$${HOME}", "stages": [)" + std::string{gen}
                   + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen"]}]})",
                 named);
  INFO(named.render());
  REQUIRE(p2 != nullptr);
  CHECK(p2->config.name == "nightly-${HOME}");
}

TEST_CASE("an unset variable is an error at the string's JSON path", "[config][env]") {
  env_var unset{"SLUICE_TEST_UNSET", nullptr};
  auto out = errors_of(pipeline(std::string{gen} + R"(,
    {"id": "f", "type": "filter", "inputs": ["gen"], "params": {"when": ".user == \"${SLUICE_TEST_UNSET}\""}},
    {"id": "out", "type": "sink.null", "inputs": ["f"]})"));
  CHECK(out == "test.json: /stages/1/params/when: environment variable 'SLUICE_TEST_UNSET' is "
               "not set (hint: export SLUICE_TEST_UNSET=... or write "
               "${SLUICE_TEST_UNSET:-default})\n");
}

TEST_CASE("a substituted number stays a string", "[config][env]") {
  env_var count{"SLUICE_TEST_COUNT", "5"};
  auto out = errors_of(pipeline(R"({"id": "gen", "type": "source.generate", "params": {"count": "${SLUICE_TEST_COUNT}"}},
    {"id": "out", "type": "sink.null", "inputs": ["gen"]})"));
  CHECK(out == "test.json: /stages/0/params/count: expected an integer, got string\n");
}

TEST_CASE("substitute_env handles literals, keys and malformed references", "[config][env]") {
  env_var v{"SLUICE_TEST_V", "x/y"};
  env_var unset{"SLUICE_TEST_UNSET", nullptr};
  diagnostics diags;
  CHECK(substitute_env("a ${SLUICE_TEST_V} b ${SLUICE_TEST_V}", "/p", diags) == "a x/y b x/y");
  CHECK(substitute_env("$${SLUICE_TEST_V}", "/p", diags) == "${SLUICE_TEST_V}");
  CHECK(substitute_env("cost $5 ${SLUICE_TEST_UNSET:-}", "/p", diags) == "cost $5 ");
  CHECK(substitute_env("${SLUICE_TEST_UNSET:-a:-b}", "/p", diags) == "a:-b");
  CHECK(diags.all().empty());

  CHECK(substitute_env("${SLUICE_TEST_V", "/q", diags) == "${SLUICE_TEST_V");
  CHECK(substitute_env("${}", "/r", diags) == "${}");
  CHECK(diags.render()
        == "/q: unterminated '${' in \"${SLUICE_TEST_V\" (hint: write ${NAME}, or $${ for a "
           "literal '${')\n"
           "/r: empty variable name in \"${}\"\n");

  auto doc = nlohmann::ordered_json::parse(
    R"({"${SLUICE_TEST_V}": "${SLUICE_TEST_V}", "list": ["${SLUICE_TEST_V}", 1, true], "n": null})");
  diagnostics tree;
  substitute_env(doc, "", tree);
  CHECK(tree.all().empty());
  CHECK(doc.dump() == R"({"${SLUICE_TEST_V}":"x/y","list":["x/y",1,true],"n":null})");

  auto bad = nlohmann::ordered_json::parse(R"({"a/b": ["ok", "${SLUICE_TEST_UNSET}"]})");
  diagnostics errs;
  substitute_env(bad, "", errs);
  REQUIRE(errs.all().size() == 1);
  CHECK(errs.all()[0].json_path == "/a~1b/1");
}

// -- --set overrides ----------------------------------------------------------------

namespace {

std::string with_filter() {
  return pipeline(std::string{gen} + R"(,
    {"id": "big", "type": "filter", "inputs": ["gen"], "params": {"when": ".amount > 0"}},
    {"id": "out", "type": "sink.null", "inputs": ["big"]})");
}

} // namespace

TEST_CASE("a --set override: overrides a param by stage id, as a string when it is not JSON",
          "[config][overrides]") {
  diagnostics diags;
  auto plan = load(with_filter(), diags, {"stages.big.params.when=.amount > 10"});
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->config.stages[1].params["when"] == ".amount > 10");
  CHECK(plan->config.stages[1].params_ordered["when"] == ".amount > 10");
}

TEST_CASE("a --set override: takes JSON values: numbers stay numbers", "[config][overrides]") {
  diagnostics diags;
  auto plan = load(with_filter(), diags,
                   {"defaults.batch_size=500", "stages.gen.params.count=7", "name=\"renamed\"",
                    "stages.1.window=3"});
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->config.defaults.batch_size == 500);
  CHECK(plan->config.stages[0].flow.batch_size == 500);
  CHECK(plan->config.stages[2].flow.batch_size == 500);
  CHECK(plan->config.stages[0].params["count"] == 7);
  CHECK(plan->config.name == "renamed");
  CHECK(plan->config.stages[1].flow.window == 3);
  // A quoted number is a string, and batch_size refuses it.
  CHECK(errors_of(with_filter(), {"defaults.batch_size=\"500\""})
        == "test.json: /defaults/batch_size: expected a whole number from 1 to 1000000\n");
}

TEST_CASE("an overridden value is validated like a written one", "[config][overrides]") {
  CHECK(errors_of(with_filter(), {"stages.big.params.when=.amount >"})
        == "test.json: /stages/1/params/when: column 10: expected an expression after '>' in "
           "'.amount >'\n");
  CHECK(errors_of(with_filter(), {"stages.big.params.wen=1"})
        == "test.json: /stages/1/params/wen: unknown param 'wen' for stage type 'filter' "
           "(hint: known params: when)\n");
}

TEST_CASE("bad --set overrides are errors", "[config][overrides]") {
  CHECK(errors_of(with_filter(), {"stages.nope.params.when=true"})
        == "test.json: --set stages.nope.params.when=true: no stage with id 'nope' in /stages\n");
  CHECK(errors_of(with_filter(), {"stages.7.params.when=true"})
        == "test.json: --set stages.7.params.when=true: no stage with id '7' in /stages\n");
  CHECK(errors_of(with_filter(), {"defaults.batch_size"})
        == "test.json: --set defaults.batch_size: expected PATH=VALUE, e.g. "
           "stages.big.params.when=.amount > 10\n");
  CHECK(errors_of(with_filter(), {"=5"})
        == "test.json: --set =5: expected PATH=VALUE, e.g. stages.big.params.when=.amount > 10\n");
  CHECK(errors_of(with_filter(), {"stages..params=1"})
        == "test.json: --set stages..params=1: empty segment in the path 'stages..params'\n");
  CHECK(errors_of(with_filter(), {"name.x=1"})
        == "test.json: --set name.x=1: /name is not an object\n");
}

TEST_CASE("a --set stage index too large for any number is an error, not a crash",
          "[config][overrides]") {
  std::string out;
  REQUIRE_NOTHROW(out = errors_of(with_filter(), {"stages.99999999999999999999.params.when=true"}));
  CHECK(out == "test.json: --set stages.99999999999999999999.params.when=true: no stage with id "
               "'99999999999999999999' in /stages\n");
}

// -- relative paths ---------------------------------------------------------------

TEST_CASE("resolve_path joins relative paths to the base directory", "[config][paths]") {
  CHECK(resolve_path("/base", "data/in.jsonl") == "/base/data/in.jsonl");
  CHECK(resolve_path("/base", "/abs/in.jsonl") == "/abs/in.jsonl");
  CHECK(resolve_path("/base", "-") == "-");
  CHECK(resolve_path("/base", "") == "");
  CHECK(resolve_path(".", "in.jsonl") == "in.jsonl");
  CHECK(resolve_path("", "in.jsonl") == "in.jsonl");
  CHECK(resolve_path("rel/dir", "in.jsonl") == "rel/dir/in.jsonl");
  CHECK(resolve_path("/", "in.jsonl") == "/in.jsonl");
}

TEST_CASE("relative paths in a config resolve against its base directory", "[config][paths]") {
  temp_dir dir;
  dir.write("data/in.jsonl", "{\"a\": 1}\n");
  auto text = pipeline(R"({"id": "read", "type": "source.file", "params": {"path": "data/in.jsonl"}},
    {"id": "out", "type": "sink.null", "inputs": ["read"]})",
                       R"("dlq": {"path": "out/dead.jsonl"},)");
  diagnostics diags;
  auto plan = load(text, diags, {}, dir.path());
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->config.base_dir == dir.path());
  CHECK(plan->config.stages[0].base_dir == dir.path());
  CHECK(plan->config.dlq_path == dir / "out/dead.jsonl");
  CHECK(plan->source_files[0] == std::vector<std::string>{"data/in.jsonl"});

  // Against another base the same file is not there.
  temp_dir other;
  auto out = errors_of(text, {}, other.path());
  CHECK(out.rfind("test.json: /stages/0/params/path: ", 0) == 0);
  CHECK(out.find("data/in.jsonl") != std::string::npos);
}

TEST_CASE("load_pipeline resolves against the config file's directory", "[config][paths]") {
  temp_dir dir;
  dir.write("in.jsonl", "{\"a\": 1}\n");
  auto file = dir.write("p.json", pipeline(R"({"id": "read", "type": "source.file", "params": {"path": "in.jsonl"}},
    {"id": "out", "type": "sink.null", "inputs": ["read"]})"));
  diagnostics diags;
  auto plan = load_pipeline(file, {}, diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->config.file == file);
  CHECK(plan->config.base_dir == dir.path());
  CHECK(diags.file() == file);
}

// -- metrics ----------------------------------------------------------------------

TEST_CASE("the metrics section sets the sampling, the console and the HTTP endpoint",
          "[config][loader][metrics]") {
  auto stages = std::string{gen} + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen"]})";
  SECTION("defaults: console on its default address, no HTTP endpoint") {
    diagnostics diags;
    auto plan = load(pipeline(stages), diags);
    REQUIRE(plan);
    auto& m = plan->config.metrics;
    CHECK(m.interval_ms == 1000);
    CHECK(m.history == 60);
    CHECK(m.console);
    CHECK(m.console_addr.empty());
    CHECK(m.http_addr.empty());
  }
  SECTION("every key") {
    diagnostics diags;
    auto plan = load(pipeline(stages, R"("metrics": {"interval_ms": 250, "history": 120,
        "console": "127.0.0.1:0", "http": "9464"},)"), diags);
    INFO(diags.render());
    REQUIRE(plan);
    auto& m = plan->config.metrics;
    CHECK(m.interval_ms == 250);
    CHECK(m.history == 120);
    CHECK(m.console);
    CHECK(m.console_addr == "127.0.0.1:0");
    CHECK(m.http_addr == "127.0.0.1:9464");
  }
  SECTION("console false closes the console") {
    diagnostics diags;
    auto plan = load(pipeline(stages, R"("metrics": {"console": false},)"), diags);
    REQUIRE(plan);
    CHECK_FALSE(plan->config.metrics.console);
  }
}

TEST_CASE("a wrong metrics section is refused with the place and the fix",
          "[config][loader][metrics]") {
  auto stages = std::string{gen} + R"(, {"id": "out", "type": "sink.null", "inputs": ["gen"]})";
  CHECK(errors_of(pipeline(stages, R"("metrics": {"http": "localhost:99999"},)"))
        == "test.json: /metrics/http: 'localhost:99999' is not a listen address: the port is "
           "above 65535 (expected HOST:PORT, e.g. 127.0.0.1:9464, or a port)\n");
  CHECK(errors_of(pipeline(stages, R"("metrics": {"console": 7464},)"))
        == "test.json: /metrics/console: expected an address such as \"127.0.0.1:9464\" or "
           "false, got an integer\n");
  CHECK(errors_of(pipeline(stages, R"("metrics": {"intervall_ms": 10},)"))
        == "test.json: /metrics/intervall_ms: unknown key 'intervall_ms' in metrics (did you "
           "mean 'interval_ms'?) (hint: known keys: 'interval_ms', 'history', 'console', "
           "'http')\n");
  CHECK(errors_of(pipeline(stages, R"("metrics": {"interval_ms": 5},)"))
        .find("/metrics/interval_ms") != std::string::npos);
  CHECK(errors_of(pipeline(stages, R"("metrics": "on",)"))
        .find("/metrics: expected an object") != std::string::npos);
}

TEST_CASE("rate limits are declared resources that only calling stages name", "[config][loader]") {
  const char* limits = R"("resources": {"rate_limits": {"llm": {"rate": 5}, "crm": {"rate": 2, "per": "1m"}}},)";
  auto call = [](const std::string& extra) {
    return std::string{gen} + R"(,
    {"id": "c", "type": "http", "inputs": ["gen"], )" + extra + R"(
     "params": {"url": "http://127.0.0.1:9/x/{.id}", "into": "x"}},
    {"id": "out", "type": "sink.null", "inputs": ["c"]})";
  };
  SECTION("a known name, a list, and a cost are accepted") {
    diagnostics diags{"test.json"};
    auto plan = load_pipeline_text(pipeline(call(R"("rate_limit": ["llm", "crm", "llm"], "cost": "2",)"), limits),
                                   "test.json", ".", {}, diags);
    INFO(diags.render());
    REQUIRE(plan != nullptr);
    CHECK(plan->config.rate_limits.size() == 2);
    CHECK(plan->config.stages[1].rate_limits == std::vector<std::string>{"crm", "llm"});
    CHECK(plan->config.stages[1].cost == "2");
    REQUIRE(plan->config.find_rate_limit("crm") != nullptr);
    CHECK(plan->config.find_rate_limit("crm")->per_us == 60'000'000);
  }
  SECTION("an unknown name lists the declared ones") {
    CHECK(errors_of(pipeline(call(R"("rate_limit": "lmm",)"), limits))
          == "test.json: /stages/1/rate_limit: unknown rate limit 'lmm' (hint: known rate limits: "
             "'llm', 'crm')\n");
  }
  SECTION("a name with no resources at all says how to declare one") {
    CHECK_THAT(errors_of(pipeline(call(R"("rate_limit": "llm",)"))),
               Catch::Contains("unknown rate limit 'llm' (hint: declare it: \"resources\""));
  }
  SECTION("rate_limit and cost on a stage that calls nothing are refused") {
    auto out = errors_of(pipeline(std::string{gen} + R"(,
      {"id": "f", "type": "filter", "inputs": ["gen"], "rate_limit": "llm", "cost": "1",
       "params": {"when": "true"}},
      {"id": "out", "type": "sink.null", "inputs": ["f"]})", limits));
    CHECK_THAT(out, Catch::Contains("/stages/1/rate_limit: stage type 'filter' calls no outside service"));
    CHECK_THAT(out, Catch::Contains("/stages/1/cost: stage type 'filter' calls no outside service"));
  }
  SECTION("a malformed rate_limit, cost or resource is reported at its path") {
    auto out = errors_of(pipeline(call(R"("rate_limit": 3, "cost": ".id +",)"),
                                  R"("resources": {"rate_limits": {"llm": {"rate": 0}}},)"));
    CHECK_THAT(out, Catch::Contains("/stages/1/rate_limit: expected a rate limit's name or a list of names"));
    CHECK_THAT(out, Catch::Contains("/stages/1/cost: "));
    CHECK_THAT(out, Catch::Contains("/resources/rate_limits/llm/rate: "));
  }
  SECTION("a stage naming a limit whose declaration is broken is not told it is unknown") {
    auto out = errors_of(pipeline(call(R"("rate_limit": "llm",)"),
                                  R"("resources": {"rate_limits": {"llm": {"rate": 5, "per": "1 s"}}},)"));
    CHECK_THAT(out, Catch::Contains("/resources/rate_limits/llm/per: "));
    CHECK(out.find("unknown rate limit") == std::string::npos);
  }
}
