// The expression language: literals, field paths, operators, precedence,
// number semantics, null handling and the compiled expression's API.

#include <catch2/catch.hpp>

#include "runtime/expr/expr_test_support.hpp"

using sluice::errc;
using sluice::json;
using sluice::expr::expression;
using sluice::expr::testing::make;
using sluice::expr::testing::run;

namespace {

const json order = json::parse(R"({
  "amount": 75,
  "price": 12.345,
  "category": "food",
  "tags": ["a", "b", "c"],
  "user": {"name": "Ada", "address": {"city": "Paris"}},
  "odd key": 1,
  "a.b": "dotted",
  "items": [{"sku": "x1", "qty": 2}, {"sku": "y2", "qty": 3}],
  "matrix": [[1, 2], [3, 4]],
  "nothing": null,
  "café": "crème",
  "flag": true
})");

} // namespace

TEST_CASE("literals evaluate to their JSON values", "[expr]") {
  CHECK(run("42") == "42");
  CHECK(run("0") == "0");
  CHECK(run("-7") == "-7");
  CHECK(run("9223372036854775807") == "9223372036854775807");
  CHECK(run("-9223372036854775808") == "-9223372036854775808");
  CHECK(run("1.5") == "1.5");
  CHECK(run("-0.25") == "-0.25");
  CHECK(run("1e3") == "1000.0");
  CHECK(run("2.5E-1") == "0.25");
  CHECK(run("true") == "true");
  CHECK(run("false") == "false");
  CHECK(run("null") == "null");
  CHECK(run(R"("plain")") == R"("plain")");
}

TEST_CASE("integer literals are integers and float literals are floats", "[expr]") {
  auto i = expression::compile("3");
  REQUIRE(i);
  auto iv = i->eval(make(json::object()));
  REQUIRE(iv);
  CHECK(iv->is_number_integer());
  auto f = expression::compile("3.0");
  REQUIRE(f);
  auto fv = f->eval(make(json::object()));
  REQUIRE(fv);
  CHECK(fv->is_number_float());
}

TEST_CASE("string literals understand the JSON escapes", "[expr]") {
  CHECK(run(R"("say \"hi\"")") == R"("say \"hi\"")");
  CHECK(run(R"("back\\slash")") == R"("back\\slash")");
  CHECK(run(R"("line\nbreak\ttab\rret")") == R"("line\nbreak\ttab\rret")");
  CHECK(run(R"("a\/b")") == R"("a/b")");
  CHECK(run(R"("\u00e9")") == "\"\xC3\xA9\"");
  CHECK(run(R"("\u20AC")") == "\"\xE2\x82\xAC\"");
  // A surrogate pair becomes one four-byte code point.
  CHECK(run(R"("\ud83d\ude00")") == "\"\xF0\x9F\x98\x80\"");
  CHECK(run(R"("")") == R"("")");
  CHECK(run("\"caf\xC3\xA9\"") == "\"caf\xC3\xA9\"");
}

TEST_CASE("array literals hold any expressions", "[expr]") {
  CHECK(run(R"([1, 2, "x"])") == R"([1,2,"x"])");
  CHECK(run("[]") == "[]");
  CHECK(run("[[1], [2, [3]], []]") == "[[1],[2,[3]],[]]");
  CHECK(run("[.amount, .amount + 1, .missing]", order) == "[75,76,null]");
  CHECK(run("[1, [.category]]", order) == R"([1,["food"]])");
}

TEST_CASE("field paths read the record", "[expr]") {
  CHECK(run(".amount", order) == "75");
  CHECK(run(".user.name", order) == R"("Ada")");
  CHECK(run(".user.address.city", order) == R"("Paris")");
  CHECK(run(".tags[0]", order) == R"("a")");
  CHECK(run(".tags[2]", order) == R"("c")");
  CHECK(run(".items[1].sku", order) == R"("y2")");
  CHECK(run(".matrix[1][0]", order) == "3");
  CHECK(run(".user", order) == R"({"address":{"city":"Paris"},"name":"Ada"})");
}

TEST_CASE("a negative index counts from the end", "[expr]") {
  CHECK(run(".tags[-1]", order) == R"("c")");
  CHECK(run(".tags[-3]", order) == R"("a")");
  CHECK(run(".tags[-4]", order) == "null");
  CHECK(run(".items[-1].qty", order) == "3");
}

TEST_CASE("quoted keys reach keys that are not plain names", "[expr]") {
  CHECK(run(R"(."odd key")", order) == "1");
  CHECK(run(R"(."a.b")", order) == R"("dotted")");
  CHECK(run(R"(.user."name")", order) == R"("Ada")");
  CHECK(run(R"(."user"."address".city)", order) == R"("Paris")");
  CHECK(run(R"(."with \"quote\"")", json{{"with \"quote\"", 5}}) == "5");
  CHECK(run(R"(."")", json{{"", 6}}) == "6");
}

