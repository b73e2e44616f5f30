// source.generate's reader: deterministic synthetic order lines, bounded by a
// count, throttled by a rate.

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "io/generator_reader.hpp"
#include "ops/registry.hpp"

using namespace sluice;

namespace {

using state = source_reader::state;

// Reads once; the call must succeed.
state read_once(generator_reader& r, std::vector<record>& out, size_t max) {
  auto st = r.read(out, max, 0);
  REQUIRE(st.has_value());
  return *st;
}

} // namespace

TEST_CASE("the same seed and number give the same line and others differ", "[io][generator]") {
  CHECK(generator_reader::line(1, 0) == generator_reader::line(1, 0));
  CHECK(generator_reader::line(42, 1234) == generator_reader::line(42, 1234));
  CHECK(generator_reader::line(1, 0)
        == R"({"id":"g0","ts":1700000000000,"user":"user_212","amount":86.49,"category":"books","tags":["new"],"note":"no special instructions were given for this order at checkout by the customer"})");
  std::set<std::string> distinct;
  for (uint64_t n = 0; n < 100; ++n) {
    INFO(n);
    CHECK(generator_reader::line(1, n) != generator_reader::line(2, n));
    distinct.insert(generator_reader::line(7, n));
  }
  CHECK(distinct.size() == 100);
}

TEST_CASE("every generated line is an order object with the documented fields",
          "[io][generator]") {
  static const std::set<std::string> categories{"food", "toys", "books", "garden", "tools", "music"};
  static const std::set<std::string> tags{"new", "gift", "sale", "bulk", "promo", "repeat"};
  static const std::regex user_re{"user_[0-9]{3}"};
  size_t whole = 0;
  std::set<std::string> seen_categories;
  for (uint64_t n = 0; n < 1000; ++n) {
    auto text = generator_reader::line(3, n);
    INFO(text);
    auto doc = json::parse(text, nullptr, false);
    REQUIRE_FALSE(doc.is_discarded());
    REQUIRE(doc.is_object());
    CHECK(doc.size() == 7);
    CHECK(doc["id"] == "g" + std::to_string(n));
    CHECK(doc["ts"] == 1700000000000ULL + 10 * n);
    REQUIRE(doc["user"].is_string());
    CHECK(std::regex_match(doc["user"].get<std::string>(), user_re));
    REQUIRE(doc["amount"].is_number());
    CHECK(doc["amount"].get<double>() >= 0.0);
    CHECK(doc["amount"].get<double>() < 200.0);
    whole += doc["amount"].is_number_integer() ? 1 : 0;
    REQUIRE(doc["category"].is_string());
    CHECK(categories.count(doc["category"].get<std::string>()) == 1);
    seen_categories.insert(doc["category"].get<std::string>());
    REQUIRE(doc["tags"].is_array());
    CHECK(doc["tags"].size() <= 2);
    for (auto& t : doc["tags"])
      CHECK(tags.count(t.get<std::string>()) == 1);
    CHECK(doc["note"].is_string());
    std::vector<std::string> keys;
    auto ordered = nlohmann::ordered_json::parse(text);
    for (auto& [k, v] : ordered.items()) {
      (void) v;
      keys.push_back(k);
    }
    CHECK(keys == std::vector<std::string>{"id", "ts", "user", "amount", "category", "tags", "note"});
  }
  CHECK(seen_categories == categories);
  // About one amount in ten is a whole number (deterministic for seed 3).
  CHECK(whole > 50);
  CHECK(whole < 150);
}

TEST_CASE("generated lines are about 150 to 220 bytes", "[io][generator]") {
  size_t shortest = SIZE_MAX, longest = 0;
  for (uint64_t n = 0; n < 5000; ++n) {
    auto size = generator_reader::line(1, n).size();
    shortest = std::min(shortest, size);
    longest = std::max(longest, size);
  }
  INFO("shortest " << shortest << ", longest " << longest);
  CHECK(shortest >= 150);
  CHECK(longest <= 220);
}

TEST_CASE("a counted generator delivers exactly count records, then end", "[io][generator]") {
  generator_reader r{3, 10, std::nullopt, 9};
  REQUIRE(r.open());
  CHECK(r.bounded());
  CHECK(r.file_count() == 1);
  CHECK(r.file_name(0) == "generate");
  CHECK(r.bytes_total() == 0);
  std::vector<record> out;
  CHECK(read_once(r, out, 4) == state::more);
  CHECK(out.size() == 4);
  CHECK(read_once(r, out, 4) == state::more);
  CHECK(out.size() == 8);
  CHECK(read_once(r, out, 4) == state::end); // only 2 were left
  REQUIRE(out.size() == 10);
  CHECK(read_once(r, out, 4) == state::end);
  CHECK(out.size() == 10);

  uint64_t bytes = 0;
  for (uint64_t i = 0; i < out.size(); ++i) {
    INFO(i);
    auto& rec = out[i];
    // The reader hands out the raw line, as a file reader does; decode parses it.
    REQUIRE(rec.content().is_string());
    CHECK(rec.content().get<std::string>() == generator_reader::line(9, i));
    CHECK(rec.id().empty());
    CHECK(rec.trail().origin.source == 3);
    CHECK(rec.trail().origin.file == 0);
    CHECK(rec.trail().origin.line == i + 1);
    CHECK(rec.trail().hops.empty());
    bytes += generator_reader::line(9, i).size() + 1;
  }
  CHECK(r.bytes_read() == bytes);
}

