#include <catch2/catch.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "ops/sinks.hpp"
#include "runtime/io/temp_dir.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using test::make_record;
using test::recording_emitter;

namespace {

stage_spec spec_of(const std::string& type, json params, const std::string& base_dir,
                   bool streaming = false) {
  stage_spec s;
  s.id = "out";
  s.type = type;
  s.index = 4;
  s.json_path = "/stages/4";
  s.params = std::move(params);
  s.base_dir = base_dir;
  s.streaming = streaming;
  return s;
}

op_ptr build(const stage_kind& kind, const stage_spec& spec,
             std::vector<std::string>* diags = nullptr) {
  diagnostics d;
  params_reader p{spec.params, spec.json_path + "/params", kind.name, d};
  auto op = kind.make_op(spec, p);
  if (diags != nullptr)
    for (auto& x : d.all())
      diags->push_back(x.json_path + ": " + x.message);
  INFO(d.render());
  CHECK((op == nullptr) == d.has_errors());
  return op;
}

std::vector<std::string> problems(const stage_kind& kind, json params,
                                  const std::string& base_dir) {
  std::vector<std::string> out;
  build(kind, spec_of(kind.name, std::move(params), base_dir), &out);
  return out;
}

std::vector<json> parse_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    out.push_back(json::parse(line));
  return out;
}

std::string temp_name(const std::string& name) {
  return name + ".tmp-" + std::to_string(::getpid());
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("sink.file writes JSON lines to a temporary file and renames it on commit",
          "[ops][sink]") {
  test::temp_dir dir;
  auto op = build(describe_sink_file(), spec_of("sink.file", {{"path", "out/result.jsonl"}},
                                                dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"a", 1}, {"s", "x"}}, 1), out);
  op->process(make_record({{"a", 2}}, 2), out);
  op->end_batch(out);
  REQUIRE(out.discarded.size() == 2);
  CHECK(out.discarded[0].second == disposition::written);
  CHECK(out.failed.empty());
  CHECK_FALSE(dir.exists("out/result.jsonl"));
  CHECK(dir.read("out/" + temp_name("result.jsonl")) == "{\"a\":1,\"s\":\"x\"}\n{\"a\":2}\n");
  op->process(make_record({{"a", 3}}, 3), out);
  op->end_batch(out);
  op->finish(out);
  REQUIRE(op->commit());
  CHECK(parse_lines(dir.read("out/result.jsonl"))
        == std::vector<json>{{{"a", 1}, {"s", "x"}}, {{"a", 2}}, {{"a", 3}}});
  CHECK(dir.listing() == "out");
  CHECK_FALSE(dir.exists("out/" + temp_name("result.jsonl")));
}

TEST_CASE("a failed run keeps what sink.file received aside, never under its name",
          "[ops][sink]") {
  test::temp_dir dir;
  dir.write("result.jsonl", "from before\n");
  auto op = build(describe_sink_file(), spec_of("sink.file", {{"path", "result.jsonl"}},
                                                dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"a", 1}}), out);
  op->end_batch(out);
  op->process(make_record({{"a", 2}}), out); // received, still in the sink's buffer
  auto note = op->abort();
  CHECK(dir.listing() == "result.jsonl result.jsonl.partial");
  CHECK(dir.read("result.jsonl") == "from before\n");
  CHECK(dir.read("result.jsonl.partial") == "{\"a\":1}\n{\"a\":2}\n");
  CHECK(note.find("result.jsonl.partial") != std::string::npos);
}

TEST_CASE("a failed run before sink.file received anything leaves no file", "[ops][sink]") {
  test::temp_dir dir;
  auto op = build(describe_sink_file(), spec_of("sink.file", {{"path", "result.jsonl"}},
                                                dir.path()));
  REQUIRE(op);
  REQUIRE(op->start());
  CHECK(op->abort().empty());
  CHECK(dir.listing().empty());
}

