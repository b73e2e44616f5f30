// The built-in functions of the expression language: results, result types
// and the errors for wrong argument types.

#include <chrono>
#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include "runtime/expr/expr_test_support.hpp"

using sluice::json;
using sluice::expr::expression;
using sluice::expr::testing::make;
using sluice::expr::testing::run;

TEST_CASE("round is half away from zero and gives an integer", "[expr][functions]") {
  CHECK(run("round(2.5)") == "3");
  CHECK(run("round(-2.5)") == "-3");
  CHECK(run("round(2.4)") == "2");
  CHECK(run("round(-0.4)") == "0");
  CHECK(run("round(7)") == "7");
  // round agrees with std::llround on the float the arithmetic produced
  // (for 12.345 * 100 that float is exactly 1234.5).
  CHECK(run("round(.amount * 100)", json{{"amount", 12.345}})
        == std::to_string(std::llround(12.345 * 100)));
  CHECK(run("round(.amount * 100)", json{{"amount", 12.345}}) == "1235");
  CHECK(run("round(.amount * 100)", json{{"amount", 1.005}})
        == std::to_string(std::llround(1.005 * 100)));
  CHECK(run("round(.amount * 100)", json{{"amount", 1.005}}) == "100");
  // Too large for an integer: stays a float.
  CHECK(run("round(1e20)") == "1e+20");
}

TEST_CASE("floor and ceil round down and up to integers", "[expr][functions]") {
  CHECK(run("floor(2.7)") == "2");
  CHECK(run("floor(-2.1)") == "-3");
  CHECK(run("floor(5)") == "5");
  CHECK(run("ceil(2.1)") == "3");
  CHECK(run("ceil(-2.7)") == "-2");
  CHECK(run("ceil(-0.5)") == "0");
  CHECK(run("ceil(1e19)") == "1e+19");
}

TEST_CASE("rounding functions need a number", "[expr][functions]") {
  CHECK(run(R"(round("2.5"))") == "type_error: round: expected a number, got string");
  CHECK(run("floor(true)") == "type_error: floor: expected a number, got boolean");
  CHECK(run("ceil(.missing)")
        == "type_error: ceil: expected a number, got null (a missing field is null)");
}

TEST_CASE("abs keeps the number's type", "[expr][functions]") {
  CHECK(run("abs(-5)") == "5");
  CHECK(run("abs(5)") == "5");
  CHECK(run("abs(-2.5)") == "2.5");
  CHECK(run("abs(0)") == "0");
  CHECK(run("abs(-9223372036854775808)")
        == "type_error: abs: integer overflow: -9223372036854775808 has no positive int64 "
           "counterpart");
  CHECK(run(R"(abs("x"))") == "type_error: abs: expected a number, got string");
}

TEST_CASE("min and max return the winning argument unchanged", "[expr][functions]") {
  CHECK(run("min(3, 1, 2)") == "1");
  CHECK(run("max(3, 1, 2)") == "3");
  CHECK(run("max(3, 1.5)") == "3");
  CHECK(run("min(3, 1.5)") == "1.5");
  CHECK(run("min(2.5)") == "2.5");
  CHECK(run("max(-1)") == "-1");
  // Ties keep the first.
  CHECK(run("min(1, 1.0)") == "1");
  CHECK(run("max(1.0, 1)") == "1.0");
  CHECK(run("max(.items[0].qty, .items[1].qty)",
            json{{"items", {{{"qty", 2}}, {{"qty", 9}}}}})
        == "9");
}

TEST_CASE("min and max need numbers", "[expr][functions]") {
  CHECK(run(R"(min("a"))") == "type_error: min: argument 1 must be a number, got string");
  CHECK(run("max(1, .missing)")
        == "type_error: max: argument 2 must be a number, got null (a missing field is "
           "null)");
  CHECK(run("max(1, 2, [3])") == "type_error: max: argument 3 must be a number, got array");
}

