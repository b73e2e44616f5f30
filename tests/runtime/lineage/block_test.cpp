#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "lineage/block.hpp"

using namespace sluice;

namespace {

lineage_event ev(stage_index src, uint32_t file, uint64_t line, std::string id, stage_index stage,
                 lineage_outcome o, int64_t t, std::string detail = {}, uint32_t attempt = 0) {
  lineage_event e;
  e.key = lineage_key{src, file, line};
  e.record_id = std::move(id);
  e.stage = stage;
  e.replica = 1;
  e.time_us = t;
  e.outcome = o;
  e.attempt = attempt;
  e.detail = std::move(detail);
  return e;
}

std::vector<const lineage_event*> ptrs(const std::vector<lineage_event>& v) {
  std::vector<const lineage_event*> out;
  for (auto& e : v)
    out.push_back(&e);
  return out;
}

} // namespace

TEST_CASE("a block gives back its events, with ids only where records begin", "[lineage][block]") {
  using o = lineage_outcome;
  constexpr int64_t t0 = 1'796'529'600'000'000;
  // Stage 2 (a map) saw records of source 0 (two files) and one derived
  // record of stage 2 itself.
  std::vector<lineage_event> in{
    ev(0, 0, 7, "a-7", 2, o::changed, t0 + 5, "set x"),
    ev(0, 0, 8, "a-8", 2, o::changed, t0 + 5, "set x"),
    ev(0, 1, 3, "b-3", 2, o::dead_lettered, t0 + 9, "type_error: no"),
    ev(0, 0, 5000, "a-5000", 2, o::retried, t0, "transient: busy", 3),
    ev(2, 1, 1, "out:1", 2, o::derived, t0 + 100),
    ev(0, 0, 2, "", 2, o::passed, t0 - 50), // earlier than the rest, and a smaller line
  };
  auto block = lineage_block::encode(2, ptrs(in));
  CHECK(block.events == 6);
  CHECK(block.first_us == t0 - 50);
  CHECK(block.last_us == t0 + 100);
  CHECK(block.outcomes == ((1u << 3) | (1u << 9) | (1u << 12) | (1u << 7) | (1u << 2)));
  // Buckets of 4096 lines: lines 7, 8, 2 and 5000 of file 0, 3 of file 1, output 1.
  std::vector<lineage_block::bucket> buckets{{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {2, 1, 0}};
  CHECK(block.buckets == buckets);

  auto out = lineage_block::decode(block.data, 2, 1);
  REQUIRE(out);
  REQUIRE(out->size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO(i);
    auto& a = in[i];
    auto& b = (*out)[i];
    CHECK(b.key == a.key);
    CHECK(b.stage == 2);
    CHECK(b.replica == 1);
    CHECK(b.time_us == a.time_us);
    CHECK(b.outcome == a.outcome);
    CHECK(b.attempt == a.attempt);
    CHECK(b.detail == a.detail);
    // The derived record began here; the others began at source 0.
    CHECK(b.record_id == (a.key.source == 2 ? a.record_id : std::string{}));
  }
  CHECK(lineage_block::may_name(block.ids, "out:1"));
  CHECK_FALSE(lineage_block::may_name(block.ids, ""));
}

TEST_CASE("a stage's events on consecutive lines take three bytes each", "[lineage][block]") {
  std::vector<lineage_event> in;
  for (uint64_t line = 1; line <= 1000; ++line)
    in.push_back(ev(0, 0, line, "r" + std::to_string(line), 1, lineage_outcome::passed, 10 + line / 500));
  auto block = lineage_block::encode(1, ptrs(in));
  // flags, line difference, time difference; ids are not kept outside the
  // origin stage, so there is no filter either.
  CHECK(block.data.size() <= 1000 * 3 + 16);
  CHECK(block.ids.empty());
}

TEST_CASE("a block's id filter never misses an id it holds, and rarely claims others", "[lineage][block]") {
  std::vector<lineage_event> in;
  for (uint64_t line = 1; line <= 2000; ++line)
    in.push_back(ev(0, 0, line, "r" + std::to_string(line), 0, lineage_outcome::read, 10));
  auto block = lineage_block::encode(0, ptrs(in));
  REQUIRE(!block.ids.empty());
  for (uint64_t line = 1; line <= 2000; ++line)
    REQUIRE(lineage_block::may_name(block.ids, "r" + std::to_string(line)));
  size_t false_positives = 0;
  for (uint64_t n = 0; n < 20000; ++n)
    false_positives += lineage_block::may_name(block.ids, "x" + std::to_string(n)) ? 1 : 0;
  CHECK(false_positives < 20000 * 3 / 100); // ~1% by design
  CHECK_FALSE(lineage_block::may_name("", "r1"));
}

TEST_CASE("damaged block data never crashes the reader, and broken structure is an error", "[lineage][block]") {
  std::vector<lineage_event> in{ev(0, 0, 1, "r1", 0, lineage_outcome::read, 10),
                                ev(0, 0, 2, "r2", 0, lineage_outcome::read, 11, "detail")};
  auto block = lineage_block::encode(0, ptrs(in));
  // Every truncation is refused.
  for (size_t n = 0; n < block.data.size(); ++n) {
    INFO(n);
    auto cut = lineage_block::decode(std::string_view{block.data}.substr(0, n), 0, 0);
    CHECK_FALSE(cut);
  }
  auto extra = lineage_block::decode(block.data + "x", 0, 0);
  REQUIRE_FALSE(extra);
  CHECK_THAT(extra.err().message, Catch::Contains("damaged"));
  auto future = block.data;
  future[0] = 9;
  auto v9 = lineage_block::decode(future, 0, 0);
  REQUIRE_FALSE(v9);
  CHECK_THAT(v9.err().message, Catch::Contains("format 9"));
  // No byte flip makes decode read out of bounds (ASan would tell) or throw.
  // (A flip inside a number decodes to a different number: blocks carry no
  // checksum; damage to the file is SQLite's to detect.)
  for (size_t i = 1; i < block.data.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      auto flipped = block.data;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      CHECK_NOTHROW(lineage_block::decode(flipped, 0, 0));
    }
  CHECK(lineage_block::encode(0, {}).data.empty());
}
