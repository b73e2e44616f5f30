// Compile errors of the expression language: each names the 1-based column
// and what was expected, and compile never throws.

#include <string>

#include <catch2/catch.hpp>

#include "runtime/expr/expr_test_support.hpp"

using sluice::expr::testing::compile_error;

TEST_CASE("an empty expression is a compile error", "[expr][errors]") {
  CHECK(compile_error("") == "column 1: expected an expression (the text is empty)");
  CHECK(compile_error("   ") == "column 1: expected an expression (the text is empty)");
}

TEST_CASE("a missing operand names the operator before it", "[expr][errors]") {
  CHECK(compile_error(".a > 1 &&") == "column 10: expected an expression after '&&'");
  CHECK(compile_error(".a && )") == "column 7: expected an expression after '&&', found ')'");
  CHECK(compile_error("1 +") == "column 4: expected an expression after '+'");
  CHECK(compile_error("1 + * 2") == "column 5: expected an expression after '+', found '*'");
  CHECK(compile_error("!") == "column 2: expected an expression after '!'");
  CHECK(compile_error(".a in") == "column 6: expected an expression after 'in'");
  CHECK(compile_error("in [1]") == "column 1: expected an expression, found 'in'");
  CHECK(compile_error(")") == "column 1: expected an expression, found ')'");
  CHECK(compile_error("()") == "column 2: expected an expression after '(', found ')'");
}

TEST_CASE("columns count code points, not bytes", "[expr][errors]") {
  CHECK(compile_error("\"\xC3\xA9\" + 1 +") == "column 10: expected an expression after '+'");
  CHECK(compile_error(".caf\xC3\xA9 ~") == "column 7: unexpected character '~'");
}

TEST_CASE("trailing garbage is an error", "[expr][errors]") {
  CHECK(compile_error(".a .b")
        == "column 4: expected an operator or the end of the expression, found '.b'");
  CHECK(compile_error("1 2") == "column 3: expected an operator or the end of the expression, found '2'");
  CHECK(compile_error(".a)") == "column 3: unexpected ')' without a matching '('");
  CHECK(compile_error(".tags [0]")
        == "column 7: expected an operator or the end of the expression, found '['");
  CHECK(compile_error(".a > 1 and .b")
        == "column 8: expected an operator or the end of the expression, found 'and' (write "
           "'&&')");
  CHECK(compile_error(".a or .b")
        == "column 4: expected an operator or the end of the expression, found 'or' (write "
           "'||')");
}

TEST_CASE("unbalanced brackets say where they were opened", "[expr][errors]") {
  CHECK(compile_error("(.a") == "column 4: expected ')' to close the '(' at column 1");
  CHECK(compile_error("1 + (2 * 3") == "column 11: expected ')' to close the '(' at column 5");
  CHECK(compile_error("(.a and .b)")
        == "column 5: expected ')' to close the '(' at column 1, found 'and' (write '&&')");
  CHECK(compile_error("[1, 2") == "column 6: expected ',' or ']' in the array opened at column 1");
  CHECK(compile_error("[1 2]")
        == "column 4: expected ',' or ']' in the array opened at column 1, found '2'");
  CHECK(compile_error("[1, ]") == "column 5: expected an expression after ',', found ']'");
  CHECK(compile_error("round(1 2)")
        == "column 9: expected ',' or ')' after argument 1 of round(), found '2'");
  CHECK(compile_error("round(1") == "column 8: expected ',' or ')' after argument 1 of round()");
  CHECK(compile_error("max(1,)") == "column 7: expected an expression after ',', found ')'");
}

