#include <catch2/catch.hpp>

#include "ops/schema.hpp"

using namespace sluice;

namespace {

schema compiled(const char* text) {
  auto s = schema::compile(json::parse(text));
  if (!s)
    FAIL("schema did not compile: " << s.err().message);
  return std::move(*s);
}

// The validation message for `value`, or "" if it is valid.
std::string check(const char* schema_text, const char* value) {
  auto st = compiled(schema_text).validate(json::parse(value));
  if (st)
    return {};
  CHECK(st.err().code == errc::schema_violation);
  return st.err().message;
}

std::vector<schema_problem> problems_of(const char* schema_text) {
  std::vector<schema_problem> problems;
  auto s = schema::compile(json::parse(schema_text), &problems);
  CHECK_FALSE(s);
  if (!s)
    CHECK(s.err().code == errc::invalid_config);
  return problems;
}

} // namespace

TEST_CASE("type accepts the named JSON types", "[ops][schema]") {
  CHECK(check(R"({"type": "integer"})", "2") == "");
  CHECK(check(R"({"type": "integer"})", "2.0") == "");
  CHECK(check(R"({"type": "integer"})", "-7") == "");
  CHECK(check(R"({"type": "integer"})", "2.5") == "/: expected integer, got number");
  CHECK(check(R"({"type": "number"})", "2") == "");
  CHECK(check(R"({"type": "number"})", "2.5") == "");
  CHECK(check(R"({"type": "number"})", "\"2\"") == "/: expected number, got string");
  CHECK(check(R"({"type": "string"})", "true") == "/: expected string, got boolean");
  CHECK(check(R"({"type": "boolean"})", "null") == "/: expected boolean, got null");
  CHECK(check(R"({"type": "array"})", "{}") == "/: expected array, got object");
  CHECK(check(R"({"type": "object"})", "[]") == "/: expected object, got array");
  CHECK(check(R"({"type": "null"})", "null") == "");
}

TEST_CASE("a list of types accepts any of them", "[ops][schema]") {
  CHECK(check(R"({"type": ["string", "null"]})", "null") == "");
  CHECK(check(R"({"type": ["string", "null"]})", "\"x\"") == "");
  CHECK(check(R"({"type": ["string", "null"]})", "1") == "/: expected string or null, got integer");
  CHECK(check(R"({"type": ["string", "integer", "null"]})", "1.5")
        == "/: expected string, integer or null, got number");
}

TEST_CASE("required names missing properties of objects only", "[ops][schema]") {
  const char* s = R"({"required": ["user", "id"]})";
  CHECK(check(s, R"({"user": 1, "id": 2})") == "");
  CHECK(check(s, R"({"id": null})") == "/: missing required property 'user'");
  CHECK(check(s, "{}") == "/: missing required property 'user'; /: missing required property 'id'");
  CHECK(check(s, "5") == "");
}

TEST_CASE("properties validate nested values at their paths", "[ops][schema]") {
  const char* s = R"({"properties": {"amount": {"minimum": 0},
                                      "user": {"properties": {"name": {"type": "string"}}}}})";
  CHECK(check(s, R"({"amount": 3, "user": {"name": "ann"}, "other": 1})") == "");
  CHECK(check(s, R"({"amount": -5})") == "/amount: -5 is less than the minimum 0");
  CHECK(check(s, R"({"user": {"name": 7}})") == "/user/name: expected string, got integer");
}

TEST_CASE("instance paths escape '/' and '~' in keys", "[ops][schema]") {
  CHECK(check(R"({"properties": {"a/b": {"type": "string"}, "c~d": {"type": "string"}}})",
              R"({"a/b": 1, "c~d": 2})")
        == "/a~1b: expected string, got integer; /c~0d: expected string, got integer");
}

