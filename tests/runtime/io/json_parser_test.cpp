#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "io/json_parser.hpp"

using namespace sluice;
using json = nlohmann::json;

namespace {

// Same value and the same type at every node (nlohmann's == calls 1 and 1u
// equal; a record's type is visible to validate and to expressions).
bool same(const json& a, const json& b) {
  if (a.type() != b.type())
    return false;
  if (a.is_object()) {
    if (a.size() != b.size())
      return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
      if (ia.key() != ib.key() || !same(*ia, *ib))
        return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size())
      return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i]))
        return false;
    return true;
  }
  return a == b && a.dump() == b.dump();
}

bool has_integer_zero(const json& j) {
  if (j.is_structured()) {
    for (auto& v : j)
      if (has_integer_zero(v))
        return true;
    return false;
  }
  return (j.is_number_unsigned() || j.is_number_integer()) && j == 0;
}

// What nlohmann::json::parse says about `text`: its value's dump, or the
// exception's message.
std::string nlohmann_says(const std::string& text) {
  try {
    return "value " + json::parse(text).dump();
  } catch (const std::exception& e) {
    return std::string{"error "} + e.what();
  }
}

std::string we_say(json_parser& p, const std::string& text) {
  try {
    return "value " + p.parse(text).dump();
  } catch (const std::exception& e) {
    return std::string{"error "} + e.what();
  }
}

// A deterministic random JSON text: objects, arrays, strings with escapes and
// non-ASCII letters, integers of both signs and sizes, floats, literals.
struct text_maker {
  uint64_t state;
  uint64_t next() {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::string string() {
    static const char* pieces[] = {"a", "Zz", " ", "\\\"", "\\\\", "\\n", "\\t", "\\u00e9",
                                   "\\ud83d\\ude00", "é", "日本", "\\/", "key", "0"};
    std::string s = "\"";
    for (uint64_t n = next() % 6; n > 0; --n)
      s += pieces[next() % (sizeof pieces / sizeof *pieces)];
    return s + "\"";
  }
  std::string value(int depth) {
    switch (next() % (depth > 3 ? 6 : 8)) {
      case 0: return string();
      case 1: return std::to_string(static_cast<int64_t>(next() % 2000000) - 1000000);
      case 2: return std::to_string(next()); // up to 2^64-1: unsigned beyond int64
      case 3: return std::to_string(next() % 100000) + "." + std::to_string(next() % 1000);
      case 4: return std::to_string(next() % 1000) + "e" + std::to_string(static_cast<int>(next() % 40) - 20);
      case 5: {
        static const char* atoms[] = {"true", "false", "null", "-0.0", "0", "-1", "-0"};
        return atoms[next() % 7];
      }
      case 6: {
        std::string s = "[";
        for (uint64_t n = next() % 4; n > 0; --n)
          s += value(depth + 1) + (n > 1 ? "," : "");
        return s + "]";
      }
      default: return object(depth + 1);
    }
  }
  std::string object(int depth) {
    std::string s = "{";
    for (uint64_t n = next() % 6; n > 0; --n)
      s += string() + (next() % 4 == 0 ? " : " : ":") + value(depth) + (n > 1 ? "," : "");
    return s + "}";
  }
};

} // namespace

TEST_CASE("json_parser reads what nlohmann reads, to the same values and types", "[io][json]") {
  json_parser p;
  const char* texts[] = {
    R"({})",
    R"([])",
    R"({"id":"r1","amount":117.59,"n":42,"neg":-7,"ok":true,"no":false,"nothing":null})",
    R"({"tags":["eu","us"],"nested":{"a":{"b":[1,[2,[3]]]}},"empty":{},"none":[]})",
    R"({"big":18446744073709551615,"edge":9223372036854775808,"min":-9223372036854775808})",
    R"({"f":1e2,"g":-2.5E-3,"h":0.1,"i":5e-324,"j":1.7976931348623157e308,"k":-0.0})",
    R"({"esc":"a\"b\\c\/d\b\f\n\r\t","u":"\u00e9\u65e5","pair":"\ud83d\ude00","nul":"\u0000"})",
    "{\"raw\":\"é 日本 😀\"}",
    R"({"a":1,"a":2,"b":{"x":1,"x":[3]}})",
    " \t{\"spaced\" :\t[ 1 , 2 ] }\r\n",
    R"("just a string")",
    R"(12)",
    R"(-3)",
    R"(true)",
    R"(null)",
  };
  for (std::string text : texts) {
    INFO(text);
    auto ours = p.parse(text);
    CHECK(same(ours, json::parse(text)));
  }
  CHECK(p.fallbacks() == 0);
}

