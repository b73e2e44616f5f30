// The latency histogram (runtime/metrics/histogram.*): bucket bounds,
// quantiles interpolated within a bucket, merging replicas and the
// difference of two samples.

#include <catch2/catch.hpp>

#include "metrics/histogram.hpp"
#include "runtime/metrics/sample_snapshot.hpp"

using namespace sluice;
using test::histogram_of;

namespace {

constexpr size_t inf_bucket = latency_histogram::bucket_count - 1;

} // namespace

TEST_CASE("a bound is inclusive: an observation equal to it lands in its bucket",
          "[metrics][histogram]") {
  latency_histogram h;
  h.observe(0);
  h.observe(50);
  h.observe(51);
  h.observe(30'000'000);
  h.observe(30'000'001);
  CHECK(h.buckets()[0] == 2);
  CHECK(h.buckets()[1] == 1);
  CHECK(h.buckets()[inf_bucket - 1] == 1);
  CHECK(h.buckets()[inf_bucket] == 1);
  CHECK(h.count() == 5);
  CHECK(h.sum_us() == 0 + 50 + 51 + 30'000'000 + 30'000'001);
}

TEST_CASE("observing n records at once equals observing each", "[metrics][histogram]") {
  latency_histogram one_by_one;
  for (int i = 0; i < 7; ++i)
    one_by_one.observe(3'000);
  latency_histogram at_once;
  at_once.observe(3'000, 7);
  CHECK(at_once == one_by_one);
  CHECK(at_once.count() == 7);
  CHECK(at_once.sum_us() == 21'000);
}

TEST_CASE("a quantile is interpolated linearly within its bucket", "[metrics][histogram]") {
  auto h = histogram_of({{100, 10}}); // all in (50, 100]
  CHECK(h.quantile_us(0.5) == Approx(75));
  CHECK(h.quantile_us(1.0) == Approx(100));
  CHECK(h.quantile_us(0.1) == Approx(55));

  auto two = histogram_of({{10, 2}, {80, 2}}); // 2 in [0, 50], 2 in (50, 100]
  CHECK(two.quantile_us(0.25) == Approx(25));
  CHECK(two.quantile_us(0.5) == Approx(50));
  CHECK(two.quantile_us(0.75) == Approx(75));
}

TEST_CASE("quantiles of an empty histogram are 0 and q is clamped to 0..1",
          "[metrics][histogram]") {
  latency_histogram empty;
  CHECK(empty.quantile_us(0.5) == 0);
  auto h = histogram_of({{100, 10}});
  CHECK(h.quantile_us(2.0) == h.quantile_us(1.0));
  CHECK(h.quantile_us(-1.0) == Approx(50)); // rank 0: the bottom of the first non-empty bucket
}

TEST_CASE("a quantile in the +Inf bucket answers the last finite bound", "[metrics][histogram]") {
  auto h = histogram_of({{60'000'000, 3}});
  CHECK(h.quantile_us(0.5) == Approx(30'000'000));
  CHECK(h.quantile_us(0.99) == Approx(30'000'000));
}

TEST_CASE("merging adds bucket by bucket", "[metrics][histogram]") {
  auto a = histogram_of({{10, 1}, {400, 2}});
  auto b = histogram_of({{400, 3}, {40'000'000, 1}});
  a.merge(b);
  CHECK(a.count() == 7);
  CHECK(a.sum_us() == 10 + 800 + 1'200 + 40'000'000);
  CHECK(a.buckets()[0] == 1);
  CHECK(a.buckets()[3] == 5);
  CHECK(a.buckets()[inf_bucket] == 1);
  CHECK(a == histogram_of({{10, 1}, {400, 5}, {40'000'000, 1}}));
}

TEST_CASE("since() is what was observed between two samples", "[metrics][histogram]") {
  auto earlier = histogram_of({{10, 2}, {400, 1}});
  auto later = earlier;
  later.observe(400, 4);
  later.observe(5'000);
  auto d = later.since(earlier);
  CHECK(d == histogram_of({{400, 4}, {5'000, 1}}));
  CHECK(d.count() == 5);
  CHECK(d.sum_us() == 6'600);
  CHECK(later.since(later) == latency_histogram{});
}

TEST_CASE("since() counts a bucket that went down (a reset) as 0", "[metrics][histogram]") {
  auto earlier = histogram_of({{10, 5}});
  auto after_reset = histogram_of({{10, 2}, {400, 3}});
  auto d = after_reset.since(earlier);
  CHECK(d.buckets()[0] == 0);
  CHECK(d.buckets()[3] == 3);
  CHECK(d.count() == 3);
  CHECK(d.sum_us() == 1'170); // the sum did not go down: 1220 - 50
}

TEST_CASE("assign() sets buckets and sum and recounts", "[metrics][histogram]") {
  std::array<uint64_t, latency_histogram::bucket_count> buckets{};
  buckets[2] = 4;
  buckets[inf_bucket] = 1;
  latency_histogram h;
  h.assign(buckets, 12'345);
  CHECK(h.count() == 5);
  CHECK(h.sum_us() == 12'345);
  CHECK(h.buckets() == buckets);
}