TEST_CASE("additionalProperties false refuses unlisted properties", "[ops][schema]") {
  const char* s = R"({"properties": {"a": {}, "c": {}}, "additionalProperties": false})";
  CHECK(check(s, R"({"a": 1, "c": 2})") == "");
  CHECK(check(s, R"({"a": 1, "b": 2, "d": 3})")
        == "/: unexpected property 'b' (additionalProperties is false); "
           "/: unexpected property 'd' (additionalProperties is false)");
}

TEST_CASE("additionalProperties as a schema checks the unlisted values", "[ops][schema]") {
  const char* s = R"({"properties": {"a": {"type": "integer"}},
                      "additionalProperties": {"type": "string"}})";
  CHECK(check(s, R"({"a": 1, "x": "y"})") == "");
  CHECK(check(s, R"({"a": 1, "x": 2})") == "/x: expected string, got integer");
  CHECK(check(R"({"additionalProperties": true})", R"({"x": 2})") == "");
}

TEST_CASE("items applies its schema to every element", "[ops][schema]") {
  const char* s = R"({"properties": {"tags": {"items": {"type": "string"}}}})";
  CHECK(check(s, R"({"tags": ["a", "b"]})") == "");
  CHECK(check(s, R"({"tags": ["a", "b", 3]})") == "/tags/2: expected string, got integer");
  CHECK(check(s, R"({"tags": "not an array"})") == "");
}

TEST_CASE("minItems and maxItems bound an array's length", "[ops][schema]") {
  CHECK(check(R"({"minItems": 2})", "[1, 2]") == "");
  CHECK(check(R"({"minItems": 2})", "[1]") == "/: expected at least 2 items, got 1");
  CHECK(check(R"({"maxItems": 1})", "[1, 2]") == "/: expected at most 1 item, got 2");
  CHECK(check(R"({"maxItems": 1})", "\"ab\"") == "");
}

TEST_CASE("uniqueItems compares items as JSON values", "[ops][schema]") {
  CHECK(check(R"({"uniqueItems": true})", R"([1, "1", [1], {"a": 1}])") == "");
  CHECK(check(R"({"uniqueItems": true})", "[1, 2, 1.0]")
        == "/: items 0 and 2 are equal, but uniqueItems is set");
  CHECK(check(R"({"uniqueItems": true})", R"([{"a": 1, "b": 2}, {"b": 2, "a": 1}])")
        == "/: items 0 and 1 are equal, but uniqueItems is set");
  CHECK(check(R"({"uniqueItems": false})", "[1, 1]") == "");
}

TEST_CASE("enum and const compare JSON values", "[ops][schema]") {
  CHECK(check(R"({"enum": ["a", "b", 1]})", "\"b\"") == "");
  CHECK(check(R"({"enum": ["a", "b", 1]})", "1.0") == "");
  CHECK(check(R"({"enum": ["a", "b"]})", "\"c\"") == R"(/: "c" is not one of ["a","b"])");
  CHECK(check(R"({"const": 5})", "5") == "");
  CHECK(check(R"({"const": 5})", "6") == "/: expected the constant 5, got 6");
  CHECK(check(R"({"const": {"a": [1]}})", R"({"a": [1]})") == "");
}

TEST_CASE("minimum, maximum and the exclusive bounds", "[ops][schema]") {
  CHECK(check(R"({"minimum": 0})", "0") == "");
  CHECK(check(R"({"minimum": 0})", "-0.5") == "/: -0.5 is less than the minimum 0");
  CHECK(check(R"({"maximum": 10})", "10") == "");
  CHECK(check(R"({"maximum": 10})", "11") == "/: 11 is greater than the maximum 10");
  CHECK(check(R"({"exclusiveMinimum": 0})", "0.5") == "");
  CHECK(check(R"({"exclusiveMinimum": 0})", "0") == "/: 0 is not greater than the exclusive minimum 0");
  CHECK(check(R"({"exclusiveMaximum": 10})", "10")
        == "/: 10 is not less than the exclusive maximum 10");
  CHECK(check(R"({"exclusiveMaximum": 10.5})", "10") == "");
  // Bounds apply to numbers only.
  CHECK(check(R"({"minimum": 0})", "\"x\"") == "");
}

