#include <catch2/catch.hpp>

#include "ops/aggregate.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using sluice::test::make_record;
using sluice::test::recording_emitter;

namespace {

stage_spec spec_of(const json& params) {
  stage_spec spec;
  spec.id = "totals";
  spec.type = "aggregate";
  spec.index = 3;
  spec.json_path = "/stages/3";
  spec.params = params;
  return spec;
}

std::optional<aggregate_config> parse(const json& params, diagnostics& diags) {
  auto spec = spec_of(params);
  params_reader p{spec.params, spec.json_path + "/params", "aggregate", diags};
  return aggregate_config::parse(spec, p);
}

aggregate_config config(const char* params) {
  diagnostics diags;
  auto cfg = parse(json::parse(params), diags);
  INFO(diags.render());
  REQUIRE(cfg);
  return std::move(*cfg);
}

// The diagnostics of params that must be refused.
std::vector<diagnostic> refused(const char* params) {
  diagnostics diags;
  CHECK_FALSE(parse(json::parse(params), diags));
  CHECK(diags.has_errors());
  return diags.all();
}

// Feeds each content as one record (lines counting on), then ends the batch.
void feed(op& a, recording_emitter& out, const std::vector<json>& contents) {
  static uint64_t line = 0;
  for (auto& c : contents)
    a.process(make_record(c, ++line), out);
  a.end_batch(out);
}

/// A clock the test moves by hand (microseconds since the epoch).
struct fake_clock {
  int64_t now = 0;
  void at_ms(int64_t ms) { now = ms * 1000; }
};

} // namespace

SCENARIO("aggregate counts and sums orders per customer", "[ops][aggregate]") {
  GIVEN("an aggregate grouped by .customer with count() and sum(.amount_cents)") {
    aggregate_op a{config(R"j({"group_by": [".customer"],
                              "aggregates": {"orders": "count()",
                                             "total_cents": "sum(.amount_cents)"}})j")};
    recording_emitter out;
    WHEN("orders of two customers arrive and the input ends") {
      feed(a, out, {{{"customer", "alice"}, {"amount_cents", 1250}},
                    {{"customer", "bob"}, {"amount_cents", 300}},
                    {{"customer", "alice"}, {"amount_cents", 750}}});
      THEN("nothing is emitted before the end, and every record is folded") {
        CHECK(out.emitted.empty());
        REQUIRE(out.discarded.size() == 3);
        for (auto& [rec, why] : out.discarded)
          CHECK(why == disposition::folded);
        CHECK(out.failed.empty());
      }
      a.finish(out);
      THEN("one record per customer comes out, in first-seen order") {
        CHECK(out.contents()
              == std::vector<json>{
                {{"customer", "alice"}, {"orders", 2}, {"total_cents", 2000}},
                {{"customer", "bob"}, {"orders", 1}, {"total_cents", 300}},
              });
        REQUIRE(out.emitted.size() == 2);
        CHECK(out.emitted[0].rec.id() == "totals:1");
        CHECK(out.emitted[1].rec.id() == "totals:2");
        CHECK(out.emitted[1].rec.trail().origin.source == 3);
        CHECK(out.emitted[1].rec.trail().origin.line == 2);
        CHECK(out.emitted[1].rec.content()["total_cents"].is_number_integer());
      }
    }
  }
}

TEST_CASE("every aggregate function over one group", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"aggregates": {
      "n": "count()", "total": "sum(.x)", "low": "min(.x)", "high": "max(.x)",
      "mean": "avg(.x)", "first_x": "first(.x)", "last_x": "last(.x)",
      "kinds": "distinct_count(.kind)", "first_name": "min(.name)", "last_name": "max(.name)"}})j")};
  recording_emitter out;
  feed(a, out, {{{"x", 4}, {"kind", "a"}, {"name", "mia"}},
                {{"x", -2}, {"kind", "b"}, {"name", "al"}},
                {{"x", 10}, {"kind", "a"}, {"name", "zoe"}},
                {{"x", 3}, {"kind", {1, 2}}, {"name", "bo"}}});
  a.finish(out);
  REQUIRE(out.contents().size() == 1);
  auto r = out.contents()[0];
  CHECK(r == json{{"n", 4}, {"total", 15}, {"low", -2}, {"high", 10}, {"mean", 3.75},
                  {"first_x", 4}, {"last_x", 3}, {"kinds", 3}, {"first_name", "al"},
                  {"last_name", "zoe"}});
}

