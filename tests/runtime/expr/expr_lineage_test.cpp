// lineage.source / .file / .line / .path: reading a record's trail through
// the pipeline's names, and the compile errors around them.

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "core/trail_names.hpp"
#include "runtime/expr/expr_test_support.hpp"

using namespace sluice;
using sluice::expr::expression;
using sluice::expr::testing::compile_error;

namespace {

// Stages: 0 eu_orders (one file), 1 us_orders (two files), 2 check,
// 3 split, 4 totals (an aggregate), 5 gen (a generator).
std::shared_ptr<const trail_names> names() {
  auto n = std::make_shared<trail_names>();
  n->stages = {"eu_orders", "us_orders", "check", "split", "totals", "gen"};
  n->source_files = {{"data/eu-2026-11.jsonl"}, {"data/us.jsonl", "data/us-2026-11.jsonl"},
                     {}, {}, {}, {"generate"}};
  n->generated = {false, false, false, false, false, true};
  return n;
}

record from(stage_index source, uint32_t file, uint64_t line,
            std::initializer_list<stage_index> hops, json content = json::object()) {
  lineage_trail t;
  t.origin = {source, file, line};
  int64_t at = 1'700'000'000'000'000;
  for (auto h : hops)
    t.hops.push_back({h, at++});
  return record{"r", std::move(content), std::move(t)};
}

// The result as compact JSON, or "<errc>: <message>".
std::string eval(const std::string& text, const record& rec) {
  auto e = expression::compile(text, names());
  if (!e)
    return std::string{to_string(e.err().code)} + ": " + e.err().message;
  auto v = e->eval(rec);
  if (!v)
    return std::string{to_string(v.err().code)} + ": " + v.err().message;
  return v->dump();
}

} // namespace

TEST_CASE("lineage members read the record's trail by name", "[expr][lineage]") {
  auto rec = from(1, 1, 7, {1, 2});
  CHECK(eval("lineage.source", rec) == R"("us_orders")");
  CHECK(eval("lineage.file", rec) == R"("data/us-2026-11.jsonl")");
  CHECK(eval("lineage.line", rec) == "7");
  CHECK(eval("lineage.path", rec) == R"(["us_orders","check"])");
  CHECK(eval("lineage.path[0]", rec) == R"("us_orders")");
  CHECK(eval("lineage.path[-1]", rec) == R"("check")");
  CHECK(eval("lineage.path [1]", rec) == R"("check")");
  CHECK(eval("lineage.path[5]", rec) == "null");
  CHECK(eval("len(lineage.path)", rec) == "2");
}

TEST_CASE("a route predicate can branch on where a record came from", "[expr][lineage]") {
  auto eu = from(0, 0, 3, {0});
  auto us = from(1, 0, 3, {1});
  CHECK(eval(R"(lineage.source == "eu_orders")", eu) == "true");
  CHECK(eval(R"(lineage.source == "eu_orders")", us) == "false");
  CHECK(eval(R"(contains(lineage.file, "2026-11"))", eu) == "true");
  CHECK(eval(R"(contains(lineage.file, "2026-11"))", us) == "false");
  CHECK(eval(R"("check" in lineage.path)", from(1, 0, 1, {1, 2})) == "true");
  CHECK(eval(R"(lineage.source + ":" + to_string(lineage.line))", eu) == R"("eu_orders:3")");
}

TEST_CASE("lineage file is empty for generators and aggregate output", "[expr][lineage]") {
  CHECK(eval("lineage.file", from(5, 0, 9, {5})) == R"("")");
  CHECK(eval("lineage.source", from(5, 0, 9, {5})) == R"("gen")");
  auto total = from(4, 0, 2, {4});
  CHECK(eval("lineage.source", total) == R"("totals")");
  CHECK(eval("lineage.file", total) == R"("")");
  CHECK(eval("lineage.line", total) == "2");
}

TEST_CASE("lineage does not clash with a record field called lineage", "[expr][lineage]") {
  auto rec = from(0, 0, 1, {0}, {{"lineage", {{"source", "field"}}}});
  CHECK(eval(".lineage.source", rec) == R"("field")");
  CHECK(eval("lineage.source", rec) == R"("eu_orders")");
}

TEST_CASE("an unknown lineage member is a compile error listing the members",
          "[expr][lineage]") {
  auto err = [](const std::string& text) {
    auto e = expression::compile(text, names());
    return e ? std::string{"compiled"} : e.err().message;
  };
  CHECK(err("lineage.sorce")
        == "column 9: unknown lineage member 'sorce' (did you mean 'lineage.source'?); the "
           "members are lineage.source, lineage.file, lineage.line and lineage.path");
  CHECK(err(".a == 1 && lineage.xyz == 2")
        == "column 20: unknown lineage member 'xyz'; the members are lineage.source, "
           "lineage.file, lineage.line and lineage.path");
  CHECK(err("lineage")
        == "column 1: 'lineage' is the record's lineage trail, read through a member: the "
           "members are lineage.source, lineage.file, lineage.line and lineage.path");
  CHECK(err("lineage .source")
        == "column 1: 'lineage' is the record's lineage trail, read through a member: the "
           "members are lineage.source, lineage.file, lineage.line and lineage.path");
  CHECK(err("lineage.path.x") == "column 9: lineage.path has no member 'x'");
  CHECK(err("linage.source") == "column 1: unknown name 'linage' (did you mean 'lineage'?)");
  CHECK(err(R"(lineage("x"))") == "column 1: unknown function 'lineage'");
}

TEST_CASE("lineage without the pipeline's names is a clear compile error", "[expr][lineage]") {
  CHECK(compile_error(R"(lineage.source == "eu")")
        == "column 1: lineage.source is not available here: it needs the pipeline's stage "
           "names, which expressions get in stage params (filter, map, route, dedupe, "
           "aggregate keys) but not in partition_by, aggregate function arguments or an "
           "expression compiled on its own");
  // Checked before the names: a typo is reported as a typo anywhere.
  CHECK_THAT(compile_error("lineage.fil"), Catch::StartsWith("column 9: unknown lineage member"));
}
