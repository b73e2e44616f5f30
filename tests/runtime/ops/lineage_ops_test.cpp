// Lineage in the data: a loaded pipeline hands its stage and file names to
// every operator, so a route can branch on lineage.* and a sink can write
// `_lineage` (include_lineage).

#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "core/trail_names.hpp"
#include "ops/registry.hpp"
#include "ops/sinks.hpp"
#include "runtime/io/temp_dir.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using test::recording_emitter;

namespace {

constexpr int64_t t0 = 1'700'000'000'000'000; // 2023-11-14T22:13:20Z

record from(stage_index source, uint64_t line, std::vector<stage_index> hops,
            json content = {{"n", 1}}) {
  lineage_trail t;
  t.origin = {source, 0, line};
  int64_t at = t0;
  for (auto h : hops)
    t.hops.push_back({h, at++});
  return record{"r" + std::to_string(line), std::move(content), std::move(t)};
}

// Two generators (stages 0 and 1), a route on where records came from
// (stage 2) and a sink on each of its outputs.
std::string config(const std::string& route_when, const std::string& sink_params = "{}") {
  return R"({"name": "t", "stages": [
    {"id": "eu_orders", "type": "source.generate", "params": {"count": 1}},
    {"id": "us_orders", "type": "source.generate", "params": {"count": 1}},
    {"id": "split", "type": "route", "inputs": ["eu_orders", "us_orders"],
     "params": {"routes": {"eu": )" + json(route_when).dump() + R"(}, "default": "rest"}},
    {"id": "eu_out", "type": "sink.null", "inputs": ["split.eu"]},
    {"id": "rest_out", "type": "sink.stdout", "inputs": ["split.rest"], "params": )"
         + sink_params + R"(}]})";
}

std::vector<std::string> problems(const std::string& text) {
  diagnostics diags{"t.json"};
  auto plan = load_pipeline_text(text, "t.json", ".", {}, diags);
  std::vector<std::string> out;
  for (auto& d : diags.all())
    out.push_back(d.json_path + ": " + d.message);
  CHECK((plan == nullptr) == diags.has_errors());
  return out;
}

// Builds stage `i`'s operator as the stage actor does: through the registry.
op_ptr build(const pipeline_plan& plan, stage_index i) {
  auto& spec = plan.stage(i);
  diagnostics diags;
  params_reader p{spec.params, spec.json_path + "/params", spec.type, diags,
                  &spec.params_ordered};
  auto op = plan.kinds[i]->make_op(spec, p);
  INFO(diags.render());
  REQUIRE(op != nullptr);
  return op;
}

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  return out;
}

std::shared_ptr<const trail_names> names() {
  auto n = std::make_shared<trail_names>();
  n->stages = {"read", "check", "totals", "out"};
  n->source_files = {{"data/orders.csv"}, {}, {}, {}};
  n->generated = {false, false, false, false};
  return n;
}

} // namespace

TEST_CASE("a loaded route branches on the source a record came from", "[ops][lineage]") {
  diagnostics diags{"t.json"};
  auto plan = load_pipeline_text(config(R"(lineage.source == "eu_orders")"), "t.json", ".", {},
                                 diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  REQUIRE(plan->names != nullptr);
  CHECK(plan->stage(2).names == plan->names);
  CHECK(plan->names->stages
        == std::vector<std::string>{"eu_orders", "us_orders", "split", "eu_out", "rest_out"});
  auto route = build(*plan, 2);
  recording_emitter out;
  route->process(from(0, 1, {0}), out);
  route->process(from(1, 1, {1}), out);
  route->process(from(0, 2, {0}), out);
  REQUIRE(out.emitted.size() == 3);
  CHECK(out.emitted[0].port == 0);
  CHECK(out.emitted[1].port == 1);
  CHECK(out.emitted[2].port == 0);
}

TEST_CASE("a generator's records have an empty lineage file", "[ops][lineage]") {
  diagnostics diags{"t.json"};
  auto plan = load_pipeline_text(config(R"(lineage.file == "" && lineage.line == 3)"), "t.json",
                                 ".", {}, diags);
  INFO(diags.render());
  REQUIRE(plan != nullptr);
  CHECK(plan->names->origin_text({1, 0, 3}) == "generate:3");
  auto route = build(*plan, 2);
  recording_emitter out;
  route->process(from(1, 3, {1}), out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].port == 0);
}

TEST_CASE("validation reports an unknown lineage member with its JSON path", "[ops][lineage]") {
  CHECK(problems(config(R"(lineage.sorce == "eu_orders")"))
        == std::vector<std::string>{
          "/stages/2/params/routes/eu: column 9: unknown lineage member 'sorce' (did you mean "
          "'lineage.source'?); the members are lineage.source, lineage.file, lineage.line and "
          "lineage.path in 'lineage.sorce == \"eu_orders\"'"});
}

