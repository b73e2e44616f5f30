#include <catch2/catch.hpp>

#include "config/params.hpp"
#include "ops/decode.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using test::recording_emitter;

namespace {

record raw_line(std::string text, uint64_t line, uint32_t file = 0) {
  lineage_trail t;
  t.origin.source = 1;
  t.origin.file = file;
  t.origin.line = line;
  return record{"", json(std::move(text)), t};
}

field_path name(const char* n) {
  return field_path{{std::string{n}}};
}

} // namespace

TEST_CASE("decode parses JSON lines and takes the id from id_field", "[ops][decode]") {
  decode_op op{"orders", {"data/orders.jsonl"}, name("id")};
  recording_emitter out;
  op.process(raw_line(R"({"id":"A-1","n":1})", 1), out);
  op.process(raw_line(R"({"id":42,"n":2})", 2), out);
  op.process(raw_line(R"({"n":3})", 3), out);
  op.process(raw_line(R"({"id":1.5,"n":4})", 4), out);
  op.process(raw_line(R"({"id":"","n":5})", 5), out);
  REQUIRE(out.failed.empty());
  REQUIRE(out.emitted.size() == 5);
  CHECK(out.contents()[0] == json{{"id", "A-1"}, {"n", 1}});
  CHECK(out.emitted[0].rec.id() == "A-1");
  CHECK(out.emitted[1].rec.id() == "42");
  CHECK(out.emitted[2].rec.id() == "orders:3");
  CHECK(out.emitted[3].rec.id() == "orders:4");
  CHECK(out.emitted[4].rec.id() == "orders:5");
  CHECK(out.emitted[0].port == 0);
  CHECK(out.emitted[0].rec.meta().is_null());
}

TEST_CASE("decode names ids by file when a source has several files", "[ops][decode]") {
  decode_op op{"in", {"data/a.jsonl", "data/b.jsonl"}, name("id")};
  recording_emitter out;
  op.process(raw_line(R"({"x":1})", 7, 1), out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].rec.id() == "in:b.jsonl:7");
}

TEST_CASE("decode with id_field disabled always names records by origin", "[ops][decode]") {
  decode_op op{"in", {"a.jsonl"}, std::nullopt};
  recording_emitter out;
  op.process(raw_line(R"({"id":"mine"})", 2), out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].rec.id() == "in:2");
}

TEST_CASE("decode takes the id from a nested id_field", "[ops][decode]") {
  auto path = field_path::parse(".event.id");
  REQUIRE(path);
  decode_op op{"in", {"a.jsonl"}, *path};
  recording_emitter out;
  op.process(raw_line(R"({"event":{"id":9}})", 1), out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].rec.id() == "9");
}

TEST_CASE("a line that is not JSON fails with file, line, byte and the parser's reason",
          "[ops][decode]") {
  decode_op op{"orders", {"orders.jsonl"}, name("id")};
  recording_emitter out;
  op.process(raw_line(R"({"a": tru})", 17), out);
  REQUIRE(out.failed.size() == 1);
  auto& f = out.failed[0];
  CHECK(f.err.code == errc::parse_error);
  CHECK(f.err.message
        == "orders.jsonl:17: parse error at byte 10: syntax error while parsing value -"
           " invalid literal; last read: '\"a\": tru}'");
  // The content stays the raw line, for the dead-letter file, and the origin
  // names the record.
  CHECK(f.rec.content() == json(R"({"a": tru})"));
  CHECK(f.rec.id() == "orders:17");
}

TEST_CASE("a line of valid JSON that is not an object fails", "[ops][decode]") {
  decode_op op{"s", {"in.jsonl"}, name("id")};
  recording_emitter out;
  op.process(raw_line("[1,2]", 3), out);
  op.process(raw_line("\"text\"", 4), out);
  op.process(raw_line("12", 5), out);
  op.process(raw_line("null", 6), out);
  REQUIRE(out.failed.size() == 4);
  CHECK(out.failed[0].err.message == "in.jsonl:3: line is a JSON array, expected an object");
  CHECK(out.failed[1].err.message == "in.jsonl:4: line is a JSON string, expected an object");
  CHECK(out.failed[2].err.message == "in.jsonl:5: line is a JSON number, expected an object");
  CHECK(out.failed[3].err.message == "in.jsonl:6: line is a JSON null, expected an object");
  CHECK(out.emitted.empty());
}

TEST_CASE("a reader's error fails the record with file and line", "[ops][decode]") {
  decode_op op{"s", {"data/in.csv"}, name("id")};
  recording_emitter out;
  auto rec = raw_line("4,5", 7);
  rec.meta() = json{{"error", "2 fields, but the header has 5"}};
  op.process(std::move(rec), out);
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].err.code == errc::parse_error);
  CHECK(out.failed[0].err.message == "data/in.csv:7: 2 fields, but the header has 5");
  CHECK(out.failed[0].rec.id() == "s:7");
  CHECK(out.failed[0].rec.meta().is_null());
  CHECK(out.failed[0].rec.content() == json("4,5"));
}

TEST_CASE("decode passes finished objects (CSV rows) through", "[ops][decode]") {
  decode_op op{"s", {"in.csv"}, name("id")};
  recording_emitter out;
  lineage_trail t;
  t.origin.line = 2;
  op.process(record{"", json{{"id", 5}, {"v", "x"}}, t}, out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].rec.id() == "5");
  CHECK(out.contents()[0] == json{{"id", 5}, {"v", "x"}});
}

TEST_CASE("id_field reads as absent, null, empty or a path", "[ops][decode]") {
  auto read = [](json params, std::optional<field_path>& out) {
    diagnostics d;
    params_reader p{params, "/stages/0/params", "source.file", d};
    bool ok = read_id_field(p, out);
    CHECK(ok == !d.has_errors());
    return ok;
  };
  std::optional<field_path> f;
  REQUIRE(read(json::object(), f));
  REQUIRE(f);
  CHECK(f->str() == field_path{{std::string{"id"}}}.str());
  REQUIRE(read(json{{"id_field", nullptr}}, f));
  CHECK_FALSE(f);
  REQUIRE(read(json{{"id_field", ""}}, f));
  CHECK_FALSE(f);
  REQUIRE(read(json{{"id_field", "order_id"}}, f));
  REQUIRE(f);
  CHECK(*f == field_path{{std::string{"order_id"}}});
  CHECK_FALSE(read(json{{"id_field", 5}}, f));
}