TEST_CASE("an empty input still gives an empty sink.file output", "[ops][sink]") {
  test::temp_dir dir;
  auto op = build(describe_sink_file(), spec_of("sink.file", {{"path", "empty.jsonl"}},
                                                dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->finish(out);
  REQUIRE(op->commit());
  CHECK(dir.exists("empty.jsonl"));
  CHECK(dir.read("empty.jsonl").empty());
}

TEST_CASE("building sink.file to validate a config touches no file", "[ops][sink]") {
  test::temp_dir dir;
  {
    auto op = build(describe_sink_file(), spec_of("sink.file", {{"path", "out/x.jsonl"}},
                                                  dir.path()));
    REQUIRE(op);
  }
  CHECK(dir.listing().empty());
}

TEST_CASE("a streaming sink.file writes in place at every batch", "[ops][sink]") {
  test::temp_dir dir;
  auto op = build(describe_sink_file(),
                  spec_of("sink.file", {{"path", "live.jsonl"}}, dir.path(), true));
  REQUIRE(op);
  recording_emitter out;
  op->end_batch(out);
  CHECK(dir.exists("live.jsonl"));
  op->process(make_record({{"a", 1}}), out);
  op->end_batch(out);
  CHECK(dir.read("live.jsonl") == "{\"a\":1}\n");
  op->process(make_record({{"a", 2}}), out);
  op->end_batch(out);
  CHECK(dir.read("live.jsonl") == "{\"a\":1}\n{\"a\":2}\n");
  op->abort();
  CHECK(dir.read("live.jsonl") == "{\"a\":1}\n{\"a\":2}\n");
  CHECK(dir.listing() == "live.jsonl");
}

TEST_CASE("sink.file in append mode adds to what the file holds", "[ops][sink]") {
  test::temp_dir dir;
  dir.write("log.jsonl", "{\"a\":0}");
  auto op = build(describe_sink_file(),
                  spec_of("sink.file", {{"path", "log.jsonl"}, {"mode", "append"}}, dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"a", 1}}), out);
  op->end_batch(out);
  CHECK(dir.read("log.jsonl") == "{\"a\":0}");
  REQUIRE(op->commit());
  // The old last line lacked its line break; the new record does not glue onto it.
  CHECK(dir.read("log.jsonl") == "{\"a\":0}\n{\"a\":1}\n");
}

TEST_CASE("sink.file writes CSV with a header and refuses extra keys", "[ops][sink][csv]") {
  test::temp_dir dir;
  auto op = build(describe_sink_file(), spec_of("sink.file", {{"path", "out.csv"}}, dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"id", 1}, {"name", "a, b"}}, 1), out);
  op->process(make_record({{"id", 2}, {"name", "c"}, {"extra", true}}, 2), out);
  op->process(make_record({{"id", 3}}, 3), out);
  op->finish(out);
  REQUIRE(op->commit());
  CHECK(dir.read("out.csv") == "id,name\n1,\"a, b\"\n3,\n");
  CHECK(out.discarded.size() == 2);
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].rec.content()["id"] == 2);
  CHECK(out.failed[0].err.message
        == "field 'extra' is not a column of this CSV output (columns: id, name, fixed by the"
           " first record); add it to 'columns' or drop it before the sink");
}

TEST_CASE("sink.file CSV takes columns and a delimiter", "[ops][sink][csv]") {
  test::temp_dir dir;
  auto op = build(describe_sink_file(),
                  spec_of("sink.file",
                          {{"path", "out.txt"},
                           {"format", "csv"},
                           {"columns", {"b", "a"}},
                           {"delimiter", "\t"}},
                          dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"a", 1}, {"b", "x\ty"}}), out);
  op->finish(out);
  REQUIRE(op->commit());
  CHECK(dir.read("out.txt") == "b\ta\n\"x\ty\"\t1\n");
}

TEST_CASE("an empty CSV output with known columns is just the header", "[ops][sink][csv]") {
  test::temp_dir dir;
  auto op = build(describe_sink_file(),
                  spec_of("sink.file", {{"path", "out.csv"}, {"columns", {"a", "b"}}},
                          dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->finish(out);
  REQUIRE(op->commit());
  CHECK(dir.read("out.csv") == "a,b\n");
}

TEST_CASE("appending CSV continues the file's columns without a second header",
          "[ops][sink][csv]") {
  test::temp_dir dir;
  dir.write("out.csv", "b,a\n1,2\n");
  auto op = build(describe_sink_file(),
                  spec_of("sink.file", {{"path", "out.csv"}, {"mode", "append"}}, dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"a", "x"}, {"b", "y"}}), out);
  op->finish(out);
  REQUIRE(op->commit());
  CHECK(dir.read("out.csv") == "b,a\n1,2\ny,x\n");
}

TEST_CASE("appending CSV with other columns than the file's fails every record",
          "[ops][sink][csv]") {
  test::temp_dir dir;
  dir.write("out.csv", "a,b\n1,2\n");
  auto op = build(describe_sink_file(),
                  spec_of("sink.file",
                          {{"path", "out.csv"}, {"mode", "append"}, {"columns", {"a", "c"}}},
                          dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"a", 1}}), out);
  REQUIRE(out.failed.size() == 1);
  auto msg = "'" + (dir / "out.csv")
             + "' already has the columns (a, b) but 'columns' lists (a, c); appending needs"
               " the same columns, in the same order";
  CHECK(out.failed[0].err.message == msg);
  op->finish(out);
  auto st = op->commit();
  REQUIRE_FALSE(st);
  CHECK(st.err().message == msg);
  CHECK(dir.read("out.csv") == "a,b\n1,2\n");
  CHECK(dir.listing() == "out.csv");
}

