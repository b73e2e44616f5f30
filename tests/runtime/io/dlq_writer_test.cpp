#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "io/dlq_writer.hpp"
#include "runtime/io/temp_dir.hpp"

using namespace sluice;

TEST_CASE("timestamps are ISO-8601 UTC with milliseconds", "[io][dlq]") {
  CHECK(iso8601_utc_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso8601_utc_ms(1714564800123456) == "2024-05-01T12:00:00.123Z");
  CHECK(iso8601_utc_ms(-1000) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("a dead letter is one JSON line with the reason and the record", "[io][dlq]") {
  test::temp_dir dir;
  dlq_writer w;
  REQUIRE(w.open(dir / "out/dead.jsonl"));
  lineage_trail trail;
  trail.origin.line = 12;
  record parsed{"orders:12", json{{"total", -1}}, trail};
  REQUIRE(w.write(parsed, "check", error{errc::schema_violation, "total must be >= 0"},
                  1714564800123456, "data/orders.csv:12",
                  json::array({json{{"stage", "read"}, {"at", "2024-05-01T12:00:00.120Z"}}})));
  record raw{"orders:13", json("{not json"), trail};
  REQUIRE(w.write(raw, "read", error{errc::parse_error, "orders.jsonl:13: parse error"}, 0,
                  "orders.jsonl:13", json::array()));
  CHECK(w.count() == 2);
  // Buffered until flush.
  CHECK(dir.read("out/dead.jsonl").empty());
  REQUIRE(w.flush());
  auto text = dir.read("out/dead.jsonl");
  CHECK(text
        == "{\"time\":\"2024-05-01T12:00:00.123Z\",\"stage\":\"check\",\"error\":{\"class\":"
           "\"schema_violation\",\"message\":\"total must be >= 0\"},\"record\":{\"id\":"
           "\"orders:12\",\"content\":{\"total\":-1},\"origin\":\"data/orders.csv:12\","
           "\"lineage\":[{\"at\":\"2024-05-01T12:00:00.120Z\",\"stage\":\"read\"}]}}\n"
           "{\"time\":\"1970-01-01T00:00:00.000Z\",\"stage\":\"read\",\"error\":{\"class\":"
           "\"parse_error\",\"message\":\"orders.jsonl:13: parse error\"},\"record\":{\"id\":"
           "\"orders:13\",\"content\":\"{not json\",\"origin\":\"orders.jsonl:13\","
           "\"lineage\":[]}}\n");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto j = json::parse(line);
    CHECK(j["record"]["id"].is_string());
  }
}

TEST_CASE("raw lines with invalid UTF-8 still make valid dead letters", "[io][dlq]") {
  test::temp_dir dir;
  dlq_writer w;
  REQUIRE(w.open(dir / "dead.jsonl"));
  record raw{"s:1", json(std::string("bad \xff byte")), {}};
  REQUIRE(w.write(raw, "read", error{errc::parse_error, "x"}, 0, "in:1", json::array()));
  REQUIRE(w.flush());
  auto j = json::parse(dir.read("dead.jsonl"));
  CHECK(j["record"]["content"] == "bad \xEF\xBF\xBD byte");
}

TEST_CASE("opening the dead-letter file truncates it: one file per run", "[io][dlq]") {
  test::temp_dir dir;
  dir.write("dead.jsonl", "from an earlier run\n");
  {
    dlq_writer w;
    REQUIRE(w.open(dir / "dead.jsonl"));
    CHECK(dir.read("dead.jsonl").empty());
    record r{"s:1", json::object(), {}};
    REQUIRE(w.write(r, "x", error{errc::runtime_error, "m"}, 0, "in:1", json::array()));
  }
  // The destructor flushes what was buffered.
  CHECK(json::parse(dir.read("dead.jsonl"))["stage"] == "x");
}

TEST_CASE("a dead-letter file that cannot be created is an io_error", "[io][dlq]") {
  test::temp_dir dir;
  dir.write("blocker", "x");
  dlq_writer w;
  auto st = w.open(dir / "blocker/dead.jsonl");
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::io_error);
  record r{"s:1", json::object(), {}};
  REQUIRE(w.write(r, "x", error{errc::runtime_error, "m"}, 0, "in:1", json::array()));
  auto unopened = w.flush();
  REQUIRE_FALSE(unopened);
  CHECK(unopened.err().message == "the dead-letter file is not open");
}