TEST_CASE("json_parser agrees with nlohmann on thousands of generated documents", "[io][json]") {
  json_parser p;
  text_maker make{20261206};
  // Valid text takes the fast path, except where "-0" may be a signed
  // integer zero: at least every text whose value holds an integer zero and
  // "-0" somewhere, at most every text with "-0" in it (a zero a repeated
  // key replaced counts too: simdjson saw it).
  size_t must = 0, may = 0;
  for (int i = 0; i < 3000; ++i) {
    auto text = make.object(0);
    INFO(text);
    auto theirs = json::parse(text);
    REQUIRE(same(p.parse(text), theirs));
    bool minus_zero = text.find("-0") != std::string::npos;
    may += minus_zero ? 1 : 0;
    must += minus_zero && has_integer_zero(theirs) ? 1 : 0;
  }
  CHECK(must > 0);
  CHECK(p.fallbacks() >= must);
  CHECK(p.fallbacks() <= may);
  CHECK(may < 3000);
}

TEST_CASE("json_parser hands what simdjson cannot hold to nlohmann, same answer", "[io][json]") {
  json_parser p;
  const std::string texts[] = {
    "\xEF\xBB\xBF{\"bom\":1}",                 // a UTF-8 byte order mark: nlohmann skips it
    R"({"huge":18446744073709551616})",          // past uint64: nlohmann makes it a float
    R"({"low":-9223372036854775809})",           // past int64: a float too
    R"({"z":-0})",                               // nlohmann's signed zero
    R"([0,-0,"-0"])",
  };
  for (auto& text : texts) {
    INFO(text);
    CHECK(same(p.parse(text), json::parse(text)));
  }
  CHECK(p.fallbacks() == 5);
  CHECK(p.parse(R"({"z":-0})")["z"].is_number_integer());
  CHECK_FALSE(p.parse(R"({"z":-0})")["z"].is_number_unsigned());
  // A zero and "-0" elsewhere (a string, a float) stay on the fast path
  // only when no integer zero is in the text; these take nlohmann's, same answer.
  CHECK(same(p.parse(R"({"a":0,"s":"x-0"})"), json::parse(R"({"a":0,"s":"x-0"})")));
  CHECK(same(p.parse(R"({"a":0,"f":-0.5})"), json::parse(R"({"a":0,"f":-0.5})")));
  auto before = p.fallbacks();
  CHECK(same(p.parse(R"({"a":0,"b":-1})"), json::parse(R"({"a":0,"b":-1})")));
  CHECK(p.fallbacks() == before); // no "-0" in it: fast
  before = p.fallbacks();
  // Nesting past simdjson's limit of 1024 still parses.
  std::string deep = std::string(2000, '[') + std::string(2000, ']');
  CHECK(same(p.parse(deep), json::parse(deep)));
  CHECK(p.fallbacks() == before + 1);
}

TEST_CASE("json_parser rejects what nlohmann rejects, with nlohmann's message", "[io][json]") {
  json_parser p;
  const std::string texts[] = {
    "",
    "   ",
    R"({"a":1)",
    R"({"a":1,})",
    R"({"a":[1,]})",
    R"({"a" 1})",
    R"({a:1})",
    R"({"a":01})",
    R"({"a":1.})",
    R"({"a":-})",
    R"({"a":tru})",
    R"({"a":NaN})",
    R"({"a":1e400})",                            // out_of_range, not parse_error
    R"({"a":"\x"})",
    R"({"a":"\ud800"})",
    R"({"a":"\ud800\u0041"})",
    R"({"a":"\udc00"})",
    "{\"a\":\"x\x01y\"}",                        // a raw control character
    "{\"a\":\"\xff\"}",                          // not UTF-8
    "{\"a\":\"\xc3\"}",                          // a cut UTF-8 sequence
    R"({} x)",
    R"({}{})",
    R"({"a":'x'})",
  };
  for (auto& text : texts) {
    INFO(text);
    auto expected = nlohmann_says(text);
    REQUIRE(expected.rfind("error ", 0) == 0);
    CHECK(we_say(p, text) == expected);
  }
  // The exception types are nlohmann's too, so callers catch what they did.
  CHECK_THROWS_AS(p.parse(R"({"a":)"), json::parse_error);
  CHECK_THROWS_AS(p.parse(R"({"a":1e400})"), json::out_of_range);
}

TEST_CASE("json_parser is reusable across texts of any length", "[io][json]") {
  json_parser p;
  std::string long_text = "{\"s\":\"" + std::string(1 << 20, 'x') + "\"}";
  CHECK(p.parse(R"({"a":1})") == json{{"a", 1}});
  CHECK(p.parse(long_text)["s"].get_ref<const std::string&>().size() == (1u << 20));
  CHECK(p.parse(R"({"b":2})") == json{{"b", 2}});
  CHECK_THROWS(p.parse(R"({"c":)"));
  CHECK(p.parse(R"({"c":3})") == json{{"c", 3}}); // an error leaves it usable
  json_parser moved = std::move(p);
  CHECK(moved.parse(R"({"d":[4]})") == json{{"d", {4}}});
}