TEST_CASE("lower, upper and trim change ASCII text", "[expr][functions]") {
  CHECK(run(R"(lower("AbC 12"))") == R"("abc 12")");
  CHECK(run(R"(upper("AbC 12"))") == R"("ABC 12")");
  // Letters beyond ASCII pass unchanged.
  CHECK(run("lower(\"\xC3\x80" "B\")") == "\"\xC3\x80" "b\"");
  CHECK(run("upper(\"\xC3\xA9t\xC3\xA9\")") == "\"\xC3\xA9T\xC3\xA9\"");
  CHECK(run(R"(trim("  a b \n\t"))") == R"("a b")");
  CHECK(run(R"(trim("   "))") == R"("")");
  CHECK(run(R"(trim("x"))") == R"("x")");
  CHECK(run(R"(lower(.name))", json{{"name", "ADA"}}) == R"("ada")");
}

TEST_CASE("text functions need strings", "[expr][functions]") {
  CHECK(run("lower(1)") == "type_error: lower: expected a string, got integer");
  CHECK(run("upper([\"a\"])") == "type_error: upper: expected a string, got array");
  CHECK(run("trim(.missing)")
        == "type_error: trim: expected a string, got null (a missing field is null)");
}

TEST_CASE("len counts code points, elements or keys", "[expr][functions]") {
  CHECK(run(R"(len("hello"))") == "5");
  CHECK(run("len(\"h\xC3\xA9llo\")") == "5");
  CHECK(run("len(\"\xF0\x9F\x98\x80\")") == "1");
  CHECK(run(R"(len(""))") == "0");
  CHECK(run("len([1, 2, [3, 4]])") == "3");
  CHECK(run("len([])") == "0");
  CHECK(run("len(.o)", json{{"o", {{"a", 1}, {"b", 2}}}}) == "2");
  CHECK(run("len(5)") == "type_error: len: expected a string, an array or an object, got integer");
  CHECK(run("len(.missing)")
        == "type_error: len: expected a string, an array or an object, got null (a missing "
           "field is null)");
}

TEST_CASE("contains looks into strings and arrays", "[expr][functions]") {
  CHECK(run(R"(contains("hello", "ell"))") == "true");
  CHECK(run(R"(contains("hello", "xyz"))") == "false");
  CHECK(run("contains([1, 2], 2.0)") == "true");
  CHECK(run(R"(contains([1], "1"))") == "false");
  CHECK(run(R"(contains(.tags, "b"))", json{{"tags", {"a", "b"}}}) == "true");
  CHECK(run(R"(contains("abc", 1))")
        == "type_error: contains: argument 2 must be a string (to look for in a string), "
           "got integer");
  CHECK(run("contains(5, 1)")
        == "type_error: contains: argument 1 must be a string or an array, got integer");
}

TEST_CASE("starts_with and ends_with compare prefixes and suffixes", "[expr][functions]") {
  CHECK(run(R"(starts_with("hello", "he"))") == "true");
  CHECK(run(R"(starts_with("hello", "lo"))") == "false");
  CHECK(run(R"(starts_with("hello", ""))") == "true");
  CHECK(run(R"(ends_with("hello", "lo"))") == "true");
  CHECK(run(R"(ends_with("lo", "hello"))") == "false");
  CHECK(run(R"(starts_with("he", "hello"))") == "false");
  CHECK(run(R"(starts_with(1, "a"))")
        == "type_error: starts_with: argument 1 must be a string, got integer");
  CHECK(run(R"(ends_with("a", null))")
        == "type_error: ends_with: argument 2 must be a string, got null (a missing field "
           "is null)");
}

TEST_CASE("matches searches with an ECMAScript regex", "[expr][functions]") {
  CHECK(run(R"(matches("xaby", "ab"))") == "true");
  CHECK(run(R"(matches("xaby", "^ab"))") == "false");
  CHECK(run(R"(matches(.email, "^[^@]+@[^@]+\\.[a-z]+$"))", json{{"email", "ada@example.org"}})
        == "true");
  CHECK(run(R"(matches(.email, "^[^@]+@[^@]+\\.[a-z]+$"))", json{{"email", "nope"}})
        == "false");
  CHECK(run(R"(matches("2024-01-31", "^\\d{4}-\\d{2}-\\d{2}$"))") == "true");
  CHECK(run(R"(matches(1, "a"))")
        == "type_error: matches: argument 1 must be a string, got integer");
}

