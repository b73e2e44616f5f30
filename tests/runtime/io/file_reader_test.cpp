#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "io/file_reader.hpp"
#include "runtime/io/temp_dir.hpp"

using namespace sluice;
using state = source_reader::state;

namespace {

file_reader_options jsonl(size_t chunk = 1 << 20) {
  file_reader_options o;
  o.format = data_format::jsonl;
  o.source = 3;
  o.chunk_bytes = chunk;
  return o;
}

file_reader_options csv(size_t chunk = 1 << 20) {
  auto o = jsonl(chunk);
  o.format = data_format::csv;
  return o;
}

// Reads everything, `max` records per call; fails the test on an error.
std::vector<record> read_all(source_reader& r, size_t max = 1000) {
  std::vector<record> out;
  for (int calls = 0; calls < 100000; ++calls) {
    auto st = r.read(out, max, 0);
    REQUIRE(st);
    REQUIRE(*st != state::wait);
    if (*st == state::end)
      return out;
  }
  FAIL("the reader never ended");
  return out;
}

// "file:line" of each record, and its content (or error).
std::vector<std::string> describe(const std::vector<record>& recs) {
  std::vector<std::string> out;
  for (auto& r : recs) {
    auto& o = r.trail().origin;
    std::string s = std::to_string(o.source) + "/" + std::to_string(o.file) + ":"
                    + std::to_string(o.line) + " " + r.content().dump();
    if (!r.meta().is_null())
      s += " ! " + r.meta()["error"].get<std::string>();
    out.push_back(s);
  }
  return out;
}

using strings = std::vector<std::string>;

struct pipe_fds {
  int fds[2];
  pipe_fds() { REQUIRE(::pipe(fds) == 0); }
  ~pipe_fds() {
    close_write();
    ::close(fds[0]);
  }
  void write(const std::string& s) {
    REQUIRE(::write(fds[1], s.data(), s.size()) == static_cast<ssize_t>(s.size()));
  }
  void close_write() {
    if (fds[1] >= 0)
      ::close(fds[1]);
    fds[1] = -1;
  }
};

} // namespace

TEST_CASE("JSON lines come out as raw line strings with their origin", "[io][reader]") {
  test::temp_dir dir;
  auto path = dir.write("in.jsonl", "{\"a\":1}\n\n   \n{\"a\":2}\r\nnot json\n{\"a\":3}");
  for (size_t chunk : {size_t{16}, size_t{1} << 20}) {
    file_reader r{jsonl(chunk), {{path, "in.jsonl"}}};
    REQUIRE(r.open());
    auto recs = read_all(r, 2);
    CHECK(describe(recs)
          == strings{"3/0:1 \"{\\\"a\\\":1}\"", "3/0:4 \"{\\\"a\\\":2}\"",
                     "3/0:5 \"not json\"", "3/0:6 \"{\\\"a\\\":3}\""});
    CHECK(r.bytes_total() == 38);
    CHECK(r.bytes_read() == 38);
  }
}

TEST_CASE("read returns at most max records per call and then end", "[io][reader]") {
  test::temp_dir dir;
  auto path = dir.write("in.jsonl", "{}\n{}\n{}\n");
  file_reader r{jsonl(), {{path, "in.jsonl"}}};
  REQUIRE(r.open());
  std::vector<record> out;
  auto st = r.read(out, 2, 0);
  REQUIRE(st);
  CHECK(*st == state::more);
  CHECK(out.size() == 2);
  st = r.read(out, 2, 0);
  REQUIRE(st);
  CHECK(*st == state::end);
  CHECK(out.size() == 3);
}

TEST_CASE("a UTF-8 BOM at the start of each file is skipped", "[io][reader]") {
  test::temp_dir dir;
  auto a = dir.write("a.jsonl", "\xEF\xBB\xBF{\"a\":1}\n");
  auto b = dir.write("b.csv", "\xEF\xBB\xBFx,y\n1,2\n");
  file_reader rj{jsonl(2), {{a, "a.jsonl"}}};
  REQUIRE(rj.open());
  CHECK(describe(read_all(rj)) == strings{"3/0:1 \"{\\\"a\\\":1}\""});
  file_reader rc{csv(2), {{b, "b.csv"}}};
  REQUIRE(rc.open());
  CHECK(describe(read_all(rc)) == strings{"3/0:2 {\"x\":1,\"y\":2}"});
}

