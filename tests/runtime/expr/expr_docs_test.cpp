// Every example in docs/expressions.md, evaluated as the page says it
// evaluates. Change both together.

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/trail_names.hpp"
#include "runtime/expr/expr_test_support.hpp"

using sluice::json;
using sluice::expr::testing::compile_error;
using sluice::expr::testing::run;

namespace {

struct example {
  const char* text;
  const char* content; // JSON
  const char* result;  // compact JSON, or "<errc>: <message>"
};

void check_all(const std::vector<example>& examples) {
  for (auto& e : examples) {
    INFO(e.text << " on " << e.content);
    CHECK(run(e.text, json::parse(e.content)) == e.result);
  }
}

} // namespace

TEST_CASE("the field path examples of the reference hold", "[expr][docs]") {
  const char* rec = R"({"amount": 75, "user": {"address": {"city": "Paris"}, "first-name": "Ada"},
    "tags": ["a", "b", "c"], "items": [{"sku": "x"}, {"sku": "y"}], "matrix": [[1, 2], [3, 4]],
    "odd key": 1, "say \"hi\"": 2, "": 3, "café": 4})";
  check_all({
    {".amount", rec, "75"},
    {".user.address.city", rec, R"("Paris")"},
    {".tags[0]", rec, R"("a")"},
    {".tags[-1]", rec, R"("c")"},
    {".tags[-2]", rec, R"("b")"},
    {".items[1].sku", rec, R"("y")"},
    {".matrix[1][0]", rec, "3"},
    {R"(."odd key")", rec, "1"},
    {R"(."say \"hi\"")", rec, "2"},
    {R"(."")", rec, "3"},
    {R"(.user."first-name")", rec, R"("Ada")"},
    {".caf\xC3\xA9", rec, "4"},
    {".amount.x", rec, "null"},
    {".missing", rec, "null"},
    {"exists(.a)", R"({"a": null})", "true"},
  });
  CHECK(compile_error(".user-id")
        == "column 7: unknown name 'id': a key containing '-' must be quoted, as in "
           ".\"user-id\" (or put spaces around '-' to subtract)");
  CHECK_THAT(compile_error(".tags [0]"), Catch::StartsWith("column 7: expected an operator"));
}

TEST_CASE("the literal and number examples of the reference hold", "[expr][docs]") {
  check_all({
    {"1e3", "{}", "1000.0"},
    {"2.5E-1", "{}", "0.25"},
    {R"("\u00e9")", "{}", "\"\xC3\xA9\""},
    {"[.a, .b + 1]", R"({"a": 1, "b": 2})", "[1,3]"},
    {R"(split(.name, " ")[0])", R"({"name": "Ada Lovelace"})", R"("Ada")"},
    {"[10, 20, 30][-1]", "{}", "30"},
    {"(.tags)[1]", R"({"tags": [1, 2]})", "2"},
    {"1 + 2", "{}", "3"},
    {"6 / 2", "{}", "3"},
    {"7 / 2", "{}", "3.5"},
    {"1 + 2.0", "{}", "3.0"},
    {"7 % 3", "{}", "1"},
    {"-7 % 3", "{}", "-1"},
    {"7.5 % 2", "{}", "1.5"},
    {"0.1 + 0.2", "{}", "0.30000000000000004"},
    {"1.005 * 100", "{}", "100.49999999999999"},
    {"round(1.005 * 100)", "{}", "100"},
    {"(1 + 2) * 3", "{}", "9"},
    {"1 + 2 * 3", "{}", "7"},
  });
  CHECK_THAT(run("9223372036854775807 + 1"),
             Catch::StartsWith("type_error: '+': integer overflow in 9223372036854775807 + 1"));
  CHECK(run("1 / 0") == "type_error: '/': division by zero");
}

TEST_CASE("the operator examples of the reference hold", "[expr][docs]") {
  check_all({
    {R"("ab" + "cd")", "{}", R"("abcd")"},
    {"[1] + [2, 3]", "{}", "[1,2,3]"},
    {R"("n=" + to_string(.n))", R"({"n": 4})", R"("n=4")"},
    {"9007199254740993 > 9007199254740992.0", "{}", "true"},
    {R"("B" < "a")", "{}", "true"},
    {"1 == 1.0", "{}", "true"},
    {R"("1" == 1)", "{}", "false"},
    {"null == false", "{}", "false"},
    {"null == null", "{}", "true"},
    {"2.0 in [1, 2]", "{}", "true"},
    {R"("ell" in "hello")", "{}", "true"},
    {R"("" in "hello")", "{}", "true"},
    {R"("name" in .user)", R"({"user": {"name": "Ada"}})", "true"},
    {"false && (1/0 > 0)", "{}", "false"},
    {".qty > 0 && .total / .qty > 10", R"({"qty": 0, "total": 5})", "false"},
  });
  CHECK(run(R"("a" * 2)") == "type_error: '*': cannot multiply string by integer");
  CHECK_THAT(run(R"("a" + 1)"), Catch::StartsWith("type_error: '+': cannot add integer to string"));
  CHECK_THAT(run(R"(1 < "a")"), Catch::StartsWith("type_error: '<': cannot compare integer with string"));
  CHECK(run("1 && true") == "type_error: '&&': the left side is integer, expected true or false");
  CHECK(compile_error("1 < 2 < 3") == "column 7: comparisons cannot be chained; write 'a < b && b < c'");
}

