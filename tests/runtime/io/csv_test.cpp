#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "io/csv.hpp"
#include "io/csv_writer.hpp"
#include "runtime/io/temp_dir.hpp"

using namespace sluice;

namespace {

struct row {
  std::vector<std::string> fields;
  std::vector<bool> quoted;
  std::string raw;
  std::string error;
  uint64_t line = 0;
};

// Splits `text` fed in pieces of `piece` bytes (to exercise resumption).
std::vector<row> split(const std::string& text, size_t piece = 1 << 20, char delim = ',',
                       size_t max_row = 1 << 20) {
  csv_splitter s{delim, max_row};
  std::vector<row> rows;
  size_t at = 0;
  while (true) {
    size_t n = std::min(piece, text.size() - at);
    const char* p = text.data() + at;
    const char* end = p + n;
    bool eof = at + n == text.size();
    auto step = s.next(p, end, eof);
    at = static_cast<size_t>(p - text.data());
    if (step == csv_splitter::step::done)
      return rows;
    if (step == csv_splitter::step::need_more) {
      REQUIRE(p == end);
      REQUIRE_FALSE(eof);
      continue;
    }
    row r;
    for (auto& f : s.fields()) {
      r.fields.push_back(f.text);
      r.quoted.push_back(f.quoted);
    }
    r.raw = s.raw();
    r.error = s.error();
    r.line = s.row_line();
    rows.push_back(r);
  }
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("the CSV splitter cuts plain rows with LF and CRLF", "[io][csv]") {
  for (size_t piece : {size_t{1}, size_t{2}, size_t{1} << 20}) {
    auto rows = split("a,b,c\r\n1,2,3\n4,,6", piece);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].fields == strings{"a", "b", "c"});
    CHECK(rows[1].fields == strings{"1", "2", "3"});
    CHECK(rows[2].fields == strings{"4", "", "6"});
    CHECK(rows[0].raw == "a,b,c");
    CHECK(rows[1].line == 2);
    CHECK(rows[2].line == 3);
  }
}

TEST_CASE("quoted CSV fields keep delimiters, escaped quotes and line breaks", "[io][csv]") {
  std::string text = "id,note\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,x\n";
  for (size_t piece : {size_t{1}, size_t{3}, size_t{1} << 20}) {
    auto rows = split(text, piece);
    REQUIRE(rows.size() == 5);
    CHECK(rows[1].fields == strings{"1", "a, b"});
    CHECK(rows[1].quoted == std::vector<bool>{false, true});
    CHECK(rows[2].fields == strings{"2", "say \"hi\""});
    CHECK(rows[3].fields == strings{"3", "two\nlines"});
    CHECK(rows[3].line == 4);
    CHECK(rows[3].raw == "3,\"two\nlines\"");
    // The row after a two-line row starts on line 6.
    CHECK(rows[4].line == 6);
    CHECK(rows[4].fields == strings{"4", "x"});
  }
}

TEST_CASE("a CRLF inside quotes stays in the value and a CRLF outside ends the row",
          "[io][csv]") {
  auto rows = split("\"a\r\nb\",c\r\nd,e\r\n", 1);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].fields == strings{"a\r\nb", "c"});
  CHECK(rows[1].fields == strings{"d", "e"});
  CHECK(rows[1].line == 3);
}

TEST_CASE("a lone CR ends a CSV row", "[io][csv]") {
  auto rows = split("a,b\rc,d\r");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].fields == strings{"a", "b"});
  CHECK(rows[1].fields == strings{"c", "d"});
  CHECK(rows[1].line == 2);
}

TEST_CASE("a trailing delimiter gives a last empty field", "[io][csv]") {
  auto rows = split("a,b,\nc,d,");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].fields == strings{"a", "b", ""});
  CHECK(rows[1].fields == strings{"c", "d", ""});
}

TEST_CASE("an unterminated quote at the end of input is an error for that row",
          "[io][csv]") {
  auto rows = split("a,b\n1,\"open\nstill open", 4);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].error.empty());
  CHECK(rows[1].line == 2);
  CHECK(rows[1].error
        == "unterminated quoted field: the quote that opens field 2 on line 2 never closes");
  CHECK(rows[1].raw == "1,\"open\nstill open");
}

TEST_CASE("a character after a closing quote breaks only its own row", "[io][csv]") {
  auto rows = split("\"ab\"c,d\ne,f\n", 2);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].error
        == "unexpected 'c' after the closing quote of field 1; a quoted field ends at a"
           " delimiter or the end of the line (write a quote inside a quoted field as \"\")");
  CHECK(rows[0].raw == "\"ab\"c,d");
  CHECK(rows[1].error.empty());
  CHECK(rows[1].fields == strings{"e", "f"});
  CHECK(rows[1].line == 2);
}

TEST_CASE("a quote inside an unquoted field is an ordinary character", "[io][csv]") {
  auto rows = split("5\" disk,x\n");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].fields == strings{"5\" disk", "x"});
  CHECK(rows[0].error.empty());
}