TEST_CASE("nulls and missing fields are skipped by all but count", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"group_by": [".g"], "aggregates": {
      "n": "count()", "total": "sum(.x)", "low": "min(.x)", "mean": "avg(.x)",
      "first_x": "first(.x)", "last_x": "last(.x)", "distinct": "distinct_count(.x)"}})j")};
  recording_emitter out;
  feed(a, out, {{{"g", 1}},
                {{"g", 1}, {"x", 5}},
                {{"g", 1}, {"x", nullptr}},
                {{"g", 2}}});
  a.finish(out);
  CHECK(out.contents()
        == std::vector<json>{
          {{"g", 1}, {"n", 3}, {"total", 5}, {"low", 5}, {"mean", 5.0}, {"first_x", 5},
           {"last_x", 5}, {"distinct", 1}},
          {{"g", 2}, {"n", 1}, {"total", nullptr}, {"low", nullptr}, {"mean", nullptr},
           {"first_x", nullptr}, {"last_x", nullptr}, {"distinct", 0}},
        });
}

TEST_CASE("integer sums stay integers, while floats and overflow make floats", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"group_by": [".g"], "aggregates": {"total": "sum(.x)",
                                                             "mean": "avg(.x)"}})j")};
  recording_emitter out;
  feed(a, out, {{{"g", "ints"}, {"x", 2}},
                {{"g", "ints"}, {"x", 2}},
                {{"g", "mixed"}, {"x", 1}},
                {{"g", "mixed"}, {"x", 0.5}},
                {{"g", "big"}, {"x", INT64_MAX}},
                {{"g", "big"}, {"x", 1}}});
  a.finish(out);
  auto rs = out.contents();
  REQUIRE(rs.size() == 3);
  CHECK(rs[0]["total"] == 4);
  CHECK(rs[0]["total"].is_number_integer());
  CHECK(rs[0]["mean"] == 2.0);
  CHECK(rs[0]["mean"].is_number_float());
  CHECK(rs[1]["total"] == 1.5);
  CHECK(rs[1]["total"].is_number_float());
  CHECK(rs[2]["total"].is_number_float());
  CHECK(rs[2]["total"].get<double>() == Approx(9223372036854775808.0));
}

TEST_CASE("a value of the wrong type fails the record without folding it", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"group_by": [".g"], "aggregates": {"n": "count()",
                                                             "total": "sum(.x)"}})j")};
  recording_emitter out;
  feed(a, out, {{{"g", 1}, {"x", 5}},
                {{"g", 1}, {"x", "12"}},
                {{"g", 2}, {"x", true}}});
  REQUIRE(out.failed.size() == 2);
  CHECK(out.failed[0].rec.content() == json{{"g", 1}, {"x", "12"}});
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK(out.failed[0].err.message
        == "aggregate 'total' (sum(.x)): expected a number, got string \"12\"");
  CHECK(out.failed[1].err.message
        == "aggregate 'total' (sum(.x)): expected a number, got boolean true");
  CHECK(out.discarded.size() == 1);
  a.finish(out);
  // Neither failed record counts; the failed one did not even open group 2.
  CHECK(out.contents() == std::vector<json>{{{"g", 1}, {"n", 1}, {"total", 5}}});
}

TEST_CASE("min and max refuse to mix numbers and strings in a group", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"group_by": [".g"], "aggregates": {"low": "min(.x)"}})j")};
  recording_emitter out;
  feed(a, out, {{{"g", 1}, {"x", 3}},
                {{"g", 1}, {"x", "a"}},
                {{"g", 2}, {"x", "b"}},
                {{"g", 2}, {"x", {1}}}});
  REQUIRE(out.failed.size() == 2);
  CHECK(out.failed[0].err.message
        == "aggregate 'low' (min(.x)): cannot compare string \"a\" with the numbers of this "
           "group; min and max need all numbers or all strings");
  CHECK(out.failed[1].err.message
        == "aggregate 'low' (min(.x)): expected a number or a string, got array [1]");
  a.finish(out);
  CHECK(out.contents() == std::vector<json>{{{"g", 1}, {"low", 3}}, {{"g", 2}, {"low", "b"}}});
}

TEST_CASE("min and max compare mixed integers and floats by value", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"aggregates": {"low": "min(.x)", "high": "max(.x)"}})j")};
  recording_emitter out;
  feed(a, out, {{{"x", 2}}, {{"x", 1.5}}, {{"x", -1}}, {{"x", 2.5}}});
  a.finish(out);
  CHECK(out.contents() == std::vector<json>{{{"low", -1}, {"high", 2.5}}});
}