TEST_CASE("the missing field table of the reference holds", "[expr][docs]") {
  check_all({
    {".amount > 50", "{}", "false"},
    {".amount <= 50", "{}", "false"},
    {"!(.amount > 50)", "{}", "true"},
    {".amount == null", "{}", "true"},
    {".amount != 0", "{}", "true"},
    {".amount * 2", "{}",
     "type_error: '*': cannot multiply null by integer (a missing field is null; "
     "coalesce(.field, 0) gives a default)"},
    {"lower(.name)", "{}", "type_error: lower: expected a string, got null (a missing field is null)"},
    {"exists(.amount)", "{}", "false"},
    {"coalesce(.amount, 0)", "{}", "0"},
  });
  CHECK_THAT(run(".flag && .x"), Catch::StartsWith("type_error: '&&': the left side is null"));
}

TEST_CASE("the function examples of the reference hold", "[expr][docs]") {
  check_all({
    {"round(2.5)", "{}", "3"},
    {"round(-2.5)", "{}", "-3"},
    {"floor(-2.1)", "{}", "-3"},
    {"ceil(-2.7)", "{}", "-2"},
    {"round(1e20)", "{}", "1e+20"},
    {"round(.amount * 100)", R"({"amount": 12.345})", "1235"},
    {"round(.amount * 100)", R"({"amount": 1.005})", "100"},
    {"abs(-5)", "{}", "5"},
    {"abs(-2.5)", "{}", "2.5"},
    {"max(3, 1.5)", "{}", "3"},
    {"min(3, 1.5)", "{}", "1.5"},
    {"min(1, 1.0)", "{}", "1"},
    {"max(coalesce(.a, 0), coalesce(.b, 0))", R"({"b": 2})", "2"},
    {R"(trim("  a b \n"))", "{}", R"("a b")"},
    {"len(\"h\xC3\xA9llo\")", "{}", "5"},
    {R"(contains("hello", "ell"))", "{}", "true"},
    {"contains([1, 2], 2.0)", "{}", "true"},
    {R"(starts_with("hello", "he"))", "{}", "true"},
    {R"(matches(lower(.name), "^ad"))", R"({"name": "ADA"})", "true"},
    {R"(matches(.sku, "^[A-Z]{3}-[0-9]+$"))", R"({"sku": "ABC-12"})", "true"},
    {R"(replace("a.b.c", ".", "-"))", "{}", R"("a-b-c")"},
    {R"(split("a,b,,c", ","))", "{}", R"(["a","b","","c"])"},
    {"split(\"h\xC3\xA9j\", \"\")", "{}", "[\"h\",\"\xC3\xA9\",\"j\"]"},
    {R"(join(["a", 1, 2.5], "-"))", "{}", R"("a-1-2.5")"},
    {R"(join([], ","))", "{}", R"("")"},
    {"to_int(3.9)", "{}", "3"},
    {"to_int(-3.9)", "{}", "-3"},
    {R"(to_int(" 42 "))", "{}", "42"},
    {R"(to_int("12.7"))", "{}", "12"},
    {R"(to_int("1e3"))", "{}", "1000"},
    {"to_float(3)", "{}", "3.0"},
    {"to_string(12)", "{}", R"("12")"},
    {"to_string(2.5)", "{}", R"("2.5")"},
    {"to_string(null)", "{}", R"("null")"},
    {R"(to_string([1, "a"]))", "{}", R"("[1,\"a\"]")"},
    {"exists(.a)", "{}", "false"},
    {"exists(.tags[5])", R"({"tags": [1]})", "false"},
    {R"(coalesce(.nickname, .name, "anonymous"))", R"({"name": "Ada"})", R"("Ada")"},
    {"coalesce(.qty, 0) * .price", R"({"price": 3})", "0"},
    {"if(.qty > 0, .total / .qty, 0)", R"({"qty": 0, "total": 5})", "0"},
  });
  CHECK(run(R"(join(["a", null], ","))")
        == "type_error: join: element 1 is null; only strings and numbers can be joined");
  CHECK(run(R"(to_int("abc"))") == R"(type_error: to_int: cannot convert "abc" to an integer)");
  CHECK(run("to_int(1e30)") == "type_error: to_int: 1e+30 is out of the integer range");
  CHECK(run("if(.x, 1, 2)") == "type_error: if: the condition gave null, expected true or false");
}

TEST_CASE("the compile error table of the reference holds", "[expr][docs]") {
  CHECK(compile_error(".a > 1 &&") == "column 10: expected an expression after '&&'");
  CHECK(compile_error(R"(.a == "abc)") == "column 7: unterminated string");
  CHECK(compile_error("rond(.x)") == "column 1: unknown function 'rond' (did you mean 'round'?)");
  CHECK(compile_error("round(1, 2)") == "column 1: round() takes 1 argument (round(number)), got 2");
  CHECK(compile_error("amount") == "column 1: unknown name 'amount'; a field is written with a "
                                   "leading dot: .amount");
  CHECK(compile_error(".a .b")
        == "column 4: expected an operator or the end of the expression, found '.b'");
  CHECK(compile_error("(.a") == "column 4: expected ')' to close the '(' at column 1");
}

TEST_CASE("the expressions of the config examples compile", "[expr][docs]") {
  for (auto text : {
         R"(.amount > 50 && .category in ["food", "toys"])",
         "round(.amount * 100)",
         "lower(trim(.user.name))",
         R"(coalesce(.tags[0], "untagged"))",
         R"(if(.amount >= 100, "large", "small"))",
         R"(upper(.category) + "-" + to_string(.id))",
         "exists(.express) && .express == true",
         R"(.country in ["DE", "FR", "IT"] || ends_with(.email, ".eu"))",
         R"(matches(.email, "@(mailinator|tempmail)[.]") || .amount > 10000)",
         "[.customer, .order_id]",
         ".customer",
         "floor(.amount / 100) * 100",
         "round(.amount * 100)",
         "lower(.customer)",
         "now()",
       }) {
    INFO(text);
    CHECK(compile_error(text) == "compiled");
  }
  check_all({
    {R"(.amount > 50 && .category in ["food", "toys"])", R"({"amount": 60, "category": "toys"})",
     "true"},
    {R"(matches(.email, "@(mailinator|tempmail)[.]") || .amount > 10000)",
     R"({"email": "x@mailinator.com", "amount": 1})", "true"},
    {"floor(.amount / 100) * 100", R"({"amount": 250})", "200"},
  });
}

TEST_CASE("the lineage examples of the reference hold", "[expr][docs][lineage]") {
  auto names = std::make_shared<sluice::trail_names>();
  names->stages = {"eu_orders", "us_orders", "by_origin"};
  names->source_files = {{"data/eu/2026-11-01.jsonl"}, {"data/us/2026-10-31.jsonl"}, {}};
  names->generated = {false, false, false};
  auto record_from = [](sluice::stage_index source, sluice::json content = sluice::json::object()) {
    sluice::lineage_trail t;
    t.origin = {source, 0, 4};
    t.hops = {{source, 1}};
    return sluice::record{"r", std::move(content), std::move(t)};
  };
  auto eval = [&](const char* text, const sluice::record& rec) {
    auto e = sluice::expr::expression::compile(text, names);
    REQUIRE(e);
    auto v = e->eval(rec);
    REQUIRE(v);
    return v->dump();
  };
  auto eu = record_from(0, {{"lineage", {{"source", "a field"}}}});
  auto us = record_from(1);
  CHECK(eval(R"(lineage.source == "eu_orders")", eu) == "true");
  CHECK(eval(R"(lineage.source == "eu_orders")", us) == "false");
  CHECK(eval(R"(contains(lineage.file, "2026-11"))", eu) == "true");
  CHECK(eval(R"(contains(lineage.file, "2026-11"))", us) == "false");
  CHECK(eval("lineage.file", eu) == R"("data/eu/2026-11-01.jsonl")");
  CHECK(eval("lineage.line", eu) == "4");
  CHECK(eval("lineage.path", eu) == R"(["eu_orders"])");
  CHECK(eval("lineage.path[0]", eu) == R"("eu_orders")");
  CHECK(eval("lineage.path[-1]", eu) == R"("eu_orders")");
  CHECK(eval(".lineage.source", eu) == R"("a field")");
  auto e = sluice::expr::expression::compile("lineage.sorce", names);
  REQUIRE_FALSE(e);
  CHECK(e.err().message
        == "column 9: unknown lineage member 'sorce' (did you mean 'lineage.source'?); the "
           "members are lineage.source, lineage.file, lineage.line and lineage.path");
  CHECK_THAT(compile_error("lineage.source"),
             Catch::StartsWith("column 1: lineage.source is not available here: "));
}