TEST_CASE("lineage in partition_by is a validation error, not a silent miss", "[ops][lineage]") {
  auto text = config("true");
  auto at = text.find(R"("type": "route")");
  text.insert(at, R"("parallelism": 2, "partition_by": "lineage.source", )");
  auto found = problems(text);
  REQUIRE(found.size() == 1);
  CHECK_THAT(found[0], Catch::StartsWith("/stages/2/partition_by: column 1: lineage.source is "
                                         "not available here"));
}

TEST_CASE("include_lineage must be a boolean", "[ops][lineage]") {
  CHECK(problems(config("true", R"({"include_lineage": "yes"})"))
        == std::vector<std::string>{
          "/stages/4/params/include_lineage: expected true or false, got string"});
  CHECK(problems(config("true", R"({"include_lineage": true, "format": "csv"})")).empty());
}

TEST_CASE("include_lineage adds a _lineage object to each JSON line", "[ops][lineage][sink]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  stdout_sink_op op{record_format{data_format::jsonl, ',', {}, names()}, f};
  recording_emitter out;
  op.process(from(0, 12, {0, 1}, {{"customer", "ada"}, {"amount", 5}}), out);
  op.process(from(2, 1, {2}, json::object()), out); // an aggregate's first output
  op.finish(out);
  REQUIRE(op.commit());
  CHECK(out.discarded.size() == 2);
  CHECK(read_all(f)
        == R"({"amount":5,"customer":"ada","_lineage":{"file":"data/orders.csv","hops":[)"
           R"({"at":"2023-11-14T22:13:20.000000Z","stage":"read"},)"
           R"({"at":"2023-11-14T22:13:20.000001Z","stage":"check"}],"line":12,)"
           R"("origin":"data/orders.csv:12","path":["read","check"],"source":"read"}})"
           "\n"
           R"({"_lineage":{"file":"","hops":[{"at":"2023-11-14T22:13:20.000000Z","stage":)"
           R"("totals"}],"line":1,"origin":"totals:1","path":["totals"],"source":"totals"}})"
           "\n");
  std::fclose(f);
}

TEST_CASE("include_lineage replaces a _lineage field the record already has",
          "[ops][lineage][sink]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  stdout_sink_op op{record_format{data_format::jsonl, ',', {}, names()}, f};
  recording_emitter out;
  op.process(from(0, 1, {}, {{"_lineage", "old"}, {"a", 1}}), out);
  op.finish(out);
  REQUIRE(op.commit());
  auto line = json::parse(read_all(f));
  CHECK(line["a"] == 1);
  CHECK(line["_lineage"]["origin"] == "data/orders.csv:1");
  CHECK(line["_lineage"]["path"] == json::array());
  std::fclose(f);
}

TEST_CASE("include_lineage in CSV is a _lineage column of JSON text in key order", "[ops][lineage][sink]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  stdout_sink_op op{record_format{data_format::csv, ',', {}, names()}, f};
  recording_emitter out;
  op.process(from(0, 2, {0}, {{"a", 1}}), out);
  op.finish(out);
  REQUIRE(op.commit());
  CHECK(read_all(f)
        == "_lineage,a\n"
           R"("{""file"":""data/orders.csv"",""hops"":[{""at"":""2023-11-14T22:13:20.000000Z"",)"
           R"(""stage"":""read""}],""line"":2,""origin"":""data/orders.csv:2"",""path"":[""read""],)"
           R"(""source"":""read""}",1)"
           "\n");
  std::fclose(f);
}

TEST_CASE("sink.file with include_lineage and given columns adds the _lineage column",
          "[ops][lineage][sink]") {
  test::temp_dir dir;
  stage_spec spec;
  spec.id = "out";
  spec.type = "sink.file";
  spec.index = 3;
  spec.json_path = "/stages/3";
  spec.base_dir = dir.path();
  spec.params = {{"path", "out.csv"}, {"columns", {"a"}}, {"include_lineage", true}};
  spec.names = names();
  diagnostics diags;
  params_reader p{spec.params, "/stages/3/params", spec.type, diags};
  auto op = describe_sink_file().make_op(spec, p);
  INFO(diags.render());
  REQUIRE(op != nullptr);
  recording_emitter out;
  REQUIRE(op->start());
  op->process(from(0, 4, {0}, {{"a", 1}}), out);
  op->finish(out);
  REQUIRE(op->commit());
  auto text = dir.read("out.csv");
  CHECK_THAT(text, Catch::StartsWith("a,_lineage\n1,\"{\"\"file\"\":\"\"data/orders.csv\"\""));
}

TEST_CASE("a sink without the pipeline's names writes stage numbers", "[ops][lineage][sink]") {
  trail_names none;
  auto rec = from(3, 5, {3, 7});
  CHECK(none.to_json(rec.trail())
        == json::parse(R"({"source": "3", "origin": "?:5", "file": "", "line": 5,
          "path": ["3", "7"], "hops": [{"stage": "3", "at": "2023-11-14T22:13:20.000000Z"},
                                       {"stage": "7", "at": "2023-11-14T22:13:20.000001Z"}]})"));
  CHECK(iso_time_us(-1) == "1969-12-31T23:59:59.999999Z");
}