TEST_CASE("strings must be terminated and use known escapes", "[expr][errors]") {
  CHECK(compile_error(R"(.a == "abc)") == "column 7: unterminated string");
  CHECK(compile_error(R"("abc\")") == "column 1: unterminated string");
  CHECK(compile_error(R"("a\qb")")
        == R"(column 3: unknown escape '\q' in a string (valid: \" \\ \/ \b \f \n \r \t \uXXXX))");
  CHECK(compile_error(R"("\u12")") == R"(column 2: expected four hex digits after \u)");
  CHECK(compile_error(R"("\uZZZZ")") == R"(column 2: expected four hex digits after \u)");
  CHECK(compile_error(R"("\ud800")")
        == R"(column 2: \u escape is a high surrogate without a low surrogate after it)");
  CHECK(compile_error(R"("\udc00")") == R"(column 2: \u escape is a lone low surrogate)");
  CHECK(compile_error(R"(.a == 'x')")
        == R"(column 7: strings are written in double quotes ("text"; inside a JSON config, \"text\"))");
}

TEST_CASE("malformed numbers are compile errors", "[expr][errors]") {
  CHECK(compile_error("1.") == "column 3: expected a digit after the decimal point");
  CHECK(compile_error("1.x") == "column 3: expected a digit after the decimal point");
  CHECK(compile_error("1e") == "column 3: expected digits in the exponent of the number");
  CHECK(compile_error("1e+") == "column 4: expected digits in the exponent of the number");
  CHECK(compile_error("12abc") == "column 1: invalid number '12abc'");
  CHECK(compile_error("1e999") == "column 1: number 1e999 is out of range for a float");
  CHECK(compile_error("9223372036854775808")
        == "column 1: integer 9223372036854775808 is out of the 64-bit range; add '.0' to "
           "make it a float");
  CHECK(compile_error("-9223372036854775809")
        == "column 1: integer -9223372036854775809 is out of the 64-bit range; add '.0' to "
           "make it a float");
  CHECK(compile_error("1 + 99999999999999999999999")
        == "column 5: integer 99999999999999999999999 is out of the 64-bit range; add '.0' "
           "to make it a float");
}

TEST_CASE("malformed field paths are compile errors", "[expr][errors]") {
  CHECK(compile_error(".a.") == R"(column 4: expected a field name after '.' (quote odd keys: ."my key"))");
  CHECK(compile_error(".a. == 1") == R"(column 4: expected a field name after '.' (quote odd keys: ."my key"))");
  CHECK(compile_error("..a") == R"(column 2: expected a field name after '.' (quote odd keys: ."my key"))");
  CHECK(compile_error(".tags[x]") == "column 6: expected an index like [0] or [-1]");
  CHECK(compile_error(".tags[0") == "column 6: expected an index like [0] or [-1]");
  CHECK(compile_error(".tags[]") == "column 6: expected an index like [0] or [-1]");
  CHECK(compile_error(".tags[99999999999999999999]") == "column 6: expected an index like [0] or [-1]");
  CHECK(compile_error(R"(."unterminated)") == "column 2: unterminated string");
  CHECK(compile_error("split(.s, \",\")[x]") == "column 15: expected an index like [0] or [-1]");
  CHECK(compile_error("(.a)[1") == "column 5: expected an index like [0] or [-1]");
}

TEST_CASE("stray characters and lookalike operators are compile errors", "[expr][errors]") {
  CHECK(compile_error(".a = 1") == "column 4: '=' is not an operator; write '==' to compare");
  CHECK(compile_error(".a & .b") == "column 4: '&' is not an operator; write '&&' for 'and'");
  CHECK(compile_error(".a | .b") == "column 4: '|' is not an operator; write '||' for 'or'");
  CHECK(compile_error(".a ~ 1") == "column 4: unexpected character '~'");
  CHECK(compile_error("{\"a\": 1}") == "column 1: unexpected character '{'");
  CHECK(compile_error("1 # 2") == "column 3: unexpected character '#'");
  CHECK(compile_error("1 + \\") == "column 5: unexpected character '\\'");
}

TEST_CASE("bare names that are not literals or calls are compile errors", "[expr][errors]") {
  CHECK(compile_error("amount > 5")
        == "column 1: unknown name 'amount'; a field is written with a leading dot: .amount");
  CHECK(compile_error("ture") == "column 1: unknown name 'ture' (did you mean 'true'?)");
  CHECK(compile_error(".a == nul") == "column 7: unknown name 'nul' (did you mean 'null'?)");
  CHECK(compile_error(".user-id")
        == "column 7: unknown name 'id': a key containing '-' must be quoted, as in "
           ".\"user-id\" (or put spaces around '-' to subtract)");
  CHECK(compile_error("len") == "column 1: 'len' is a function; call it as len(string|array|object)");
  CHECK(compile_error("not .a") == "column 1: 'not' is not an operator; write '!'");
}

TEST_CASE("unknown functions are named, with a hint for near names", "[expr][errors]") {
  CHECK(compile_error("rond(.x)") == "column 1: unknown function 'rond' (did you mean 'round'?)");
  CHECK(compile_error(".a + lowr(.b)") == "column 6: unknown function 'lowr' (did you mean 'lower'?)");
  CHECK(compile_error("length(.x)") == "column 1: unknown function 'length' (did you mean 'len'?)");
  CHECK(compile_error("startswith(.x, \"a\")")
        == "column 1: unknown function 'startswith' (did you mean 'starts_with'?)");
  CHECK(compile_error("int(.x)") == "column 1: unknown function 'int' (did you mean 'to_int'?)");
  CHECK(compile_error("frobnicate(1)") == "column 1: unknown function 'frobnicate'");
}

TEST_CASE("wrong arity names the function and its arguments", "[expr][errors]") {
  CHECK(compile_error("round(1, 2)") == "column 1: round() takes 1 argument (round(number)), got 2");
  CHECK(compile_error("round()") == "column 1: round() takes 1 argument (round(number)), got 0");
  CHECK(compile_error("min()") == "column 1: min() takes at least 1 argument (min(number, ...)), got 0");
  CHECK(compile_error("now(1)") == "column 1: now() takes 0 arguments (now()), got 1");
  CHECK(compile_error("1 + replace(.a, \"b\")")
        == "column 5: replace() takes 3 arguments (replace(string, from, to)), got 2");
  CHECK(compile_error("coalesce(.a)")
        == "column 1: coalesce() takes at least 2 arguments (coalesce(value, value, ...)), got 1");
  CHECK(compile_error("if(true, 1)")
        == "column 1: if() takes 3 arguments (if(condition, then, else)), got 2");
}

TEST_CASE("every built-in compiles with its documented arity", "[expr][errors]") {
  for (auto text : {"round(1)", "floor(1)", "ceil(1)", "abs(1)", "min(1, 2, 3)", "max(1)",
                    "lower(\"a\")", "upper(\"a\")", "trim(\"a\")", "len(\"a\")",
                    "contains(\"a\", \"a\")", "starts_with(\"a\", \"a\")",
                    "ends_with(\"a\", \"a\")", "matches(\"a\", \"a\")",
                    "replace(\"a\", \"a\", \"b\")", "split(\"a\", \",\")", "join([], \",\")",
                    "to_int(1)", "to_float(1)", "to_string(1)", "exists(.a)",
                    "coalesce(1, 2, 3)", "if(true, 1, 2)", "now()"}) {
    INFO(text);
    CHECK(compile_error(text) == "compiled");
  }
}

TEST_CASE("exists needs a field path", "[expr][errors]") {
  CHECK(compile_error(R"(exists("a"))")
        == "column 8: exists() takes a field path like .a.b, not a computed value");
  CHECK(compile_error("exists(.a + 1)")
        == "column 8: exists() takes a field path like .a.b, not a computed value");
  CHECK(compile_error("exists((.a))") == "compiled");
}

TEST_CASE("the pattern of matches is a string literal compiled once", "[expr][errors]") {
  CHECK(compile_error("matches(.s, .pattern)")
        == "column 13: the pattern of matches() must be a string literal (it is compiled "
           "once, when the pipeline loads)");
  CHECK(compile_error(R"(matches(.s, "a" + "b"))")
        == "column 13: the pattern of matches() must be a string literal (it is compiled "
           "once, when the pipeline loads)");
  CHECK_THAT(compile_error(R"(matches(.s, "(unclosed"))"),
             Catch::StartsWith("column 13: invalid regular expression in matches(): "));
  CHECK_THAT(compile_error(R"(.a && matches(.s, "[z-a]"))"),
             Catch::StartsWith("column 19: invalid regular expression in matches(): "));
}

TEST_CASE("comparisons cannot be chained", "[expr][errors]") {
  CHECK(compile_error("1 < 2 < 3") == "column 7: comparisons cannot be chained; write 'a < b && b < c'");
  CHECK(compile_error(".a <= .b >= .c")
        == "column 10: comparisons cannot be chained; write 'a < b && b < c'");
  // Parentheses say what is meant; == and in may follow a comparison.
  CHECK(compile_error("(1 < 2) == (2 < 3)") == "compiled");
  CHECK(compile_error("1 < 2 == 2 < 3") == "compiled");
}

TEST_CASE("nesting deeper than the limit is a compile error", "[expr][errors]") {
  auto nested = [](const std::string& open, const std::string& inner, const std::string& close,
                   int n) {
    std::string s;
    for (int k = 0; k < n; ++k)
      s += open;
    s += inner;
    for (int k = 0; k < n; ++k)
      s += close;
    return s;
  };
  CHECK(compile_error(nested("(", "1", ")", 100000))
        == "column 257: the expression nests too deeply (the limit is 256 levels)");
  CHECK(compile_error(nested("[", "1", "]", 300))
        == "column 257: the expression nests too deeply (the limit is 256 levels)");
  CHECK(compile_error(nested("abs(", "1", ")", 300))
        == "column 1025: the expression nests too deeply (the limit is 256 levels)");
  CHECK(compile_error(nested("!", "true", "", 100000))
        == "column 257: the expression nests too deeply (the limit is 256 levels)");
  CHECK(compile_error(nested("-", "(1)", "", 300))
        == "column 257: the expression nests too deeply (the limit is 256 levels)");
  // An operator applied to another operator's result adds a level too.
  std::string sum = "1";
  for (int k = 0; k < 300; ++k)
    sum += " + 1";
  CHECK(compile_error(sum) == "column 1023: the expression nests too deeply (the limit is 256 levels)");
  // Within the limit, deep nesting compiles and evaluates.
  CHECK(sluice::expr::testing::run(nested("(", "1", ")", 200)) == "1");
  CHECK(sluice::expr::testing::run(nested("[", "1", "]", 100)) == nested("[", "1", "]", 100));
}