TEST_CASE("an expression error in group_by or an argument fails the record", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"group_by": [{"expr": "len(.name)", "as": "name_length"}],
                            "aggregates": {"total": "sum(.x * 2)"}})j")};
  recording_emitter out;
  feed(a, out, {{{"name", "abc"}, {"x", 1}},
                {{"name", 5}, {"x", 1}},
                {{"name", "xyz"}, {"x", "one"}}});
  REQUIRE(out.failed.size() == 2);
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK(out.failed[0].err.message.rfind("group_by 'len(.name)': ", 0) == 0);
  CHECK(out.failed[1].err.code == errc::type_error);
  CHECK(out.failed[1].err.message.rfind("aggregate 'total' (sum(.x * 2)): ", 0) == 0);
  a.finish(out);
  CHECK(out.contents() == std::vector<json>{{{"name_length", 3}, {"total", 2.0}}});
}

TEST_CASE("group keys combine several expressions and compare as JSON", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"group_by": [".country", ".user.tier"],
                            "aggregates": {"n": "count()"}})j")};
  recording_emitter out;
  feed(a, out, {{{"country", "de"}, {"user", {{"tier", 1}}}},
                {{"country", "fr"}, {"user", {{"tier", 1}}}},
                {{"country", "de"}, {"user", {{"tier", 1.0}}}},
                {{"country", "de"}}});
  a.finish(out);
  CHECK(out.contents()
        == std::vector<json>{{{"country", "de"}, {"tier", 1}, {"n", 2}},
                             {{"country", "fr"}, {"tier", 1}, {"n", 1}},
                             {{"country", "de"}, {"tier", nullptr}, {"n", 1}}});
}

TEST_CASE("a global aggregate emits one record, even for an empty input", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"aggregates": {"n": "count()", "total": "sum(.x)"}})j")};
  recording_emitter out;
  a.finish(out);
  CHECK(out.contents() == std::vector<json>{{{"n", 0}, {"total", nullptr}}});

  aggregate_op grouped{config(R"j({"group_by": [".g"], "aggregates": {"n": "count()"}})j")};
  recording_emitter none;
  grouped.finish(none);
  CHECK(none.emitted.empty());
}

TEST_CASE("group_by without aggregates lists the distinct groups", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"group_by": ".g", "aggregates": {}})j")};
  recording_emitter out;
  feed(a, out, {{{"g", "b"}}, {{"g", "a"}}, {{"g", "b"}}});
  a.finish(out);
  CHECK(out.contents() == std::vector<json>{{{"g", "b"}}, {{"g", "a"}}});
}

TEST_CASE("max_groups refuses records that would open one group too many", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"group_by": [".g"], "aggregates": {"n": "count()"},
                            "max_groups": 2})j")};
  recording_emitter out;
  feed(a, out, {{{"g", 1}}, {{"g", 2}}, {{"g", 3}}, {{"g", 1}}});
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].rec.content() == json{{"g", 3}});
  CHECK(out.failed[0].err.code == errc::runtime_error);
  CHECK(out.failed[0].err.message
        == "aggregate: this record would start group [3] beyond max_groups (2); raise "
           "max_groups, or use a tumbling window to bound the groups held at once");
  a.finish(out);
  CHECK(out.contents() == std::vector<json>{{{"g", 1}, {"n", 2}}, {{"g", 2}, {"n", 1}}});
}

SCENARIO("tumbling count windows close every N folded records", "[ops][aggregate]") {
  GIVEN("an aggregate with a window of 3 records") {
    aggregate_op a{config(R"j({"group_by": [".g"], "aggregates": {"n": "count()"},
                              "tumbling": {"count": 3}})j")};
    CHECK(a.tick_interval_us() == 0);
    recording_emitter out;
    WHEN("4 records and a failing one arrive in one batch") {
      a.process(make_record({{"g", "a"}}, 1), out);
      a.process(make_record({{"g", "b"}}, 2), out);
      a.process(make_record({{"g", "a"}, {"bad", true}}, 3), out);
      CHECK(out.emitted.empty()); // closed windows wait for the end of the batch
      a.process(make_record({{"g", "b"}}, 4), out);
      THEN("the first window is emitted at the end of the batch, the rest at finish") {
        a.end_batch(out);
        CHECK(out.contents() == std::vector<json>{{{"g", "a"}, {"n", 2}}, {{"g", "b"}, {"n", 1}}});
        CHECK(a.group_count() == 1);
        a.finish(out);
        CHECK(out.contents() == std::vector<json>{{{"g", "a"}, {"n", 2}},
                                                  {{"g", "b"}, {"n", 1}},
                                                  {{"g", "b"}, {"n", 1}}});
        CHECK(out.emitted[2].rec.id() == "totals:3");
      }
    }
  }
}