TEST_CASE("bare keys may contain UTF-8 letters", "[expr]") {
  CHECK(run(".caf\xC3\xA9", order) == "\"cr\xC3\xA8me\"");
}

TEST_CASE("a lone dot is the whole record", "[expr]") {
  json content{{"a", 1}, {"b", {2, 3}}};
  CHECK(run(".", content) == R"({"a":1,"b":[2,3]})");
  CHECK(run(". == .", content) == "true");
  CHECK(run(R"("a" in .)", content) == "true");
}

TEST_CASE("a missing field is null", "[expr]") {
  CHECK(run(".missing", order) == "null");
  CHECK(run(".user.missing", order) == "null");
  CHECK(run(".missing.deeper.still", order) == "null");
  CHECK(run(".tags[10]", order) == "null");
  // Stepping through a value that is not a container also gives null.
  CHECK(run(".amount.x", order) == "null");
  CHECK(run(".category[0]", order) == "null");
  CHECK(run(".user[0]", order) == "null");
  CHECK(run(".tags.x", order) == "null");
  // A field holding null is null too.
  CHECK(run(".nothing", order) == "null");
  CHECK(run(".missing == null", order) == "true");
}

TEST_CASE("an index after a computed value picks an element", "[expr]") {
  CHECK(run(R"(split("a,b,c", ",")[1])") == R"("b")");
  CHECK(run(R"(split("a,b,c", ",")[-1])") == R"("c")");
  CHECK(run("[10, 20, 30][0]") == "10");
  CHECK(run("(.tags)[1]", order) == R"("b")");
  CHECK(run("(.matrix)[1][1]", order) == "4");
  CHECK(run("([1] + [2])[1]") == "2");
  // Like a path step: out of range or not an array gives null.
  CHECK(run("[1, 2][5]") == "null");
  CHECK(run(R"(("abc")[0])") == "null");
  CHECK(run("(.missing)[0]", order) == "null");
}

TEST_CASE("whitespace between tokens is free", "[expr]") {
  CHECK(run("  1+2*3  ") == "7");
  CHECK(run("\t.amount\n>\r\n50 ", order) == "true");
  CHECK(run("round ( 2.5 )") == "3");
  CHECK(run("[ 1 ,2 ]") == "[1,2]");
}

// -- arithmetic ---------------------------------------------------------------

TEST_CASE("integer arithmetic stays integer", "[expr]") {
  CHECK(run("1 + 2") == "3");
  CHECK(run("10 - 4") == "6");
  CHECK(run("6 * 7") == "42");
  CHECK(run("6 / 2") == "3");
  CHECK(run("-6 / 2") == "-3");
  CHECK(run("7 % 3") == "1");
  CHECK(run("-7 % 3") == "-1");
  CHECK(run("7 % -3") == "1");
  CHECK(run(".amount * 2", order) == "150");
  CHECK(run(".items[0].qty + .items[1].qty", order) == "5");
}

TEST_CASE("integer division that is not exact gives a float", "[expr]") {
  CHECK(run("7 / 2") == "3.5");
  CHECK(run("-7 / 2") == "-3.5");
  CHECK(run("1 / 3") == json(1.0 / 3.0).dump());
  CHECK(run("1 / 4") == "0.25");
}

TEST_CASE("mixing an integer and a float gives a float", "[expr]") {
  CHECK(run("1 + 2.0") == "3.0");
  CHECK(run("2.0 * 3") == "6.0");
  CHECK(run("7 - 0.5") == "6.5");
  CHECK(run("6 / 2.0") == "3.0");
  CHECK(run("7.5 % 2") == "1.5");
  CHECK(run("0.5 + 0.25") == "0.75");
  CHECK(run(".price * 100", order) == json(12.345 * 100).dump());
}