TEST_CASE("after a write error every later record fails and commit reports it",
          "[ops][sink]") {
  test::temp_dir dir;
  dir.write("blocker", "a file where a directory should be");
  auto op = build(describe_sink_file(),
                  spec_of("sink.file", {{"path", "blocker/out.jsonl"}}, dir.path()));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"a", 1}}), out);
  op->end_batch(out);
  op->process(make_record({{"a", 2}}), out);
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].err.code == errc::io_error);
  CHECK(out.failed[0].err.message.rfind("cannot create the directory '" + (dir / "blocker"), 0)
        == 0);
  op->finish(out);
  auto st = op->commit();
  REQUIRE_FALSE(st);
  CHECK(st.err().message == out.failed[0].err.message);
}

TEST_CASE("sink.file checks its params", "[ops][sink]") {
  test::temp_dir dir;
  auto kind = describe_sink_file();
  CHECK(problems(kind, {{"path", "-"}}, dir.path())
        == strings{"/stages/4/params/path: sink.file writes files; write to standard output"
                   " with a sink.stdout stage"});
  CHECK(problems(kind, {{"path", "out/"}}, dir.path())
        == strings{"/stages/4/params/path: 'out/' is a directory; give the path of a file in"
                   " it"});
  CHECK(problems(kind, {{"path", "."}}, dir.path())
        == strings{"/stages/4/params/path: '.' is a directory; give the path of a file in it"});
  CHECK(problems(kind, {{"path", "x.jsonl"}, {"columns", {"a"}}}, dir.path())
        == strings{"/stages/4/params/columns: 'columns' applies only to format \"csv\""});
  CHECK(problems(kind, {{"path", "x.csv"}, {"mode", "replace"}}, dir.path())
        == strings{"/stages/4/params/mode: 'replace' is not one of 'overwrite', 'append'"});
  CHECK(problems(kind, {{"path", "x.csv"}, {"columns", {"a", ""}}}, dir.path())
        == strings{"/stages/4/params/columns: column 2 has an empty name"});
  CHECK(problems(kind, {{"path", "x.csv"}, {"delimiter", "\""}}, dir.path())
        == strings{"/stages/4/params/delimiter: expected one character other than a quote or"
                   " a line break, got '\"'"});
  CHECK(problems(kind, {{"path", "x.csv"}, {"flush", true}}, dir.path())
        == strings{"/stages/4/params/flush: unknown param 'flush' for stage type 'sink.file'"});
  CHECK(kind.role == stage_role::sink);
  CHECK_FALSE(kind.allows_parallelism);
}

TEST_CASE("sink.stdout writes each batch and flushes it", "[ops][sink]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  auto read_back = [&] {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[256];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
      s.append(buf, n);
    std::fseek(f, 0, SEEK_END);
    return s;
  };
  stdout_sink_op op{record_format{data_format::csv}, f};
  recording_emitter out;
  op.process(make_record({{"a", 1}, {"b", "x y"}}), out);
  CHECK(read_back().empty());
  op.end_batch(out);
  CHECK(read_back() == "a,b\n1,x y\n");
  op.process(make_record({{"a", 2}}), out);
  op.finish(out);
  REQUIRE(op.commit());
  CHECK(read_back() == "a,b\n1,x y\n2,\n");
  CHECK(out.discarded.size() == 2);
  std::fclose(f);

  auto kind = describe_sink_stdout();
  CHECK_FALSE(kind.allows_parallelism);
  CHECK(problems(kind, {{"format", "csv"}, {"columns", {"a"}}}, "").empty());
  CHECK(problems(kind, {{"delimiter", ";"}}, "")
        == strings{"/stages/4/params/delimiter: 'delimiter' applies only to format \"csv\""});
  CHECK(problems(kind, {{"path", "x"}}, "")
        == strings{"/stages/4/params/path: unknown param 'path' for stage type"
                   " 'sink.stdout'"});
}

TEST_CASE("sink.stdout JSON lines are the records' compact JSON", "[ops][sink]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  stdout_sink_op op{record_format{}, f};
  recording_emitter out;
  op.process(make_record({{"a", json::array({1, 2})}, {"u", "é"}}), out);
  op.finish(out);
  REQUIRE(op.commit());
  std::rewind(f);
  char buf[256];
  auto n = std::fread(buf, 1, sizeof buf, f);
  CHECK(std::string(buf, n) == "{\"a\":[1,2],\"u\":\"é\"}\n");
  std::fclose(f);
}

TEST_CASE("sink.null counts every record as written", "[ops][sink]") {
  auto kind = describe_sink_null();
  CHECK(kind.allows_parallelism);
  auto op = build(kind, spec_of("sink.null", json::object(), ""));
  REQUIRE(op);
  recording_emitter out;
  op->process(make_record({{"a", 1}}), out);
  REQUIRE(out.discarded.size() == 1);
  CHECK(out.discarded[0].second == disposition::written);
  CHECK(problems(kind, {{"path", "x"}}, "")
        == strings{"/stages/4/params/path: unknown param 'path' for stage type 'sink.null'"});
}