TEST_CASE("a failed record does not count towards a count window", "[ops][aggregate]") {
  aggregate_op a{config(R"j({"aggregates": {"total": "sum(.x)"}, "tumbling": {"count": 2}})j")};
  recording_emitter out;
  feed(a, out, {{{"x", 1}}, {{"x", "bad"}}, {{"x", 2}}, {{"x", 4}}});
  CHECK(out.failed.size() == 1);
  CHECK(out.contents() == std::vector<json>{{{"total", 3}}});
  a.finish(out);
  CHECK(out.contents() == std::vector<json>{{{"total", 3}}, {{"total", 4}}});
}

SCENARIO("tumbling time windows close on tick when their end passes", "[ops][aggregate]") {
  GIVEN("an aggregate with 1000 ms windows and a hand-driven clock") {
    fake_clock clock;
    aggregate_op a{config(R"j({"group_by": [".g"], "aggregates": {"n": "count()"},
                              "tumbling": {"ms": 1000}})j"),
                   [&] { return clock.now; }};
    CHECK(a.tick_interval_us() == 100'000);
    recording_emitter out;
    clock.at_ms(5'000'100);
    feed(a, out, {{{"g", "a"}}, {{"g", "b"}}});
    clock.at_ms(5'000'900);
    feed(a, out, {{{"g", "a"}}});

    WHEN("a tick comes before the window's end") {
      a.tick(5'000'999'999, out);
      THEN("nothing is emitted") {
        CHECK(out.emitted.empty());
      }
    }
    WHEN("a tick comes at the window's end") {
      a.tick(5'001'000'000, out);
      THEN("the window's groups are emitted with its bounds") {
        CHECK(out.contents()
              == std::vector<json>{
                {{"g", "a"}, {"n", 2}, {"window_start", 5'000'000}, {"window_end", 5'001'000}},
                {{"g", "b"}, {"n", 1}, {"window_start", 5'000'000}, {"window_end", 5'001'000}},
              });
        CHECK(a.group_count() == 0);
      }
    }
    WHEN("a record of a later window arrives before any tick") {
      clock.at_ms(5'002'500);
      feed(a, out, {{{"g", "c"}}});
      THEN("the open window closes at the end of that batch and the new one stays open") {
        CHECK(out.contents().size() == 2);
        CHECK(a.group_count() == 1);
        a.finish(out);
        REQUIRE(out.contents().size() == 3);
        CHECK(out.contents()[2]
              == json{{"g", "c"}, {"n", 1}, {"window_start", 5'002'000}, {"window_end", 5'003'000}});
      }
    }
    WHEN("the clock steps back") {
      clock.at_ms(4'000'000);
      feed(a, out, {{{"g", "a"}}});
      a.tick(5'001'000'000, out);
      THEN("the record joins the open window") {
        CHECK(out.contents().size() == 2);
        CHECK(out.contents()[0]["n"] == 3);
      }
    }
  }
}

TEST_CASE("a group_by expression that is not a path needs a name", "[ops][aggregate]") {
  auto diags = refused(R"j({"group_by": [".a", "len(.name)"], "aggregates": {"n": "count()"}})j");
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].json_path == "/stages/3/params/group_by/1");
  CHECK(diags[0].message == "'len(.name)' is not a field path, so its output field has no name");
  CHECK(diags[0].hint == "name it: {\"expr\": \"len(.name)\", \"as\": \"<field>\"}");

  auto index = refused(R"j({"group_by": [".tags[0]"], "aggregates": {"n": "count()"}})j");
  REQUIRE(index.size() == 1);
  CHECK(index[0].json_path == "/stages/3/params/group_by/0");

  auto bad = refused(R"j({"group_by": [{"expr": ".a"}, 3], "aggregates": {"n": "count()"}})j");
  REQUIRE(bad.size() == 2);
  CHECK(bad[0].json_path == "/stages/3/params/group_by/0/as");
  CHECK(bad[1].json_path == "/stages/3/params/group_by/1");
}

TEST_CASE("an unknown aggregate function is a config error", "[ops][aggregate]") {
  auto diags = refused(R"j({"aggregates": {"total": "summ(.x)"}})j");
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].json_path == "/stages/3/params/aggregates/total");
  CHECK(diags[0].message == "column 1: unknown aggregate function 'summ' (did you mean 'sum'?); "
                            "the functions are count, sum, min, max, avg, first, last, "
                            "distinct_count in 'summ(.x)'");
}