TEST_CASE("numbers parsed from JSON text compute like literals", "[expr]") {
  // nlohmann stores positive integers parsed from text as unsigned.
  auto content = json::parse(R"({"n": 5, "m": 3, "big": 18446744073709551615})");
  CHECK(run(".n + 1", content) == "6");
  CHECK(run(".n - .m * 2", content) == "-1");
  CHECK(run(".n / .m", content) == json(5.0 / 3.0).dump());
  CHECK(run(".n == 5.0", content) == "true");
  CHECK(run(".big > 1", content) == "true");
  CHECK(run(".big == .big", content) == "true");
  CHECK(run(".big > .n", content) == "true");
  // Beyond int64 an integer is computed with as a float.
  CHECK(run(".big + 0", content) == json(18446744073709551615.0).dump());
}

TEST_CASE("integer overflow is a type error, not undefined behaviour", "[expr]") {
  CHECK(run("9223372036854775807 + 1")
        == "type_error: '+': integer overflow in 9223372036854775807 + 1 (convert with "
           "to_float(...) for an approximate result)");
  CHECK(run("-9223372036854775808 - 1")
        == "type_error: '-': integer overflow in -9223372036854775808 - 1 (convert with "
           "to_float(...) for an approximate result)");
  CHECK(run("4611686018427387904 * 2")
        == "type_error: '*': integer overflow in 4611686018427387904 * 2 (convert with "
           "to_float(...) for an approximate result)");
  CHECK(run("-9223372036854775808 / -1")
        == "type_error: '/': integer overflow in -9223372036854775808 / -1 (convert with "
           "to_float(...) for an approximate result)");
  CHECK(run("-(-9223372036854775808)")
        == "type_error: '-': integer overflow negating -9223372036854775808");
  // The one modulo that overflows in C++ has a well-defined answer.
  CHECK(run("-9223372036854775808 % -1") == "0");
  CHECK(run("to_float(9223372036854775807) + 1") == json(9223372036854775808.0).dump());
}

TEST_CASE("division and modulo by zero are type errors", "[expr]") {
  CHECK(run("1 / 0") == "type_error: '/': division by zero");
  CHECK(run("1 % 0") == "type_error: '%': modulo by zero");
  CHECK(run("1.5 / 0") == "type_error: '/': division by zero");
  CHECK(run("1 / 0.0") == "type_error: '/': division by zero");
  CHECK(run("1.5 % 0.0") == "type_error: '%': modulo by zero");
  CHECK(run(".amount / .missing_zero", json{{"amount", 1}, {"missing_zero", 0}})
        == "type_error: '/': division by zero");
}

TEST_CASE("a float result out of range is a type error", "[expr]") {
  CHECK(run("1e308 * 10") == "type_error: '*': the result is out of the range of a float");
  CHECK(run("-1e308 - 1e308") == "type_error: '-': the result is out of the range of a float");
}

TEST_CASE("plus concatenates strings and arrays", "[expr]") {
  CHECK(run(R"("ab" + "cd")") == R"("abcd")");
  CHECK(run(R"("" + "")") == R"("")");
  CHECK(run(R"(.user.name + " from " + .user.address.city)", order)
        == R"("Ada from Paris")");
  CHECK(run("[1] + [2, 3]") == "[1,2,3]");
  CHECK(run(".tags + []", order) == R"(["a","b","c"])");
}

TEST_CASE("arithmetic on the wrong types names the operator and the types", "[expr]") {
  CHECK(run(R"("a" * 2)") == "type_error: '*': cannot multiply string by integer");
  CHECK(run(R"(2 / "a")") == "type_error: '/': cannot divide integer by string");
  CHECK(run(R"("a" - 1.5)") == "type_error: '-': cannot subtract float from string");
  CHECK(run("[1] % 2") == "type_error: '%': cannot take array modulo integer");
  CHECK(run("true + 1") == "type_error: '+': cannot add integer to boolean");
  CHECK(run("[1] + \"a\"")
        == "type_error: '+': cannot add string to array (to join text, convert the other "
           "side with to_string(...))");
  CHECK(run(R"("n=" + 1)")
        == "type_error: '+': cannot add integer to string (to join text, convert the other "
           "side with to_string(...))");
  CHECK(run(".missing + 1", order)
        == "type_error: '+': cannot add integer to null (a missing field is null; "
           "coalesce(.field, 0) gives a default)");
  CHECK(run(".user * 2", order) == "type_error: '*': cannot multiply object by integer");
}

