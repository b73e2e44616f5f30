#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "io/dlq_inspect.hpp"
#include "io/dlq_reader.hpp"
#include "ops/source_dlq.hpp"
#include "runtime/io/temp_dir.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;

namespace {

const std::string current_line =
  R"({"time":"2026-11-22T03:26:27.244Z","stage":"check","error":{"class":"schema_violation",)"
  R"("message":"/amount: -5 is less than the minimum 0"},"attempts":2,)"
  R"("first_failure":"2026-11-22T03:26:27.100Z","last_failure":"2026-11-22T03:26:27.244Z",)"
  R"("record":{"id":"1005","content":{"amount":-5},"origin":"data/orders.csv:6",)"
  R"("position":{"source":"read","file":"data/orders.csv","line":6},)"
  R"("lineage":[{"at":"2026-11-22T03:26:27.000Z","stage":"read"}],)"
  R"("meta":{"replayed_from":{"file":"older.jsonl","line":9}}}})";

const std::string old_line =
  R"({"time":"2026-11-22T03:26:27.245Z","stage":"check","error":{"class":"schema_violation",)"
  R"("message":"/amount: expected number, got null"},"record":{"id":"1006",)"
  R"("content":{"amount":null},"origin":"data/orders.csv:7","lineage":[]}})";

const std::string raw_line =
  R"({"time":"2026-11-22T03:26:27.243Z","stage":"read","error":{"class":"parse_error",)"
  R"("message":"data/orders.csv:15: 4 fields, but the header has 5"},"record":{"id":"read:15",)"
  R"("content":"1013,henry,75,books","origin":"data/orders.csv:15","lineage":[]}})";

std::vector<record> read_all(source_reader& r) {
  std::vector<record> out;
  for (int calls = 0; calls < 1000; ++calls) {
    auto st = r.read(out, 2, 0);
    REQUIRE(st);
    if (*st == source_reader::state::end)
      return out;
  }
  FAIL("the reader never ended");
  return out;
}

} // namespace

TEST_CASE("ISO-8601 UTC times read back to microseconds", "[io][dlq]") {
  CHECK(parse_iso8601_utc("2024-05-01T12:00:00.123Z") == int64_t{1714564800123000});
  CHECK(parse_iso8601_utc("1970-01-01T00:00:00Z") == int64_t{0});
  CHECK(parse_iso8601_utc("2024-05-01T12:00:00.123456Z") == int64_t{1714564800123456});
  CHECK(iso8601_utc_ms(*parse_iso8601_utc(iso8601_utc_ms(1714564800123000)))
        == "2024-05-01T12:00:00.123Z");
  CHECK_FALSE(parse_iso8601_utc("2024-05-01 12:00:00Z"));
  CHECK_FALSE(parse_iso8601_utc("2024-05-01T12:00:00.Z"));
  CHECK_FALSE(parse_iso8601_utc("2024-13-01T12:00:00Z"));
  CHECK_FALSE(parse_iso8601_utc("yesterday"));
}

SCENARIO("dead-letter lines of every version read back", "[io][dlq]") {
  GIVEN("a line as the writer writes it now") {
    auto e = parse_dead_letter(current_line);
    REQUIRE(e);
    THEN("every field is there") {
      CHECK(e->why.stage == "check");
      CHECK(e->why.error_class == "schema_violation");
      CHECK(e->why.attempts == 2);
      CHECK(iso8601_utc_ms(e->why.first_failure_us) == "2026-11-22T03:26:27.100Z");
      CHECK(iso8601_utc_ms(e->why.last_failure_us) == "2026-11-22T03:26:27.244Z");
      CHECK(e->id == "1005");
      CHECK(e->content == json{{"amount", -5}});
      CHECK(e->position["line"] == 6);
      CHECK(e->lineage.size() == 1);
      CHECK(e->meta["replayed_from"]["line"] == 9);
    }
  }
  GIVEN("a line from before attempts and failure times") {
    auto e = parse_dead_letter(old_line);
    REQUIRE(e);
    THEN("it is one attempt that failed at `time`") {
      CHECK(e->why.attempts == 1);
      CHECK(e->why.first_failure_us == e->why.last_failure_us);
      CHECK(iso8601_utc_ms(e->why.last_failure_us) == "2026-11-22T03:26:27.245Z");
      CHECK(e->position.is_null());
    }
  }
  GIVEN("lines that are not dead letters") {
    for (auto& [line, why] : std::vector<std::pair<std::string, std::string>>{
           {"{oops", "not JSON"},
           {"[1]", "a JSON array, expected an object"},
           {R"({"error":{"class":"x"},"record":{"content":{}}})", "no 'stage'"},
           {R"({"stage":"s","record":{"content":{}}})", "no 'error'"},
           {R"({"stage":"s","error":{"class":"x"}})", "no 'record'"},
           {R"({"stage":"s","error":{"class":"x"},"attempts":0,"record":{"content":{}}})",
            "'attempts'"},
           {R"({"stage":"s","error":{"class":"x"},"time":"noon","record":{"content":{}}})",
            "'time' is not an ISO-8601 UTC time"}}) {
      auto e = parse_dead_letter(line);
      REQUIRE_FALSE(e);
      CHECK(e.err().code == errc::parse_error);
      CHECK_THAT(e.err().message, Catch::Contains(why));
    }
  }
}