TEST_CASE("integer bounds compare exactly beyond double precision", "[ops][schema]") {
  // 2^53 + 1 and 2^53 + 2 are the same double.
  CHECK(check(R"({"maximum": 9007199254740993})", "9007199254740993") == "");
  CHECK(check(R"({"maximum": 9007199254740993})", "9007199254740994")
        == "/: 9007199254740994 is greater than the maximum 9007199254740993");
  CHECK(check(R"({"minimum": -1})", "18446744073709551615") == "");
}

TEST_CASE("multipleOf checks integers exactly and floats with a tolerance", "[ops][schema]") {
  CHECK(check(R"({"multipleOf": 5})", "10") == "");
  CHECK(check(R"({"multipleOf": 5})", "-15") == "");
  CHECK(check(R"({"multipleOf": 5})", "7") == "/: 7 is not a multiple of 5");
  CHECK(check(R"({"multipleOf": 0.1})", "0.3") == "");
  CHECK(check(R"({"multipleOf": 0.1})", "0.35") == "/: 0.35 is not a multiple of 0.1");
  CHECK(check(R"({"multipleOf": 2})", "4.0") == "");
}

TEST_CASE("minLength and maxLength count Unicode code points", "[ops][schema]") {
  CHECK(check(R"({"maxLength": 3})", "\"h\u00e9\u00e9\"") == "");
  CHECK(check(R"({"maxLength": 3})", "\"h\u00e9llo\"") == "/: expected at most 3 characters, got 5");
  CHECK(check(R"({"minLength": 2})", "\"\u00e9\"") == "/: expected at least 2 characters, got 1");
  CHECK(check(R"({"minLength": 1})", "\"\"") == "/: expected at least 1 character, got 0");
  CHECK(check(R"({"minLength": 2})", "5") == "");
}

TEST_CASE("pattern searches the string with an ECMAScript regex", "[ops][schema]") {
  CHECK(check(R"({"pattern": "b"})", "\"abc\"") == "");
  CHECK(check(R"({"pattern": "^[0-9]+$"})", "\"123\"") == "");
  CHECK(check(R"({"pattern": "^[0-9]+$"})", "\"12a\"")
        == "/: \"12a\" does not match the pattern '^[0-9]+$'");
  CHECK(check(R"({"pattern": "^a"})", "1") == "");
}

TEST_CASE("allOf requires every schema", "[ops][schema]") {
  const char* s = R"({"allOf": [{"minimum": 0}, {"maximum": 10}]})";
  CHECK(check(s, "5") == "");
  CHECK(check(s, "11") == "/: 11 is greater than the maximum 10");
}

TEST_CASE("anyOf requires one schema and explains each branch", "[ops][schema]") {
  const char* s = R"({"anyOf": [{"type": "string"}, {"type": "null"}]})";
  CHECK(check(s, "null") == "");
  CHECK(check(s, "1") == "/: matches no schema in anyOf (#0: /: expected string, got integer; "
                         "#1: /: expected null, got integer)");
}

TEST_CASE("oneOf requires exactly one schema", "[ops][schema]") {
  const char* s = R"({"oneOf": [{"type": "integer"}, {"minimum": 0}]})";
  CHECK(check(s, "-1") == "");
  CHECK(check(s, "2.5") == "");
  CHECK(check(s, "5") == "/: matches more than one schema in oneOf (#0 and #1); it must match "
                         "exactly one");
  CHECK(check(s, "-2.5") == "/: matches no schema in oneOf (#0: /: expected integer, got number; "
                            "#1: /: -2.5 is less than the minimum 0)");
}

TEST_CASE("not refuses values its schema accepts", "[ops][schema]") {
  CHECK(check(R"({"not": {"type": "string"}})", "1") == "");
  CHECK(check(R"({"not": {"type": "string"}})", "\"x\"")
        == "/: \"x\" matches the schema under 'not'");
}