TEST_CASE("a wrong number of arguments is a config error with its column", "[ops][aggregate]") {
  auto message = [](const char* spec) {
    auto diags = refused((std::string{R"({"aggregates": {"a/b": ")"} + spec + "\"}}").c_str());
    REQUIRE(diags.size() == 1);
    CHECK(diags[0].json_path == "/stages/3/params/aggregates/a~1b");
    return diags[0].message;
  };
  CHECK(message("count(.x)") == "column 7: count() takes no argument: it counts the records of "
                                "each group in 'count(.x)'");
  CHECK(message("sum()") == "column 5: sum() needs one argument, e.g. sum(.amount) in 'sum()'");
  CHECK(message("avg( )") == "column 5: avg() needs one argument, e.g. avg(.amount) in 'avg( )'");
  CHECK(message("max(.a, .b, .c)")
        == "column 7: max() takes one argument, got 3 in 'max(.a, .b, .c)'");
  CHECK(message("first") == "column 6: expected '(' after 'first' in 'first'");
  CHECK(message("last(.x") == "column 8: expected ')' to close last( in 'last(.x'");
  CHECK(message("(.x)") == "column 1: expected an aggregate function such as count() or "
                           "sum(.amount) in '(.x)'");
  // Commas inside brackets, calls and strings do not separate arguments.
  config(R"j({"aggregates": {"pairs": "distinct_count([.a, .b])",
                            "n": " count( ) ", "s": "first(\",\")"}})j");
}

TEST_CASE("an argument's syntax error points into the whole aggregate text", "[ops][aggregate]") {
  auto diags = refused(R"j({"aggregates": {"total": "sum((.x)"}})j");
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].json_path == "/stages/3/params/aggregates/total");
  // The argument starts at column 5, so its columns 1 and 4 are 5 and 8 here.
  CHECK(diags[0].message
        == "column 8: expected ')' to close the '(' at column 5 in 'sum((.x)'");
}

TEST_CASE("output field names must be unique", "[ops][aggregate]") {
  auto clash = refused(R"j({"group_by": [".customer"], "aggregates": {"customer": "count()"}})j");
  REQUIRE(clash.size() == 1);
  CHECK(clash[0].json_path == "/stages/3/params/aggregates/customer");
  CHECK(clash[0].message == "output field 'customer' is already used by group_by/0; choose "
                            "another name");

  auto twice = refused(R"j({"group_by": [".a.id", ".b.id"], "aggregates": {"n": "count()"}})j");
  REQUIRE(twice.size() == 1);
  CHECK(twice[0].json_path == "/stages/3/params/group_by/1");
  CHECK(twice[0].message == "output field 'id' is already the name of group_by/0");

  auto window = refused(R"j({"aggregates": {"window_start": "min(.t)"}, "tumbling": {"ms": 10}})j");
  REQUIRE(window.size() == 1);
  CHECK(window[0].message == "output field 'window_start' is already used by the time window's "
                             "start; choose another name");
  // Without a time window the name is free.
  config(R"j({"aggregates": {"window_start": "min(.t)"}, "tumbling": {"count": 10}})j");
}

TEST_CASE("tumbling takes exactly one of count and ms", "[ops][aggregate]") {
  auto both = refused(R"j({"aggregates": {"n": "count()"}, "tumbling": {"count": 1, "ms": 1}})j");
  REQUIRE(both.size() == 1);
  CHECK(both[0].json_path == "/stages/3/params/tumbling");
  CHECK(both[0].message == "give either 'count' or 'ms', not both");
  auto neither = refused(R"j({"aggregates": {"n": "count()"}, "tumbling": {}})j");
  REQUIRE(neither.size() == 1);
  CHECK(neither[0].json_path == "/stages/3/params/tumbling");
  auto zero = refused(R"j({"aggregates": {"n": "count()"}, "tumbling": {"ms": 0}})j");
  REQUIRE(zero.size() == 1);
  CHECK(zero[0].json_path == "/stages/3/params/tumbling/ms");
  auto typo = refused(R"j({"aggregates": {"n": "count()"}, "tumbling": {"size": 5}})j");
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].json_path == "/stages/3/params/tumbling/size");
}