TEST_CASE("a replayed record keeps its id and content and carries where it failed",
          "[io][dlq]") {
  auto e = parse_dead_letter(current_line);
  REQUIRE(e);
  auto rec = replay_record(std::move(*e), "dead.jsonl", 3, 0);
  CHECK(rec.id() == "1005");
  CHECK(rec.content() == json{{"amount", -5}});
  CHECK(rec.trail().origin.source == 0);
  CHECK(rec.trail().origin.line == 3);
  CHECK(rec.trail().hops.empty());
  auto& from = rec.meta()["replayed_from"];
  CHECK(from["file"] == "dead.jsonl");
  CHECK(from["line"] == 3);
  CHECK(from["stage"] == "check");
  CHECK(from["class"] == "schema_violation");
  CHECK(from["attempts"] == 2);
  CHECK(from["origin"] == "data/orders.csv:6");
  CHECK(from["lineage"][0]["stage"] == "read");
  // Replayed before: the earlier replay is kept inside.
  CHECK(from["replayed_from"]["file"] == "older.jsonl");
}

SCENARIO("source.dlq reads a dead-letter file into records", "[io][dlq]") {
  test::temp_dir dir;
  auto path = dir.write("dead.jsonl", current_line + "\n" + old_line + "\n\nnot json\n" + raw_line
                                        + "\n");
  input_file file{path, "dead.jsonl"};
  GIVEN("no filter") {
    dlq_reader r{file, 4, {}};
    REQUIRE(r.open());
    auto recs = read_all(r);
    THEN("every line is a record; bad ones carry their reason") {
      REQUIRE(recs.size() == 4);
      CHECK(recs[0].id() == "1005");
      CHECK(recs[0].trail().origin.source == 4);
      CHECK(recs[0].trail().origin.line == 1);
      CHECK(recs[1].id() == "1006");
      CHECK(recs[1].meta()["replayed_from"]["line"] == 2);
      CHECK(recs[2].trail().origin.line == 4);
      CHECK_THAT(recs[2].meta()["error"].get<std::string>(), Catch::Contains("not JSON"));
      CHECK(recs[2].content() == "not json");
      CHECK_THAT(recs[3].meta()["error"].get<std::string>(),
                 Catch::Contains("raw text that never parsed"));
      CHECK(r.file_name(0) == "dead.jsonl");
      CHECK(r.bounded());
    }
    AND_THEN("the operator fails the bad ones with file:line and passes the rest") {
      dlq_source_op op{"replay", "dead.jsonl"};
      test::recording_emitter out;
      for (auto& rec : recs)
        op.process(std::move(rec), out);
      REQUIRE(out.emitted.size() == 2);
      CHECK(out.emitted[0].rec.id() == "1005");
      REQUIRE(out.failed.size() == 2);
      CHECK(out.failed[0].err.code == errc::parse_error);
      CHECK_THAT(out.failed[0].err.message, Catch::StartsWith("dead.jsonl:4: not a dead letter"));
      CHECK(out.failed[0].rec.id() == "replay:4");
      CHECK(out.failed[1].rec.id() == "read:15");
      CHECK(out.failed[1].rec.content() == "1013,henry,75,books");
      CHECK(out.failed[1].rec.meta()["replayed_from"]["stage"] == "read");
    }
  }
  GIVEN("a filter by stage") {
    dlq_filter f;
    f.stage = "read";
    dlq_reader r{file, 0, f};
    REQUIRE(r.open());
    auto recs = read_all(r);
    THEN("other stages' dead letters are skipped, bad lines still come") {
      REQUIRE(recs.size() == 2);
      CHECK(recs[0].trail().origin.line == 4);
      CHECK(recs[1].trail().origin.line == 5);
      CHECK(r.skipped() == 2);
    }
  }
  GIVEN("a filter by class") {
    dlq_filter f;
    f.error_class = "schema_violation";
    dlq_reader r{file, 0, f};
    REQUIRE(r.open());
    CHECK(read_all(r).size() == 3);
  }
}

TEST_CASE("inspect counts by stage and class, groups messages, lists bad lines",
          "[io][dlq]") {
  std::istringstream in{current_line + "\n" + old_line + "\n\n{bad\n" + raw_line + "\n"};
  dlq_inspect_options opts;
  opts.top_messages = 1;
  auto s = inspect_dead_letters(in, "dead.jsonl", opts);
  CHECK(s["total"] == 3);
  CHECK(s["first_failure"] == "2026-11-22T03:26:27.100Z");
  CHECK(s["last_failure"] == "2026-11-22T03:26:27.245Z");
  CHECK(s["retried"] == 1);
  CHECK(s["max_attempts"] == 2);
  CHECK(s["malformed"]["count"] == 1);
  CHECK(s["malformed"]["lines"][0]["line"] == 4);
  REQUIRE(s["stages"].size() == 2);
  CHECK(s["stages"][0]["stage"] == "check");
  CHECK(s["stages"][0]["count"] == 2);
  CHECK(s["stages"][0]["messages"].size() == 1);
  CHECK(s["stages"][0]["more_messages"]["distinct"] == 1);
  // The "file:line: " of a message is left out for grouping.
  CHECK(s["stages"][1]["messages"][0]["message"] == "4 fields, but the header has 5");
  auto text = render_dead_letter_summary(s);
  CHECK_THAT(text, Catch::StartsWith("dead.jsonl: 3 dead letters, 1 malformed line\n"));
  CHECK_THAT(text, Catch::Contains("... and 1 more message (1 dead letter)"));
  CHECK_THAT(text, Catch::Contains("line 4: not a dead letter: not JSON"));
}

TEST_CASE("inspecting a missing file is an io_error naming it", "[io][dlq]") {
  auto s = inspect_dead_letter_file("/nonexistent/dead.jsonl");
  REQUIRE_FALSE(s);
  CHECK(s.err().code == errc::io_error);
  CHECK_THAT(s.err().message, Catch::Contains("'/nonexistent/dead.jsonl'"));
}