TEST_CASE("boolean schemas accept everything or nothing", "[ops][schema]") {
  CHECK(check("true", R"({"x": 1})") == "");
  CHECK(check("false", "1") == "/: no value is allowed here (the schema is false)");
  CHECK(check(R"({"properties": {"x": false}})", R"({"y": 1})") == "");
  CHECK(check(R"({"properties": {"x": false}})", R"({"x": 1})")
        == "/x: no value is allowed here (the schema is false)");
}

TEST_CASE("every failure of a record is reported, in schema order", "[ops][schema]") {
  const char* s = R"({"type": "object", "required": ["user"],
                      "properties": {"amount": {"type": "integer", "minimum": 0},
                                     "tags": {"items": {"type": "string"}}}})";
  CHECK(check(s, R"({"amount": -5, "tags": ["a", 1, 2]})")
        == "/: missing required property 'user'; /amount: -5 is less than the minimum 0; "
           "/tags/1: expected string, got integer; /tags/2: expected string, got integer");
}

TEST_CASE("a flood of failures is cut after 20 messages", "[ops][schema]") {
  json many = json::array();
  for (int i = 0; i < 25; ++i)
    many.push_back(i);
  auto st = compiled(R"({"items": {"type": "string"}})").validate(many);
  REQUIRE_FALSE(st);
  auto& msg = st.err().message;
  CHECK(msg.find("/19: expected string, got integer; ... and 5 more") != std::string::npos);
  CHECK(msg.find("/20:") == std::string::npos);
}

TEST_CASE("annotation keywords are accepted and format is not asserted", "[ops][schema]") {
  const char* s = R"({"$schema": "https://json-schema.org/draft-07/schema#", "$id": "x",
                      "$comment": "c", "title": "t", "description": "d", "default": 1,
                      "examples": [1], "format": "email"})";
  CHECK(check(s, "\"not an email\"") == "");
}

TEST_CASE("a schema is compiled once and can be validated many times", "[ops][schema]") {
  auto s = compiled(R"({"properties": {"n": {"pattern": "^[a-z]+$"}}})");
  for (int i = 0; i < 3; ++i) {
    CHECK(s.validate(json{{"n", "abc"}}));
    CHECK_FALSE(s.validate(json{{"n", "ABC"}}));
  }
}

TEST_CASE("an unknown keyword is a compile error with a suggestion", "[ops][schema]") {
  auto problems = problems_of(R"({"minimun": 0})");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].pointer == "/minimun");
  CHECK(problems[0].message == "unknown schema keyword 'minimun' (did you mean 'minimum'?)");
  CHECK(problems[0].render() == "minimun: unknown schema keyword 'minimun' (did you mean 'minimum'?)");
  auto far = problems_of(R"({"color": "red"})");
  REQUIRE(far.size() == 1);
  CHECK(far[0].message == "unknown schema keyword 'color'");
}

TEST_CASE("compile reports problems with their pointer inside the schema", "[ops][schema]") {
  auto problems = problems_of(R"({"properties": {"amount": {"minimum": "0"}}})");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].pointer == "/properties/amount/minimum");
  CHECK(problems[0].render() == "properties/amount/minimum: expected a number, got \"0\"");
}

TEST_CASE("compile collects every problem at once", "[ops][schema]") {
  auto s = schema::compile(json::parse(R"({"type": "strin", "minimum": "x",
                                           "items": {"maxItems": -1}})"));
  REQUIRE_FALSE(s);
  CHECK(s.err().message
        == "items/maxItems: expected a non-negative integer, got -1; "
           "minimum: expected a number, got \"x\"; "
           "type: unknown type 'strin' (did you mean 'string'?); types are null, boolean, "
           "integer, number, string, array, object");
}

TEST_CASE("a bad pattern is a compile error", "[ops][schema]") {
  auto problems = problems_of(R"({"properties": {"code": {"pattern": "([a-z]"}}})");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].pointer == "/properties/code/pattern");
  CHECK(problems[0].message.rfind("invalid regular expression '([a-z]': ", 0) == 0);
}