TEST_CASE("aggregate params are checked", "[ops][aggregate]") {
  auto missing = refused(R"j({"group_by": [".a"]})j");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].json_path == "/stages/3/params/aggregates");

  auto nothing = refused(R"j({"aggregates": {}})j");
  REQUIRE(nothing.size() == 1);
  CHECK(nothing[0].message.rfind("nothing to compute", 0) == 0);

  auto not_string = refused(R"j({"aggregates": {"n": 5}})j");
  REQUIRE(not_string.size() == 1);
  CHECK(not_string[0].json_path == "/stages/3/params/aggregates/n");

  auto groups = refused(R"j({"group_by": {"a": ".a"}, "aggregates": {"n": "count()"}})j");
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].json_path == "/stages/3/params/group_by");

  auto max_groups = refused(R"j({"aggregates": {"n": "count()"}, "max_groups": 0})j");
  REQUIRE(max_groups.size() == 1);
  CHECK(max_groups[0].json_path == "/stages/3/params/max_groups");

  // A broken group_by is not reported again as "nothing to compute".
  auto broken = refused(R"j({"group_by": ["len(.a)"], "aggregates": {}})j");
  REQUIRE(broken.size() == 1);
  CHECK(broken[0].json_path == "/stages/3/params/group_by/0");

  // Every problem at once, not only the first.
  auto many = refused(R"j({"group_by": ["len(.a)"], "aggregates": {"x": "nope()", "y": "sum()"},
                          "windw": 1})j");
  CHECK(many.size() == 4);
}

TEST_CASE("aggregate partitions replicas by its group keys", "[ops][aggregate]") {
  auto kind = describe_aggregate();
  CHECK(kind.allows_parallelism);
  CHECK(kind.default_partition(spec_of(json::parse(R"j({"group_by": [".customer"]})j")))
        == ".customer");
  CHECK(kind.default_partition(spec_of(json::parse(
          R"j({"group_by": [".country", {"expr": "lower(.city)", "as": "city"}]})j")))
        == "[.country, lower(.city)]");
  CHECK(kind.default_partition(spec_of(json::parse(R"j({"aggregates": {"n": "count()"}})j"))) == "");
}

TEST_CASE("the documented aggregate example is accepted", "[ops][aggregate]") {
  // Same text as the example in docs/stages.md (aggregate).
  auto stage = json::parse(R"j({
    "id": "per_customer",
    "type": "aggregate",
    "inputs": ["unique_orders"],
    "params": {
      "group_by": [".customer", {"expr": "lower(.country)", "as": "country"}],
      "aggregates": {
        "orders": "count()",
        "total_cents": "sum(.amount_cents)",
        "largest_cents": "max(.amount_cents)",
        "average_cents": "avg(.amount_cents)",
        "first_order": "first(.order_id)",
        "currencies": "distinct_count(.currency)"
      },
      "max_groups": 100000
    }
  })j");
  diagnostics diags;
  auto spec = spec_of(stage["params"]);
  spec.id = "per_customer";
  params_reader p{spec.params, spec.json_path + "/params", "aggregate", diags};
  auto op = describe_aggregate().make_op(spec, p);
  INFO(diags.render());
  REQUIRE(op != nullptr);
  recording_emitter out;
  op->process(make_record({{"customer", "ann"}, {"country", "DE"}, {"amount_cents", 1250},
                           {"order_id", "o-1"}, {"currency", "EUR"}}, 1),
              out);
  op->process(make_record({{"customer", "ann"}, {"country", "de"}, {"amount_cents", 750},
                           {"order_id", "o-2"}, {"currency", "EUR"}}, 2),
              out);
  op->finish(out);
  CHECK(out.contents()
        == std::vector<json>{{{"customer", "ann"}, {"country", "de"}, {"orders", 2},
                              {"total_cents", 2000}, {"largest_cents", 1250},
                              {"average_cents", 1000.0}, {"first_order", "o-1"},
                              {"currencies", 1}}});
  CHECK(out.emitted[0].rec.id() == "per_customer:1");
}
