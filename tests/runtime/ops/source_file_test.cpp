#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ops/source_file.hpp"
#include "runtime/io/temp_dir.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using test::recording_emitter;

namespace {

stage_spec spec_of(json params, const std::string& base_dir) {
  stage_spec s;
  s.id = "in";
  s.type = "source.file";
  s.index = 2;
  s.json_path = "/stages/2";
  s.params = std::move(params);
  s.base_dir = base_dir;
  return s;
}

// Builds the reader and the decode op of a source.file stage, reads
// everything and decodes it.
struct run_result {
  recording_emitter out;
  std::vector<std::string> names;
};

void run(const stage_spec& spec, run_result& r) {
  auto kind = describe_source_file();
  diagnostics d;
  params_reader pr{spec.params, spec.json_path + "/params", kind.name, d};
  auto reader = kind.make_reader(spec, pr);
  params_reader po{spec.params, spec.json_path + "/params", kind.name, d};
  auto op = kind.make_op(spec, po);
  INFO(d.render());
  REQUIRE(reader);
  REQUIRE(op);
  REQUIRE(reader->open());
  std::vector<record> raw;
  while (true) {
    auto st = reader->read(raw, 100, 0);
    REQUIRE(st);
    if (*st == source_reader::state::end)
      break;
  }
  for (auto& rec : raw)
    op->process(std::move(rec), r.out);
}

// The diagnostics of building a source.file stage's op with `params`.
std::vector<std::string> problems(json params, const std::string& base_dir) {
  auto kind = describe_source_file();
  auto spec = spec_of(std::move(params), base_dir);
  diagnostics d;
  params_reader p{spec.params, "/stages/2/params", kind.name, d};
  auto op = kind.make_op(spec, p);
  CHECK((op == nullptr) == d.has_errors());
  std::vector<std::string> out;
  for (auto& x : d.all())
    out.push_back(x.json_path + ": " + x.message);
  return out;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("source.file reads JSON lines relative to the config's directory", "[ops][source]") {
  test::temp_dir dir;
  dir.write("data/orders.jsonl", "{\"id\":\"o1\",\"n\":1}\n{\"n\":2}\n{broken\n");
  run_result r;
  run(spec_of(json{{"path", "data/orders.jsonl"}}, dir.path()), r);
  REQUIRE(r.out.emitted.size() == 2);
  CHECK(r.out.contents() == std::vector<json>{{{"id", "o1"}, {"n", 1}}, {{"n", 2}}});
  CHECK(r.out.emitted[0].rec.id() == "o1");
  CHECK(r.out.emitted[1].rec.id() == "in:2");
  CHECK(r.out.emitted[1].rec.trail().origin.source == 2);
  REQUIRE(r.out.failed.size() == 1);
  CHECK(r.out.failed[0].err.message.rfind("data/orders.jsonl:3: parse error at byte 2: ", 0)
        == 0);
}

TEST_CASE("source.file reads a glob of CSV files with typed values", "[ops][source]") {
  test::temp_dir dir;
  dir.write("data/a.csv", "id,zip,amount\n1,007,2.5\n");
  dir.write("data/b.csv", "id,zip,amount\n,\"42\",3\n");
  run_result r;
  run(spec_of(json{{"path", "data/*.csv"}}, dir.path()), r);
  REQUIRE(r.out.failed.empty());
  CHECK(r.out.contents()
        == std::vector<json>{{{"id", 1}, {"zip", "007"}, {"amount", 2.5}},
                             {{"id", nullptr}, {"zip", "42"}, {"amount", 3}}});
  CHECK(r.out.emitted[0].rec.id() == "1");
  CHECK(r.out.emitted[1].rec.id() == "in:b.csv:2");
}

TEST_CASE("source.file takes CSV options", "[ops][source]") {
  test::temp_dir dir;
  dir.write("in.txt", "1;x\n2;y\n");
  run_result r;
  run(spec_of(json{{"path", "in.txt"},
                   {"format", "csv"},
                   {"delimiter", ";"},
                   {"header", false},
                   {"columns", {"k", "v"}},
                   {"id_field", "k"}},
              dir.path()),
      r);
  CHECK(r.out.contents() == std::vector<json>{{{"k", 1}, {"v", "x"}}, {{"k", 2}, {"v", "y"}}});
  CHECK(r.out.emitted[1].rec.id() == "2");
}

TEST_CASE("source.file reports a glob without a match and a missing file at path",
          "[ops][source]") {
  test::temp_dir dir;
  CHECK(problems(json{{"path", "data/x*.csv"}}, dir.path())
        == strings{"/stages/2/params/path: no file matches 'data/x*.csv'"});
  CHECK(problems(json{{"path", "x.jsonl"}}, dir.path())
        == strings{"/stages/2/params/path: cannot open 'x.jsonl': No such file or directory"});
  CHECK(problems(json::object(), dir.path())
        == strings{"/stages/2/params/path: missing required param 'path' for stage type"
                   " 'source.file'"});
}

TEST_CASE("source.file needs a format it cannot tell from the path", "[ops][source]") {
  test::temp_dir dir;
  dir.write("in.txt", "{}\n");
  CHECK(problems(json{{"path", "in.txt"}}, dir.path())
        == strings{"/stages/2/params/format: cannot tell the format of 'in.txt' from its"
                   " extension; set 'format' to \"jsonl\" or \"csv\""});
  CHECK(problems(json{{"path", "-"}}, dir.path())
        == strings{"/stages/2/params/format: reading stdin needs a 'format': \"jsonl\" or"
                   " \"csv\""});
  CHECK(problems(json{{"path", "-"}, {"format", "jsonl"}}, dir.path()).empty());
  CHECK(problems(json{{"path", "in.txt"}, {"format", "xml"}}, dir.path())
        == strings{"/stages/2/params/format: 'xml' is not one of 'jsonl', 'csv'"});
}

TEST_CASE("source.file refuses CSV options for JSON lines and bad CSV options",
          "[ops][source]") {
  test::temp_dir dir;
  dir.write("in.jsonl", "{}\n");
  dir.write("in.csv", "a\n");
  CHECK(problems(json{{"path", "in.jsonl"}, {"delimiter", ";"}, {"header", false}}, dir.path())
        == strings{"/stages/2/params/delimiter: 'delimiter' applies only to format \"csv\"",
                   "/stages/2/params/header: 'header' applies only to format \"csv\""});
  CHECK(problems(json{{"path", "in.csv"}, {"delimiter", ";;"}}, dir.path())
        == strings{"/stages/2/params/delimiter: expected one character other than a quote or"
                   " a line break, got ';;'"});
  CHECK(problems(json{{"path", "in.csv"}, {"header", false}}, dir.path())
        == strings{"/stages/2/params/columns: a CSV file without a header ('header': false)"
                   " needs its column names in 'columns'"});
  CHECK(problems(json{{"path", "in.csv"}, {"columns", {"a", "a"}}}, dir.path())
        == strings{"/stages/2/params/columns: 'a' is listed twice; column names must be"
                   " unique"});
  CHECK(problems(json{{"path", "in.csv"}, {"max_line_bytes", 0}}, dir.path()).size() == 1);
}

TEST_CASE("source.file reports unknown params", "[ops][source]") {
  test::temp_dir dir;
  dir.write("in.jsonl", "{}\n");
  auto p = problems(json{{"path", "in.jsonl"}, {"paht", "x"}}, dir.path());
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "/stages/2/params/paht: unknown param 'paht' for stage type 'source.file'");
}

TEST_CASE("source.file reads stdin as an unbounded input", "[ops][source]") {
  auto kind = describe_source_file();
  auto spec = spec_of(json{{"path", "-"}, {"format", "csv"}}, "/nowhere");
  diagnostics d;
  params_reader p{spec.params, "/stages/2/params", kind.name, d};
  auto reader = kind.make_reader(spec, p);
  REQUIRE(reader);
  CHECK_FALSE(reader->bounded());
  CHECK(reader->file_name(0) == "-");
  CHECK(kind.role == stage_role::source);
  CHECK(kind.allows_parallelism);
}
