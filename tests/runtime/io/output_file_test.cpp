#include <catch2/catch.hpp>

#include <string>

#include <unistd.h>

#include "io/output_file.hpp"
#include "runtime/io/temp_dir.hpp"

using namespace sluice;
using mode = output_file::mode;

namespace {

std::string temp_name(const std::string& name) {
  return name + ".tmp-" + std::to_string(::getpid());
}

} // namespace

TEST_CASE("a staged output appears under its name only on commit", "[io][output]") {
  test::temp_dir dir;
  output_file f{dir / "out/x.jsonl", mode::overwrite, false};
  CHECK(f.target() == dir / ("out/" + temp_name("x.jsonl")));
  REQUIRE(f.write("ab", 2));
  REQUIRE(f.write("cd\n", 3));
  CHECK_FALSE(dir.exists("out/x.jsonl"));
  CHECK(dir.read("out/" + temp_name("x.jsonl")) == "abcd\n");
  REQUIRE(f.commit());
  CHECK(dir.read("out/x.jsonl") == "abcd\n");
  CHECK(dir.listing() == "out");
  CHECK_FALSE(dir.exists("out/" + temp_name("x.jsonl")));
}

TEST_CASE("a staged overwrite replaces the old file", "[io][output]") {
  test::temp_dir dir;
  dir.write("x.jsonl", "old\n");
  output_file f{dir / "x.jsonl", mode::overwrite, false};
  REQUIRE(f.write("new\n", 4));
  CHECK(dir.read("x.jsonl") == "old\n");
  REQUIRE(f.commit());
  CHECK(dir.read("x.jsonl") == "new\n");
}

TEST_CASE("an empty staged output still makes an empty file", "[io][output]") {
  test::temp_dir dir;
  output_file f{dir / "x.jsonl", mode::overwrite, false};
  REQUIRE(f.commit());
  CHECK(dir.exists("x.jsonl"));
  CHECK(dir.read("x.jsonl").empty());
}

TEST_CASE("abort leaves neither the file nor its temporary", "[io][output]") {
  test::temp_dir dir;
  {
    output_file f{dir / "x.jsonl", mode::overwrite, false};
    REQUIRE(f.write("abc", 3));
    f.abort();
    CHECK(dir.listing().empty());
  }
  {
    // Destroyed without commit: the same.
    output_file f{dir / "y.jsonl", mode::overwrite, false};
    REQUIRE(f.write("abc", 3));
  }
  CHECK(dir.listing().empty());
  {
    // An old file is left as it was.
    dir.write("z.jsonl", "keep\n");
    output_file f{dir / "z.jsonl", mode::overwrite, false};
    REQUIRE(f.write("abc", 3));
    f.abort();
    CHECK(dir.read("z.jsonl") == "keep\n");
  }
  CHECK(dir.listing() == "z.jsonl");
}

TEST_CASE("a staged append adds to the end of the file on commit", "[io][output]") {
  test::temp_dir dir;
  dir.write("x.jsonl", "1\n");
  output_file f{dir / "x.jsonl", mode::append, false};
  REQUIRE(f.write("2\n", 2));
  CHECK(dir.read("x.jsonl") == "1\n");
  REQUIRE(f.commit());
  CHECK(dir.read("x.jsonl") == "1\n2\n");
  CHECK(dir.listing() == "x.jsonl");

  output_file g{dir / "new.jsonl", mode::append, false};
  REQUIRE(g.write("a\n", 2));
  REQUIRE(g.commit());
  CHECK(dir.read("new.jsonl") == "a\n");
}

TEST_CASE("an in-place output writes straight to its file", "[io][output]") {
  test::temp_dir dir;
  dir.write("x.jsonl", "old\n");
  output_file f{dir / "x.jsonl", mode::overwrite, true};
  CHECK(f.target() == dir / "x.jsonl");
  REQUIRE(f.write("a\n", 2));
  CHECK(dir.read("x.jsonl") == "a\n");
  f.abort();
  CHECK(dir.read("x.jsonl") == "a\n");

  output_file g{dir / "x.jsonl", mode::append, true};
  REQUIRE(g.write("b\n", 2));
  CHECK(dir.read("x.jsonl") == "a\nb\n");
  REQUIRE(g.commit());
  CHECK(dir.listing() == "x.jsonl");
}

TEST_CASE("an output that cannot be created is an io_error naming it", "[io][output]") {
  test::temp_dir dir;
  dir.write("blocker", "a file where a directory should be\n");
  output_file f{dir / "blocker/x.jsonl", mode::overwrite, true};
  auto st = f.write("a", 1);
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::io_error);
  CHECK(st.err().message.rfind("cannot create the directory '" + (dir / "blocker") + "': ", 0)
        == 0);
}

TEST_CASE("commit and abort happen once", "[io][output]") {
  test::temp_dir dir;
  output_file f{dir / "x.jsonl", mode::overwrite, false};
  REQUIRE(f.commit());
  auto again = f.commit();
  REQUIRE_FALSE(again);
  CHECK(again.err().message == "'" + (dir / "x.jsonl") + "' was already committed or aborted");
  f.abort();
  CHECK(dir.exists("x.jsonl"));
}