TEST_CASE("a JSON line longer than max_line_bytes is an error record, and reading goes on",
          "[io][reader]") {
  test::temp_dir dir;
  std::string big(1000, 'x');
  auto path = dir.write("in.jsonl", "{\"a\":1}\n" + big + "\n{\"a\":2}\n" + big);
  for (size_t chunk : {size_t{64}, size_t{1} << 20}) {
    auto o = jsonl(chunk);
    o.max_line_bytes = 100;
    file_reader r{o, {{path, "in.jsonl"}}};
    REQUIRE(r.open());
    auto recs = read_all(r);
    auto msg = std::string{"line of 1000 bytes is longer than max_line_bytes (100); it was"
                           " skipped (raise max_line_bytes if such lines are expected)"};
    auto head = "\"" + std::string(200, 'x') + "\"";
    CHECK(describe(recs)
          == strings{"3/0:1 \"{\\\"a\\\":1}\"", "3/0:2 " + head + " ! " + msg,
                     "3/0:3 \"{\\\"a\\\":2}\"", "3/0:4 " + head + " ! " + msg});
  }
}

TEST_CASE("a line exactly max_line_bytes long is read", "[io][reader]") {
  test::temp_dir dir;
  auto path = dir.write("in.jsonl", "\"12345678\"\n\"123456789\"\n");
  auto o = jsonl(4);
  o.max_line_bytes = 10;
  file_reader r{o, {{path, "in.jsonl"}}};
  REQUIRE(r.open());
  auto recs = read_all(r);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].meta().is_null());
  CHECK(recs[0].content() == json("\"12345678\""));
  CHECK(recs[1].meta()["error"].get<std::string>().rfind("line of 11 bytes", 0) == 0);
}

TEST_CASE("several files are read in order, with the file index in the origin",
          "[io][reader]") {
  test::temp_dir dir;
  dir.write("data/b.jsonl", "{\"f\":\"b\"}\n");
  dir.write("data/a.jsonl", "{\"f\":\"a\"}\n{\"f\":\"a2\"}");
  dir.write("data/c.txt", "nope\n");
  dir.write("data/sub.jsonl/x", "a directory matching the glob is left out\n");
  auto files = expand_input("data/*.jsonl", dir / "data/*.jsonl");
  REQUIRE(files);
  REQUIRE(files->size() == 2);
  CHECK((*files)[0].name == "data/a.jsonl");
  CHECK((*files)[0].path == dir / "data/a.jsonl");
  CHECK((*files)[1].name == "data/b.jsonl");
  file_reader r{jsonl(), *files};
  REQUIRE(r.open());
  CHECK(r.bounded());
  CHECK(r.file_name(0) == "data/a.jsonl");
  CHECK(r.file_name(1) == "data/b.jsonl");
  // A batch spans files.
  std::vector<record> out;
  auto st = r.read(out, 10, 0);
  REQUIRE(st);
  CHECK(*st == state::end);
  CHECK(describe(out)
        == strings{"3/0:1 \"{\\\"f\\\":\\\"a\\\"}\"", "3/0:2 \"{\\\"f\\\":\\\"a2\\\"}\"",
                   "3/1:1 \"{\\\"f\\\":\\\"b\\\"}\""});
  CHECK(r.bytes_total() == 30);
  CHECK(r.bytes_read() == 30);
}

TEST_CASE("a glob that matches nothing and a missing file are errors", "[io][reader]") {
  test::temp_dir dir;
  auto none = expand_input("data/x*.csv", dir / "data/x*.csv");
  REQUIRE_FALSE(none);
  CHECK(none.err().message == "no file matches 'data/x*.csv'");
  auto missing = expand_input("x.csv", dir / "x.csv");
  REQUIRE_FALSE(missing);
  CHECK(missing.err().message == "cannot open 'x.csv': No such file or directory");
  auto is_dir = expand_input("sub", dir.path());
  REQUIRE_FALSE(is_dir);
  CHECK(is_dir.err().message
        == "'sub' is a directory; to read the files in it, use a glob such as 'sub/*.jsonl'");
  auto stdin_in = expand_input("-", "-");
  REQUIRE(stdin_in);
  REQUIRE(stdin_in->size() == 1);
  CHECK((*stdin_in)[0].name == "-");
}