TEST_CASE("unary minus negates numbers only", "[expr]") {
  CHECK(run("-.amount", order) == "-75");
  CHECK(run("-(2 + 3)") == "-5");
  CHECK(run("- -5") == "5");
  CHECK(run("--5") == "5");
  CHECK(run("-.price", order) == "-12.345");
  CHECK(run(R"(-"x")") == "type_error: '-': cannot negate string");
  CHECK(run("-.missing", order)
        == "type_error: '-': cannot negate null (a missing field is null; "
           "coalesce(.field, 0) gives a default)");
}

// -- comparison ---------------------------------------------------------------

TEST_CASE("numbers compare numerically across integer and float", "[expr]") {
  CHECK(run("1 < 2") == "true");
  CHECK(run("2 < 1") == "false");
  CHECK(run("1 <= 1") == "true");
  CHECK(run("1 >= 1.0") == "true");
  CHECK(run("1 < 1.5") == "true");
  CHECK(run("2 > 1.5") == "true");
  CHECK(run("-1 > -1.5") == "true");
  CHECK(run(".price > 12", order) == "true");
  CHECK(run(".amount > 50", order) == "true");
  // Exact: no rounding of a large integer through a double.
  CHECK(run("9007199254740993 > 9007199254740992.0") == "true");
  CHECK(run("9007199254740993 == 9007199254740992.0") == "false");
  CHECK(run("9223372036854775807 < 9223372036854775808.0") == "true");
  CHECK(run("-9223372036854775808 > -1e300") == "true");
}

TEST_CASE("strings compare bytewise, which is code point order", "[expr]") {
  CHECK(run(R"("abc" < "abd")") == "true");
  CHECK(run(R"("ab" < "abc")") == "true");
  CHECK(run(R"("B" < "a")") == "true");
  CHECK(run(R"("b" >= "b")") == "true");
  CHECK(run("\"z\" < \"\xC3\xA9\"") == "true");
  CHECK(run(R"(.category > "drinks")", order) == "true");
}

TEST_CASE("ordering mismatched types is a type error", "[expr]") {
  CHECK(run(R"(1 < "a")")
        == "type_error: '<': cannot compare integer with string (only numbers with numbers "
           "and strings with strings)");
  CHECK(run(R"("10" >= 9)")
        == "type_error: '>=': cannot compare string with integer (only numbers with numbers "
           "and strings with strings)");
  CHECK(run("true > false")
        == "type_error: '>': cannot compare boolean with boolean (only numbers with numbers "
           "and strings with strings)");
  CHECK(run("[1] <= [2]")
        == "type_error: '<=': cannot compare array with array (only numbers with numbers "
           "and strings with strings)");
}

TEST_CASE("ordering against null is false, so a missing field fails the test", "[expr]") {
  CHECK(run("null < 1") == "false");
  CHECK(run("1 < null") == "false");
  CHECK(run("null <= null") == "false");
  CHECK(run(".missing > 5", order) == "false");
  CHECK(run(".missing <= 5", order) == "false");
  CHECK(run(".missing >= \"a\"", order) == "false");
  CHECK(run("!(.missing > 5)", order) == "true");
}

TEST_CASE("equality is deep and numbers are equal by value", "[expr]") {
  CHECK(run("1 == 1.0") == "true");
  CHECK(run("1 != 1.0") == "false");
  CHECK(run("1 != 2") == "true");
  CHECK(run(R"("1" == 1)") == "false");
  CHECK(run("null == null") == "true");
  CHECK(run("null == false") == "false");
  CHECK(run("0 == false") == "false");
  CHECK(run("[1, [2]] == [1.0, [2]]") == "true");
  CHECK(run("[1, 2] == [2, 1]") == "false");
  CHECK(run("[1] == [1, 1]") == "false");
  CHECK(run(".user == .same", json{{"user", {{"a", 1}, {"b", {1, 2}}}},
                                   {"same", {{"b", {1.0, 2}}, {"a", 1.0}}}})
        == "true");
  CHECK(run(".user == .other", json{{"user", {{"a", 1}}}, {"other", {{"a", 1}, {"b", 2}}}})
        == "false");
  CHECK(run(".user == .other", json{{"user", {{"a", 1}}}, {"other", {{"b", 1}}}}) == "false");
  CHECK(run(R"(.category == "food")", order) == "true");
  CHECK(run(".tags == [\"a\", \"b\", \"c\"]", order) == "true");
}

// -- in -----------------------------------------------------------------------