TEST_CASE("$ref and other unsupported keywords say so", "[ops][schema]") {
  auto ref = problems_of(R"({"$ref": "#/definitions/x"})");
  REQUIRE(ref.size() == 1);
  CHECK(ref[0].message == "$ref is not supported: a schema must be self-contained; inline the "
                          "referenced schema here");
  auto pp = problems_of(R"({"patternProperties": {}})");
  REQUIRE(pp.size() == 1);
  CHECK(pp[0].message == "schema keyword 'patternProperties' is not supported by sluice (see "
                         "the validate section of docs/stages.md)");
}

TEST_CASE("keyword values of the wrong shape are compile errors", "[ops][schema]") {
  auto check_one = [](const char* text, const char* pointer, const char* message) {
    auto problems = problems_of(text);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].pointer == pointer);
    CHECK(problems[0].message == message);
  };
  check_one("\"x\"", "", "expected a schema (an object, or true/false), got \"x\"");
  check_one(R"({"type": []})", "/type", "expected a type name or a non-empty list of them");
  check_one(R"({"type": ["string", "string"]})", "/type/1", "type 'string' is listed twice");
  check_one(R"({"required": "id"})", "/required", "expected a list of property names");
  check_one(R"({"required": ["id", 3]})", "/required/1", "expected a property name, got 3");
  check_one(R"({"enum": []})", "/enum", "expected a non-empty list of values");
  check_one(R"({"multipleOf": 0})", "/multipleOf", "expected a number greater than 0, got 0");
  check_one(R"({"minLength": 1.5})", "/minLength", "expected a non-negative integer, got 1.5");
  check_one(R"({"uniqueItems": 1})", "/uniqueItems", "expected true or false, got 1");
  check_one(R"({"anyOf": {}})", "/anyOf", "expected a non-empty list of schemas");
  check_one(R"({"oneOf": [{}, 3]})", "/oneOf/1",
            "expected a schema (an object, or true/false), got 3");
  check_one(R"({"not": {"maximum": null}})", "/not/maximum", "expected a number, got null");
  check_one(R"({"additionalProperties": {"typo": 1}})", "/additionalProperties/typo",
            "unknown schema keyword 'typo' (did you mean 'type'?)");
  check_one(R"({"items": [{}, {}]})", "/items",
            "expected a schema applied to every element; the list (tuple) form of items is not "
            "supported");
  check_one(R"({"exclusiveMinimum": true})", "/exclusiveMinimum",
            "expected a number: the draft-4 boolean form is not supported; write "
            "\"exclusiveMinimum\": <bound> instead of minimum plus true");
  check_one(R"({"properties": {"a/b": {"minItems": "2"}}})", "/properties/a~1b/minItems",
            "expected a non-negative integer, got \"2\"");
}

TEST_CASE("canonical_json identifies equal JSON values", "[ops][schema]") {
  CHECK(canonical_json(json::parse("2.0")) == "2");
  CHECK(canonical_json(json::parse("2")) == "2");
  CHECK(canonical_json(json::parse("-0.0")) == "0");
  CHECK(canonical_json(json::parse("2.5")) == "2.5");
  CHECK(canonical_json(json::parse(R"({"b": [1.0, "x"], "a": null})")) == R"({"a":null,"b":[1,"x"]})");
  CHECK(canonical_json(json::parse("\"2\"")) == "\"2\"");
}

TEST_CASE("compare_numbers orders mixed integer kinds exactly", "[ops][schema]") {
  CHECK(compare_numbers(json(-1), json(uint64_t{18446744073709551615ULL})) < 0);
  CHECK(compare_numbers(json(uint64_t{5}), json(int64_t{5})) == 0);
  CHECK(compare_numbers(json(2.5), json(2)) > 0);
  CHECK(compare_numbers(json(int64_t{9007199254740993}), json(int64_t{9007199254740992})) > 0);
}
