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

namespace {

dead_letter why(std::string stage, errc code, std::string message, int64_t at_us = 0) {
  dead_letter d;
  d.stage = std::move(stage);
  d.error_class = to_string(code);
  d.message = std::move(message);
  d.first_failure_us = d.last_failure_us = at_us;
  return d;
}

dead_letter_origin from(std::string file, uint64_t line) {
  return dead_letter_origin{file + ":" + std::to_string(line), "read", file, line};
}

} // namespace

TEST_CASE("a dead letter is one JSON line with the reason and the record", "[io][dlq]") {
  test::temp_dir dir;
  dlq_writer w;
  REQUIRE(w.open(dir / "out/dead.jsonl"));
  lineage_trail trail;
  trail.origin.line = 12;
  record parsed{"orders:12", json{{"total", -1}}, trail};
  auto retried = why("check", errc::schema_violation, "total must be >= 0", 1714564800123456);
  retried.attempts = 3;
  retried.first_failure_us = 1714564799000000;
  REQUIRE(w.write(parsed, retried, from("data/orders.csv", 12),
                  json::array({json{{"stage", "read"}, {"at", "2024-05-01T12:00:00.120Z"}}})));
  record raw{"orders:13", json("{not json"), trail};
  raw.meta() = json{{"dlq", {{"stage", "read"}}}, {"replayed_from", {{"line", 2}}}};
  REQUIRE(w.write(raw, why("read", errc::parse_error, "orders.jsonl:13: parse error"),
                  from("orders.jsonl", 13), json::array()));
  CHECK(w.count() == 2);
  // Buffered until flush.
  CHECK(dir.read("out/dead.jsonl").empty());
  REQUIRE(w.flush());
  auto text = dir.read("out/dead.jsonl");
  CHECK(text
        == "{\"time\":\"2024-05-01T12:00:00.123Z\",\"stage\":\"check\",\"error\":{\"class\":"
           "\"schema_violation\",\"message\":\"total must be >= 0\"},\"attempts\":3,"
           "\"first_failure\":\"2024-05-01T11:59:59.000Z\",\"last_failure\":"
           "\"2024-05-01T12:00:00.123Z\",\"record\":{\"id\":"
           "\"orders:12\",\"content\":{\"total\":-1},\"origin\":\"data/orders.csv:12\","
           "\"position\":{\"source\":\"read\",\"file\":\"data/orders.csv\",\"line\":12},"
           "\"lineage\":[{\"at\":\"2024-05-01T12:00:00.120Z\",\"stage\":\"read\"}]}}\n"
           "{\"time\":\"1970-01-01T00:00:00.000Z\",\"stage\":\"read\",\"error\":{\"class\":"
           "\"parse_error\",\"message\":\"orders.jsonl:13: parse error\"},\"attempts\":1,"
           "\"first_failure\":\"1970-01-01T00:00:00.000Z\",\"last_failure\":"
           "\"1970-01-01T00:00:00.000Z\",\"record\":{\"id\":"
           "\"orders:13\",\"content\":\"{not json\",\"origin\":\"orders.jsonl:13\","
           "\"position\":{\"source\":\"read\",\"file\":\"orders.jsonl\",\"line\":13},"
           "\"lineage\":[],\"meta\":{\"replayed_from\":{\"line\":2}}}}\n");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto j = json::parse(line);
    CHECK(j["record"]["id"].is_string());
  }
}

TEST_CASE("the actor's meta becomes a dead_letter, older keys included", "[io][dlq]") {
  auto d = dead_letter::from_meta({{"stage", "check"}, {"class", "transient"}, {"message", "m"},
                                   {"attempts", 4}, {"first_failure_us", 10},
                                   {"last_failure_us", 20}});
  CHECK(d.stage == "check");
  CHECK(d.error_class == "transient");
  CHECK(d.attempts == 4);
  CHECK(d.first_failure_us == 10);
  CHECK(d.last_failure_us == 20);
  auto old = dead_letter::from_meta({{"stage", "s"}, {"class", "parse_error"}, {"time_us", 7}});
  CHECK(old.attempts == 1);
  CHECK(old.first_failure_us == 7);
  CHECK(old.last_failure_us == 7);
  CHECK(dead_letter::from_meta(nullptr).attempts == 1);
}

TEST_CASE("raw lines with invalid UTF-8 still make valid dead letters", "[io][dlq]") {
  test::temp_dir dir;
  dlq_writer w;
  REQUIRE(w.open(dir / "dead.jsonl"));
  record raw{"s:1", json(std::string("bad \xff byte")), {}};
  REQUIRE(w.write(raw, why("read", errc::parse_error, "x"), from("in", 1), json::array()));
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
    REQUIRE(w.write(r, why("x", errc::runtime_error, "m"), from("in", 1), json::array()));
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
  REQUIRE(w.write(r, why("x", errc::runtime_error, "m"), from("in", 1), json::array()));
  auto unopened = w.flush();
  REQUIRE_FALSE(unopened);
  CHECK(unopened.err().message == "the dead-letter file is not open");
}