TEST_CASE("in tests array membership with deep equality", "[expr]") {
  CHECK(run("2 in [1, 2, 3]") == "true");
  CHECK(run("4 in [1, 2, 3]") == "false");
  CHECK(run("2.0 in [1, 2]") == "true");
  CHECK(run(R"("1" in [1])") == "false");
  CHECK(run("[1] in [[1], [2]]") == "true");
  CHECK(run("null in [null]") == "true");
  CHECK(run("1 in []") == "false");
  CHECK(run(R"(.category in ["food", "toys"])", order) == "true");
  CHECK(run(R"("b" in .tags)", order) == "true");
  CHECK(run(".missing in .tags", order) == "false");
}

TEST_CASE("in finds a substring in a string", "[expr]") {
  CHECK(run(R"("ell" in "hello")") == "true");
  CHECK(run(R"("xyz" in "hello")") == "false");
  CHECK(run(R"("" in "hello")") == "true");
  CHECK(run(R"("oo" in .category)", order) == "true");
}

TEST_CASE("in finds a key in an object", "[expr]") {
  CHECK(run(R"("name" in .user)", order) == "true");
  CHECK(run(R"("age" in .user)", order) == "false");
  CHECK(run(R"("odd key" in .)", order) == "true");
}

TEST_CASE("in with a right side it cannot search is a type error", "[expr]") {
  CHECK(run(R"(1 in "abc")")
        == "type_error: 'in': cannot look for integer in a string (convert it with "
           "to_string(...))");
  CHECK(run("1 in .user", order)
        == "type_error: 'in': object keys are strings, cannot look for integer among them");
  CHECK(run("1 in 5")
        == "type_error: 'in': the right side must be an array, a string or an object, got "
           "integer");
  CHECK(run(R"("a" in .missing)", order)
        == "type_error: 'in': the right side must be an array, a string or an object, got "
           "null (a missing field is null)");
}

// -- logic --------------------------------------------------------------------

TEST_CASE("&& and || follow boolean logic", "[expr]") {
  CHECK(run("true && true") == "true");
  CHECK(run("true && false") == "false");
  CHECK(run("false || true") == "true");
  CHECK(run("false || false") == "false");
  CHECK(run("!true") == "false");
  CHECK(run("!!true") == "true");
  CHECK(run("true && true && true && false") == "false");
  CHECK(run("false || false || false || true") == "true");
}

TEST_CASE("&& and || short-circuit", "[expr]") {
  CHECK(run("false && (1/0 > 0)") == "false");
  CHECK(run("true || (1/0 > 0)") == "true");
  CHECK(run("false && 1") == "false");
  CHECK(run("true || \"never looked at\"") == "true");
  CHECK(run("true && false && (1/0 > 0)") == "false");
  CHECK(run(".missing > 1 && .missing.x * 2 > 0", order) == "false");
  // The right side is evaluated when the left does not decide.
  CHECK(run("true && (1/0 > 0)") == "type_error: '/': division by zero");
  CHECK(run("false || (1/0 > 0)") == "type_error: '/': division by zero");
}

TEST_CASE("logic on non-booleans is a type error", "[expr]") {
  CHECK(run("1 && true") == "type_error: '&&': the left side is integer, expected true or false");
  CHECK(run(R"(true && "x")")
        == "type_error: '&&': the right side is string, expected true or false");
  CHECK(run("false || 0") == "type_error: '||': the right side is integer, expected true or false");
  CHECK(run("true && true && 3")
        == "type_error: '&&': operand 3 is integer, expected true or false");
  CHECK(run(".missing || true", order)
        == "type_error: '||': the left side is null, expected true or false (a missing field "
           "is null; test it with exists(.field) or .field == true)");
  CHECK(run("!1") == "type_error: '!': expected true or false, got integer");
  CHECK(run("!.missing", order) == "type_error: '!': expected true or false, got null");
}

TEST_CASE("a long chain of || stays shallow", "[expr]") {
  std::string text = ".x == 0";
  for (int k = 1; k < 1000; ++k)
    text += " || .x == " + std::to_string(k);
  CHECK(run(text, json{{"x", 999}}) == "true");
  CHECK(run(text, json{{"x", 1000}}) == "false");
}

// -- precedence ---------------------------------------------------------------