TEST_CASE("replace substitutes every occurrence as plain text", "[expr][functions]") {
  CHECK(run(R"(replace("a.b.c", ".", "-"))") == R"("a-b-c")");
  CHECK(run(R"(replace("aaa", "a", "aa"))") == R"("aaaaaa")");
  CHECK(run(R"(replace("abc", "x", "y"))") == R"("abc")");
  CHECK(run(R"(replace("abab", "ab", ""))") == R"("")");
  CHECK(run(R"(replace("x", "", "y"))")
        == "type_error: replace: the text to replace (argument 2) is empty");
  CHECK(run(R"(replace("x", "x", 1))")
        == "type_error: replace: argument 3 must be a string, got integer");
}

TEST_CASE("split cuts a string into an array", "[expr][functions]") {
  CHECK(run(R"(split("a,b,,c", ","))") == R"(["a","b","","c"])");
  CHECK(run(R"(split("a--b--", "--"))") == R"(["a","b",""])");
  CHECK(run(R"(split("abc", ","))") == R"(["abc"])");
  CHECK(run(R"(split("", ","))") == "[]");
  CHECK(run("split(\"h\xC3\xA9j\", \"\")") == "[\"h\",\"\xC3\xA9\",\"j\"]");
  CHECK(run(R"(split(1, ","))") == "type_error: split: argument 1 must be a string, got integer");
}

TEST_CASE("join glues strings and numbers", "[expr][functions]") {
  CHECK(run(R"(join(["a", 1, 2.5], "-"))") == R"("a-1-2.5")");
  CHECK(run(R"(join([], ","))") == R"("")");
  CHECK(run(R"(join(["x"], ", "))") == R"("x")");
  CHECK(run(R"(join(split("a b c", " "), "+"))") == R"("a+b+c")");
  CHECK(run(R"(join(["a", null], ","))")
        == "type_error: join: element 1 is null; only strings and numbers can be joined");
  CHECK(run(R"(join("a", ","))") == "type_error: join: argument 1 must be an array, got string");
  CHECK(run(R"(join(["a"], 1))") == "type_error: join: argument 2 must be a string, got integer");
}

TEST_CASE("to_int converts numbers, numeric strings and booleans", "[expr][functions]") {
  CHECK(run("to_int(3.9)") == "3");
  CHECK(run("to_int(-3.9)") == "-3");
  CHECK(run("to_int(7)") == "7");
  CHECK(run(R"(to_int("42"))") == "42");
  CHECK(run(R"(to_int(" -7 "))") == "-7");
  CHECK(run(R"(to_int("+5"))") == "5");
  CHECK(run(R"(to_int("12.7"))") == "12");
  CHECK(run(R"(to_int("1e3"))") == "1000");
  CHECK(run(R"(to_int("9223372036854775807"))") == "9223372036854775807");
  CHECK(run("to_int(true)") == "1");
  CHECK(run("to_int(false)") == "0");
}

TEST_CASE("to_int refuses what is not a number", "[expr][functions]") {
  CHECK(run(R"(to_int("abc"))") == R"(type_error: to_int: cannot convert "abc" to an integer)");
  CHECK(run(R"(to_int(""))") == R"(type_error: to_int: cannot convert "" to an integer)");
  CHECK(run(R"(to_int("12abc"))") == R"(type_error: to_int: cannot convert "12abc" to an integer)");
  CHECK(run(R"(to_int("inf"))") == R"(type_error: to_int: cannot convert "inf" to an integer)");
  CHECK(run("to_int(1e30)") == "type_error: to_int: 1e+30 is out of the integer range");
  CHECK(run(R"(to_int("1e30"))") == R"(type_error: to_int: "1e30" is out of the integer range)");
  CHECK(run("to_int(.missing)")
        == "type_error: to_int: expected a number, a numeric string or a boolean, got null (a "
           "missing field is null)");
  CHECK(run("to_int([1])")
        == "type_error: to_int: expected a number, a numeric string or a boolean, got array");
}

TEST_CASE("to_float converts to a float", "[expr][functions]") {
  CHECK(run("to_float(3)") == "3.0");
  CHECK(run("to_float(2.5)") == "2.5");
  CHECK(run(R"(to_float("2.5"))") == "2.5");
  CHECK(run(R"(to_float(" 1e2 "))") == "100.0");
  CHECK(run(R"(to_float("-.5"))") == "-0.5");
  CHECK(run("to_float(false)") == "0.0");
  CHECK(run(R"(to_float("abc"))") == R"(type_error: to_float: cannot convert "abc" to a float)");
  CHECK(run(R"(to_float("nan"))") == R"(type_error: to_float: cannot convert "nan" to a float)");
  CHECK(run("to_float([1])")
        == "type_error: to_float: expected a number, a numeric string or a boolean, got array");
}