TEST_CASE("another delimiter splits fields", "[io][csv]") {
  auto rows = split("a;b,c\n\"x;y\";z\n", 1 << 20, ';');
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].fields == strings{"a", "b,c"});
  CHECK(rows[1].fields == strings{"x;y", "z"});
}

TEST_CASE("a CSV row over the size limit is an error keeping its first 200 bytes",
          "[io][csv]") {
  std::string big(500, 'x');
  auto rows = split("a,b\n" + big + ",\"" + big + "\"\nc,d\n", 7, ',', 300);
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].fields.empty());
  CHECK(rows[1].raw == std::string(200, 'x'));
  CHECK(rows[1].error
        == "row of 1004 bytes is longer than max_line_bytes (300); it was skipped (raise"
           " max_line_bytes if such rows are expected)");
  CHECK(rows[2].fields == strings{"c", "d"});
  CHECK(rows[2].line == 3);
}

TEST_CASE("a CSV row exactly at the size limit is fine", "[io][csv]") {
  auto rows = split("abcde\r\nabcdef\n", 1 << 20, ',', 5);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].error.empty());
  CHECK(rows[0].fields == strings{"abcde"});
  CHECK_FALSE(rows[1].error.empty());
}

TEST_CASE("blank CSV rows are recognised", "[io][csv]") {
  csv_splitter s;
  std::string text = "a\n\n  \n\"\"\n";
  const char* p = text.data();
  const char* end = p + text.size();
  std::vector<bool> blanks;
  while (s.next(p, end, true) == csv_splitter::step::row)
    blanks.push_back(s.blank());
  CHECK(blanks == std::vector<bool>{false, true, true, false});
}

TEST_CASE("CSV values are typed by how they are written", "[io][csv]") {
  CHECK(csv_value("42", false) == json(42));
  CHECK(csv_value("42", false).is_number_integer());
  CHECK(csv_value("-17", false) == json(-17));
  CHECK(csv_value("0", false) == json(0));
  CHECK(csv_value("007", false) == json("007"));
  CHECK(csv_value("+5", false) == json("+5"));
  CHECK(csv_value("-0.5", false) == json(-0.5));
  CHECK(csv_value("1e3", false).is_number_float());
  CHECK(csv_value("1e3", false) == json(1000.0));
  CHECK(csv_value("2.5E-2", false) == json(0.025));
  CHECK(csv_value("1e999", false) == json("1e999"));
  CHECK(csv_value("12345678901234567890123", false) == json("12345678901234567890123"));
  CHECK(csv_value("9223372036854775807", false) == json(INT64_MAX));
  CHECK(csv_value(".5", false) == json(".5"));
  CHECK(csv_value("5.", false) == json("5."));
  CHECK(csv_value("nan", false) == json("nan"));
  CHECK(csv_value("inf", false) == json("inf"));
  CHECK(csv_value("0x1F", false) == json("0x1F"));
  CHECK(csv_value(" 42", false) == json(" 42"));
  CHECK(csv_value("true", false) == json(true));
  CHECK(csv_value("false", false) == json(false));
  CHECK(csv_value("True", false) == json("True"));
  CHECK(csv_value("", false).is_null());
  CHECK(csv_value("hello", false) == json("hello"));
}

TEST_CASE("quoted CSV values are always strings", "[io][csv]") {
  CHECK(csv_value("", true) == json(""));
  CHECK(csv_value("42", true) == json("42"));
  CHECK(csv_value("true", true) == json("true"));
}

TEST_CASE("a CSV header must name every column once", "[io][csv]") {
  CHECK(check_csv_header({"a", "b"}, "x.csv"));
  auto empty = check_csv_header({"a", "", "c"}, "data/x.csv");
  REQUIRE_FALSE(empty);
  CHECK(empty.err().message
        == "'data/x.csv': column 2 of the header has no name; name every column in the file"
           " or give the names in 'columns'");
  auto dup = check_csv_header({"id", "a", "id"}, "data/x.csv");
  REQUIRE_FALSE(dup);
  CHECK(dup.err().message
        == "'data/x.csv': columns 1 and 3 of the header are both named 'id'; column names"
           " must be unique (rename them with 'columns')");
}

TEST_CASE("read_csv_header reads the first row of a file", "[io][csv]") {
  test::temp_dir dir;
  dir.write("a.csv", "\xEF\xBB\xBF\n\"x,1\",y\n1,2\n");
  auto h = read_csv_header(dir / "a.csv", ',');
  REQUIRE(h);
  CHECK(*h == strings{"x,1", "y"});
  dir.write("empty.csv", "");
  auto e = read_csv_header(dir / "empty.csv", ',');
  REQUIRE(e);
  CHECK(e->empty());
  auto missing = read_csv_header(dir / "missing.csv", ',');
  REQUIRE(missing);
  CHECK(missing->empty());
  dir.write("bad.csv", "\"a\"b,c\n");
  auto bad = read_csv_header(dir / "bad.csv", ',');
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message.rfind("'" + (dir / "bad.csv") + "': line 1: cannot read the header: "
                                  "unexpected 'b'",
                                0)
        == 0);
}