TEST_CASE("operators bind by the documented precedence", "[expr]") {
  // * / % over + -
  CHECK(run("1 + 2 * 3") == "7");
  CHECK(run("(1 + 2) * 3") == "9");
  CHECK(run("2 * 3 % 4") == "2");
  CHECK(run("10 - 6 / 2") == "7");
  // left associative
  CHECK(run("10 - 4 - 3") == "3");
  CHECK(run("100 / 10 / 5") == "2");
  CHECK(run("2 * 3 / 4") == "1.5");
  // unary binds tightest
  CHECK(run("-2 * 3") == "-6");
  CHECK(run("-2 + 3") == "1");
  CHECK(run("!false && false") == "false");
  CHECK(run("!(false && false)") == "true");
  // + - over comparisons
  CHECK(run("1 + 2 < 4") == "true");
  CHECK(run("2 * 3 >= 6") == "true");
  // comparisons over == !=
  CHECK(run("1 < 2 == true") == "true");
  CHECK(run("2 > 1 != 1 > 2") == "true");
  // == over in: (1 == 1) in [true]; the other way round it would be false
  CHECK(run("1 == 1 in [true]") == "true");
  // in over &&
  CHECK(run(R"("a" in ["a"] && false)") == "false");
  CHECK(run(R"(.category in ["food"] && .amount > 50)", order) == "true");
  // && over ||
  CHECK(run("true || false && false") == "true");
  CHECK(run("(true || false) && false") == "false");
  CHECK(run("false && true || true") == "true");
}

// -- the compiled expression ----------------------------------------------------

TEST_CASE("test() returns a boolean result", "[expr]") {
  auto e = expression::compile(R"(.amount > 50 && .category in ["food", "toys"])");
  REQUIRE(e);
  auto yes = e->test(make(order));
  REQUIRE(yes);
  CHECK(*yes);
  auto no = e->test(make(json{{"amount", 10}, {"category", "food"}}));
  REQUIRE(no);
  CHECK_FALSE(*no);
  auto missing = e->test(make(json::object()));
  REQUIRE(missing);
  CHECK_FALSE(*missing);
}

TEST_CASE("test() refuses a result that is not a boolean", "[expr]") {
  auto e = expression::compile(".amount");
  REQUIRE(e);
  auto r = e->test(make(order));
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::type_error);
  CHECK(r.err().message == "expression '.amount' gave integer, expected true or false");
  auto n = e->test(make(json::object()));
  REQUIRE_FALSE(n);
  CHECK(n.err().message
        == "expression '.amount' gave null, expected true or false (a missing field is null; "
           "exists(.field) tests for presence)");
}

TEST_CASE("test() passes on evaluation errors", "[expr]") {
  auto e = expression::compile(".amount * \"x\" > 1");
  REQUIRE(e);
  auto r = e->test(make(order));
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::type_error);
  CHECK(r.err().message == "'*': cannot multiply integer by string");
}

TEST_CASE("a compiled expression keeps its text and can be copied", "[expr]") {
  auto e = expression::compile("  .amount + 1 ");
  REQUIRE(e);
  CHECK(e->valid());
  CHECK(e->text() == "  .amount + 1 ");
  expression copy = *e;
  auto r = copy.eval(make(order));
  REQUIRE(r);
  CHECK(*r == 76);
}

TEST_CASE("a default expression is invalid and evaluates to an error", "[expr]") {
  expression e;
  CHECK_FALSE(e.valid());
  auto r = e.eval(make(order));
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::runtime_error);
  auto t = e.test(make(order));
  REQUIRE_FALSE(t);
  CHECK(t.err().code == errc::runtime_error);
}

TEST_CASE("one expression evaluates many records independently", "[expr]") {
  auto e = expression::compile(R"(.n * 2 + len(.s))");
  REQUIRE(e);
  for (int n = 0; n < 50; ++n) {
    auto r = e->eval(make(json{{"n", n}, {"s", std::string(static_cast<size_t>(n), 'x')}}));
    REQUIRE(r);
    CHECK(*r == 3 * n);
  }
  auto bad = e->eval(make(json{{"n", "x"}, {"s", ""}}));
  REQUIRE_FALSE(bad);
  auto good = e->eval(make(json{{"n", 1}, {"s", "ab"}}));
  REQUIRE(good);
  CHECK(*good == 4);
}

TEST_CASE("evaluation returns values independent of the record", "[expr]") {
  auto e = expression::compile(".user");
  REQUIRE(e);
  json value;
  {
    auto rec = make(order);
    auto r = e->eval(rec);
    REQUIRE(r);
    value = std::move(*r);
  }
  CHECK(value["name"] == "Ada");
}