TEST_CASE("a file that vanished before open is an error naming it", "[io][reader]") {
  test::temp_dir dir;
  file_reader r{jsonl(), {{dir / "gone.jsonl", "gone.jsonl"}}};
  auto st = r.open();
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::io_error);
  CHECK(st.err().message == "cannot open 'gone.jsonl': No such file or directory");
}

TEST_CASE("CSV rows come out as typed objects named by the header", "[io][reader][csv]") {
  test::temp_dir dir;
  auto path = dir.write("in.csv",
                        "id,zip,price,ok,note\r\n"
                        "1,007,-0.5,true,\"a, b\"\r\n"
                        "\r\n"
                        "2,,1e3,True,\"\"\r\n"
                        "3,\"42\",x,false,\"multi\nline\"\r\n"
                        "4,5\r\n"
                        "5,1,2,3,\"open");
  for (size_t chunk : {size_t{3}, size_t{1} << 20}) {
    file_reader r{csv(chunk), {{path, "in.csv"}}};
    REQUIRE(r.open());
    auto recs = read_all(r, 3);
    CHECK(describe(recs)
          == strings{
            "3/0:2 {\"id\":1,\"note\":\"a, b\",\"ok\":true,\"price\":-0.5,\"zip\":\"007\"}",
            "3/0:4 {\"id\":2,\"note\":\"\",\"ok\":\"True\",\"price\":1000.0,\"zip\":null}",
            "3/0:5 {\"id\":3,\"note\":\"multi\\nline\",\"ok\":false,\"price\":\"x\","
            "\"zip\":\"42\"}",
            "3/0:7 \"4,5\" ! 2 fields, but the header has 5",
            "3/0:8 \"5,1,2,3,\\\"open\" ! unterminated quoted field: the quote that opens field"
            " 5 on line 8 never closes"});
  }
}

TEST_CASE("CSV columns rename the header or name header-less files", "[io][reader][csv]") {
  test::temp_dir dir;
  auto with = dir.write("with.csv", "a,a\n1,2\n");
  auto o = csv();
  o.columns = {"x", "y"};
  file_reader r{o, {{with, "with.csv"}}};
  REQUIRE(r.open());
  CHECK(describe(read_all(r)) == strings{"3/0:2 {\"x\":1,\"y\":2}"});

  auto without = dir.write("without.csv", "1,2\n3\n");
  o.header = false;
  file_reader r2{o, {{without, "without.csv"}}};
  REQUIRE(r2.open());
  CHECK(describe(read_all(r2))
        == strings{"3/0:1 {\"x\":1,\"y\":2}", "3/0:2 \"3\" ! 1 field, but 'columns' lists 2"});
}

TEST_CASE("a bad CSV header fails open, naming the file and column", "[io][reader][csv]") {
  test::temp_dir dir;
  auto good = dir.write("a.csv", "x,y\n1,2\n");
  auto dup = dir.write("b.csv", "x,y,x\n1,2,3\n");
  file_reader r{csv(), {{good, "data/a.csv"}, {dup, "data/b.csv"}}};
  auto st = r.open();
  REQUIRE_FALSE(st);
  CHECK(st.err().message
        == "'data/b.csv': columns 1 and 3 of the header are both named 'x'; column names"
           " must be unique (rename them with 'columns')");

  auto empty = dir.write("c.csv", "x,,z\n");
  file_reader r2{csv(), {{empty, "c.csv"}}};
  auto st2 = r2.open();
  REQUIRE_FALSE(st2);
  CHECK(st2.err().message
        == "'c.csv': column 2 of the header has no name; name every column in the file or"
           " give the names in 'columns'");

  auto o = csv();
  o.columns = {"p", "q"};
  file_reader r3{o, {{empty, "c.csv"}}};
  auto st3 = r3.open();
  REQUIRE_FALSE(st3);
  CHECK(st3.err().message == "'c.csv': 'columns' lists 2 names but the header has 3 columns");
}