// -- writer -------------------------------------------------------------------

TEST_CASE("the CSV writer takes its columns from the first record", "[io][csv]") {
  csv_writer w;
  std::string out;
  REQUIRE(w.write(json{{"a", 1}, {"b", "x"}}, out));
  REQUIRE(w.write(json{{"b", "y"}}, out));
  w.finish(out);
  CHECK(out == "a,b\n1,x\n,y\n");
}

TEST_CASE("the CSV writer quotes what needs quoting", "[io][csv]") {
  csv_writer w{',', {"s", "n", "f", "b", "z", "o"}};
  std::string out;
  REQUIRE(w.write(json{{"s", "a,b"}, {"n", 7}, {"f", 2.5}, {"b", true}, {"z", nullptr},
                       {"o", json{{"k", "v"}}}},
                  out));
  REQUIRE(w.write(json{{"s", "say \"hi\""}, {"n", -1}, {"o", json::array({1, 2})}}, out));
  REQUIRE(w.write(json{{"s", "two\nlines"}}, out));
  REQUIRE(w.write(json{{"s", "cr\r"}}, out));
  CHECK(out
        == "s,n,f,b,z,o\n"
           "\"a,b\",7,2.5,true,,\"{\"\"k\"\":\"\"v\"\"}\"\n"
           "\"say \"\"hi\"\"\",-1,,,,\"[1,2]\"\n"
           "\"two\nlines\",,,,,\n"
           "\"cr\r\",,,,,\n");
}

TEST_CASE("the CSV writer quotes strings that would read back as another type",
          "[io][csv]") {
  csv_writer w{',', {"v"}};
  std::string out;
  for (auto v : {json("42"), json("true"), json(""), json("-0.5"), json("007"), json("x")})
    REQUIRE(w.write(json{{"v", v}}, out));
  CHECK(out == "v\n\"42\"\n\"true\"\n\"\"\n\"-0.5\"\n007\nx\n");
}

TEST_CASE("a one-column CSV row with nothing in it is not written as a blank line",
          "[io][csv]") {
  csv_writer w{',', {"v"}};
  std::string out;
  REQUIRE(w.write(json{{"v", nullptr}}, out));
  REQUIRE(w.write(json::object(), out));
  CHECK(out == "v\n\"\"\n\"\"\n");
}

TEST_CASE("the CSV writer refuses a record with a key that is not a column", "[io][csv]") {
  csv_writer w;
  std::string out;
  REQUIRE(w.write(json{{"a", 1}}, out));
  auto bad = w.write(json{{"a", 2}, {"extra", 3}}, out);
  REQUIRE_FALSE(bad);
  CHECK(bad.err().code == errc::schema_violation);
  CHECK(bad.err().message
        == "field 'extra' is not a column of this CSV output (columns: a, fixed by the first"
           " record); add it to 'columns' or drop it before the sink");
  CHECK(out == "a\n1\n");
}

TEST_CASE("the CSV writer uses the given delimiter", "[io][csv]") {
  csv_writer w{';', {"a", "b"}};
  std::string out;
  REQUIRE(w.write(json{{"a", "x;y"}, {"b", "p,q"}}, out));
  CHECK(out == "a;b\n\"x;y\";p,q\n");
}

TEST_CASE("an empty CSV output still has its header when the columns are given",
          "[io][csv]") {
  csv_writer given{',', {"a", "b"}};
  std::string out;
  given.finish(out);
  CHECK(out == "a,b\n");
  csv_writer unknown;
  std::string none;
  unknown.finish(none);
  CHECK(none.empty());
}

TEST_CASE("continuing a CSV file keeps its columns and writes no header", "[io][csv]") {
  csv_writer w;
  REQUIRE(w.continue_file({"b", "a"}, "out.csv"));
  std::string out;
  REQUIRE(w.write(json{{"a", 1}, {"b", 2}}, out));
  CHECK(out == "2,1\n");
  csv_writer given{',', {"a", "c"}};
  auto bad = given.continue_file({"a", "b"}, "out.csv");
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message
        == "'out.csv' already has the columns (a, b) but 'columns' lists (a, c); appending"
           " needs the same columns, in the same order");
}

TEST_CASE("what the CSV writer writes, the splitter reads back with the same values",
          "[io][csv]") {
  csv_writer w{',', {"s", "n", "e", "t", "o"}};
  std::string out;
  json in = {{"s", "a \"b\",\nc"}, {"n", 12}, {"e", ""}, {"t", "true"}, {"o", nullptr}};
  REQUIRE(w.write(in, out));
  auto rows = split(out);
  REQUIRE(rows.size() == 2);
  json back = json::object();
  auto& csv_row = rows[1];
  for (size_t i = 0; i < csv_row.fields.size(); ++i)
    back[rows[0].fields[i]] = csv_value(std::string(csv_row.fields[i]), csv_row.quoted[i]);
  CHECK(back == in);
}