TEST_CASE("a generator with count 0 ends at once", "[io][generator]") {
  generator_reader r{0, 0, std::nullopt, 1};
  REQUIRE(r.open());
  std::vector<record> out;
  CHECK(read_once(r, out, 100) == state::end);
  CHECK(out.empty());
  CHECK(r.bytes_read() == 0);
}

TEST_CASE("a generator without count is unbounded and never ends by itself", "[io][generator]") {
  generator_reader r{0, std::nullopt, std::nullopt, 1};
  REQUIRE(r.open());
  CHECK_FALSE(r.bounded());
  std::vector<record> out;
  for (int i = 0; i < 5; ++i)
    CHECK(read_once(r, out, 1000) == state::more);
  CHECK(out.size() == 5000);
  CHECK(out.back().trail().origin.line == 5000);
  CHECK(out.back().content() == generator_reader::line(1, 4999));
}

TEST_CASE("without a rate the reader never says wait", "[io][generator]") {
  generator_reader r{0, 1'000'000, std::nullopt, 1};
  REQUIRE(r.open());
  std::vector<record> out;
  CHECK(read_once(r, out, 50'000) == state::more);
  CHECK(out.size() == 50'000);
}

TEST_CASE("with a rate the reader hands out what the rate allows and says wait",
          "[io][generator]") {
  // A rate far above what a test can consume: the budget is never the limit,
  // `max` is, and the reader still asks to be called again later.
  generator_reader fast{0, 1'000'000, 1e12, 1};
  REQUIRE(fast.open());
  std::vector<record> out;
  CHECK(read_once(fast, out, 500) == state::wait);
  CHECK(out.size() <= 500);
  CHECK_FALSE(out.empty());
}

TEST_CASE("a slow rate allows one record at the start and then none", "[io][generator]") {
  // One record per million seconds: the first is due at once, the next never
  // within a test. max_wait_us 0 keeps the reader from blocking.
  generator_reader r{0, std::nullopt, 1e-6, 5};
  REQUIRE(r.open());
  std::vector<record> out;
  CHECK(read_once(r, out, 100) == state::wait);
  REQUIRE(out.size() == 1);
  CHECK(out[0].content() == generator_reader::line(5, 0));
  CHECK(read_once(r, out, 100) == state::wait);
  CHECK(read_once(r, out, 100) == state::wait);
  CHECK(out.size() == 1);
}

TEST_CASE("a rate-limited counted generator still ends after count", "[io][generator]") {
  generator_reader r{0, 1, 1e-6, 5};
  REQUIRE(r.open());
  std::vector<record> out;
  CHECK(read_once(r, out, 100) == state::end);
  CHECK(out.size() == 1);
}

// -- through the stage kind -------------------------------------------------------------

namespace {

reader_ptr make_reader(const std::string& params_text, diagnostics& diags) {
  stage_spec spec;
  spec.id = "gen";
  spec.type = "source.generate";
  spec.index = 2;
  spec.json_path = "/stages/2";
  spec.params = json::parse(params_text);
  spec.params_ordered = nlohmann::ordered_json::parse(params_text);
  auto kind = stage_registry::instance().find("source.generate");
  REQUIRE(kind != nullptr);
  REQUIRE(static_cast<bool>(kind->make_reader));
  params_reader p{spec.params, "/stages/2/params", spec.type, diags, &spec.params_ordered};
  return kind->make_reader(spec, p);
}

} // namespace

TEST_CASE("source.generate builds a reader from count and seed", "[io][generator]") {
  diagnostics diags;
  auto r = make_reader(R"({"count": 3, "seed": 7})", diags);
  INFO(diags.render());
  REQUIRE(r != nullptr);
  CHECK(diags.all().empty());
  CHECK(r->bounded());
  REQUIRE(r->open());
  std::vector<record> out;
  auto st = r->read(out, 10, 0);
  REQUIRE(st.has_value());
  CHECK(*st == state::end);
  REQUIRE(out.size() == 3);
  CHECK(out[2].content() == generator_reader::line(7, 2));
  CHECK(out[2].trail().origin.source == 2);

  diagnostics endless;
  auto e = make_reader("{}", endless);
  REQUIRE(e != nullptr);
  CHECK_FALSE(e->bounded());
}

TEST_CASE("source.generate refuses bad count, rate and seed", "[io][generator]") {
  diagnostics diags;
  CHECK(make_reader(R"({"count": -1, "rate": 0, "seed": "x", "burst": 1})", diags) == nullptr);
  CHECK(diags.render()
        == "/stages/2/params/count: expected an integer from 0 to 9223372036854775807, got -1\n"
           "/stages/2/params/rate: expected a rate above 0 records per second\n"
           "/stages/2/params/seed: expected an integer, got string\n"
           "/stages/2/params/burst: unknown param 'burst' for stage type 'source.generate' "
           "(hint: known params: count, id_field, rate, seed)\n");
}