TEST_CASE("to_string renders values as compact JSON", "[expr][functions]") {
  CHECK(run(R"(to_string("a"))") == R"("a")");
  CHECK(run("to_string(12)") == R"("12")");
  CHECK(run("to_string(2.5)") == R"("2.5")");
  CHECK(run("to_string(true)") == R"("true")");
  CHECK(run("to_string(null)") == R"("null")");
  CHECK(run(R"(to_string([1, "a"]))") == R"("[1,\"a\"]")");
  CHECK(run("to_string(.o)", json{{"o", {{"k", 1}}}}) == R"("{\"k\":1}")");
  CHECK(run(R"("n=" + to_string(.n))", json{{"n", 3}}) == R"("n=3")");
}

TEST_CASE("exists tells a present field from a missing one", "[expr][functions]") {
  json content{{"a", nullptr}, {"b", {{"c", 1}}}, {"tags", {1}}};
  CHECK(run("exists(.a)", content) == "true");
  CHECK(run("exists(.b.c)", content) == "true");
  CHECK(run("exists(.b.d)", content) == "false");
  CHECK(run("exists(.missing)", content) == "false");
  CHECK(run("exists(.tags[0])", content) == "true");
  CHECK(run("exists(.tags[5])", content) == "false");
  CHECK(run("exists(.)", content) == "true");
  CHECK(run("!exists(.missing) && .a == null", content) == "true");
}

TEST_CASE("coalesce gives the first argument that is not null", "[expr][functions]") {
  json content{{"a", nullptr}, {"b", 2}};
  CHECK(run("coalesce(.a, .b, 3)", content) == "2");
  CHECK(run("coalesce(.missing, .a, 3)", content) == "3");
  CHECK(run("coalesce(null, null)", content) == "null");
  CHECK(run("coalesce(false, true)", content) == "false");
  CHECK(run("coalesce(.b, 1/0)", content) == "2");
  CHECK(run("coalesce(.a, 1/0)", content) == "type_error: '/': division by zero");
  CHECK(run("coalesce(.missing, 0) + 1", content) == "1");
}

TEST_CASE("if picks a branch and evaluates only that one", "[expr][functions]") {
  CHECK(run(R"(if(.n > 1, "big", "small"))", json{{"n", 5}}) == R"("big")");
  CHECK(run(R"(if(.n > 1, "big", "small"))", json{{"n", 0}}) == R"("small")");
  CHECK(run("if(true, 1, 1/0)") == "1");
  CHECK(run("if(false, 1/0, 2)") == "2");
  CHECK(run("if(1, 2, 3)") == "type_error: if: the condition gave integer, expected true or false");
  CHECK(run("if(.missing, 2, 3)")
        == "type_error: if: the condition gave null, expected true or false");
}

TEST_CASE("now gives the current time in milliseconds", "[expr][functions]") {
  using namespace std::chrono;
  auto ms = [] {
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  };
  auto e = expression::compile("now()");
  REQUIRE(e);
  auto before = ms();
  auto r = e->eval(make(json::object()));
  auto after = ms();
  REQUIRE(r);
  REQUIRE(r->is_number_integer());
  CHECK(r->get<int64_t>() >= before);
  CHECK(r->get<int64_t>() <= after);
}

TEST_CASE("functions compose", "[expr][functions]") {
  json content{{"name", "  Ada Lovelace "}, {"amount", 12.345}};
  CHECK(run("upper(trim(.name))", content) == R"("ADA LOVELACE")");
  CHECK(run(R"(split(trim(.name), " ")[-1])", content) == R"("Lovelace")");
  CHECK(run("round(.amount * 100) / 100", content) == "12.35");
  CHECK(run("floor(.amount * 100) / 100", content) == "12.34");
  CHECK(run(R"(len(split(trim(.name), " ")) == 2)", content) == "true");
}