TEST_CASE("each CSV file of a glob has its own header", "[io][reader][csv]") {
  test::temp_dir dir;
  auto a = dir.write("a.csv", "x,y\n1,2\n");
  auto b = dir.write("b.csv", "y,x\n3,4\n");
  file_reader r{csv(), {{a, "a.csv"}, {b, "b.csv"}}};
  REQUIRE(r.open());
  CHECK(describe(read_all(r))
        == strings{"3/0:2 {\"x\":1,\"y\":2}", "3/1:2 {\"x\":4,\"y\":3}"});
}

TEST_CASE("an empty file gives no records", "[io][reader]") {
  test::temp_dir dir;
  auto a = dir.write("a.csv", "");
  auto b = dir.write("b.jsonl", "");
  file_reader rc{csv(), {{a, "a.csv"}}};
  REQUIRE(rc.open());
  CHECK(read_all(rc).empty());
  file_reader rj{jsonl(), {{b, "b.jsonl"}}};
  REQUIRE(rj.open());
  CHECK(read_all(rj).empty());
}

TEST_CASE("a CSV row longer than max_line_bytes is an error record", "[io][reader][csv]") {
  test::temp_dir dir;
  auto path = dir.write("in.csv", "a\n" + std::string(300, 'y') + "\nz\n");
  auto o = csv(32);
  o.max_line_bytes = 100;
  file_reader r{o, {{path, "in.csv"}}};
  REQUIRE(r.open());
  auto recs = read_all(r);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].content() == json(std::string(200, 'y')));
  CHECK(recs[0].meta()["error"]
        == "row of 301 bytes is longer than max_line_bytes (100); it was skipped (raise"
           " max_line_bytes if such rows are expected)");
  CHECK(recs[1].content() == json{{"a", "z"}});
  CHECK(recs[1].trail().origin.line == 3);
}

TEST_CASE("a pipe without data makes read return wait with what it has", "[io][reader]") {
  pipe_fds p;
  file_reader r{jsonl(), p.fds[0], "-"};
  REQUIRE(r.open());
  CHECK_FALSE(r.bounded());
  CHECK(r.bytes_total() == 0);
  CHECK(r.file_name(0) == "-");
  std::vector<record> out;
  auto st = r.read(out, 10, 1000);
  REQUIRE(st);
  CHECK(*st == state::wait);
  CHECK(out.empty());

  // A complete line and half of the next: the line comes out, then wait.
  p.write("{\"a\":1}\n{\"a\":");
  st = r.read(out, 10, 0);
  REQUIRE(st);
  CHECK(*st == state::wait);
  CHECK(describe(out) == strings{"3/0:1 \"{\\\"a\\\":1}\""});

  p.write("2}\n");
  p.close_write();
  st = r.read(out, 10, 1000);
  REQUIRE(st);
  CHECK(*st == state::end);
  CHECK(describe(out) == strings{"3/0:1 \"{\\\"a\\\":1}\"", "3/0:2 \"{\\\"a\\\":2}\""});
  CHECK(r.bytes_read() == 16);
}

TEST_CASE("a CSV header arriving on a pipe is read before the rows", "[io][reader][csv]") {
  pipe_fds p;
  file_reader r{csv(), p.fds[0], "-"};
  REQUIRE(r.open());
  std::vector<record> out;
  p.write("a,b\n1,");
  auto st = r.read(out, 10, 0);
  REQUIRE(st);
  CHECK(*st == state::wait);
  CHECK(out.empty());
  p.write("2\n");
  p.close_write();
  st = r.read(out, 10, 1000);
  REQUIRE(st);
  CHECK(*st == state::end);
  CHECK(describe(out) == strings{"3/0:2 {\"a\":1,\"b\":2}"});
}

TEST_CASE("a bad CSV header on a pipe fails read", "[io][reader][csv]") {
  pipe_fds p;
  file_reader r{csv(), p.fds[0], "-"};
  REQUIRE(r.open());
  p.write("a,a\n1,2\n");
  p.close_write();
  std::vector<record> out;
  auto st = r.read(out, 10, 1000);
  REQUIRE_FALSE(st);
  CHECK(st.err().message
        == "'-': columns 1 and 2 of the header are both named 'a'; column names must be"
           " unique (rename them with 'columns')");
}
