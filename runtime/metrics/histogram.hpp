#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice {

/// A latency histogram with fixed bucket bounds, cheap enough to observe on
/// the data path (a few compares and two adds, no allocation, no lock: each
/// histogram belongs to one actor). Bounds are in microseconds and the same
/// for every histogram, so histograms merge (replicas into a stage) and
/// subtract (the last window from two cumulative samples) bucket by bucket.
/// Rendered as a Prometheus histogram in seconds (runtime/metrics/prometheus).
class latency_histogram {
public:
  /// Upper bounds (inclusive, microseconds) of the finite buckets; one more
  /// bucket above the last bound takes everything larger (+Inf).
  static constexpr std::array<uint64_t, 18> bounds_us = {
    50,     100,     250,     500,     1'000,     2'500,     5'000,     10'000,     25'000,
    50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000};
  static constexpr size_t bucket_count = bounds_us.size() + 1;

  void observe(uint64_t us) noexcept {
    size_t i = 0;
    while (i < bounds_us.size() && us > bounds_us[i])
      ++i;
    ++buckets_[i];
    ++count_;
    sum_us_ += us;
  }

  /// Adds n observations of the same value (a sink observing a batch of
  /// records that share one read time).
  void observe(uint64_t us, uint64_t n) noexcept {
    size_t i = 0;
    while (i < bounds_us.size() && us > bounds_us[i])
      ++i;
    buckets_[i] += n;
    count_ += n;
    sum_us_ += us * n;
  }

  void merge(const latency_histogram& other) noexcept;

  /// This histogram minus an earlier sample of the same one: what was
  /// observed in between. Buckets that went down (a reset) count as 0.
  latency_histogram since(const latency_histogram& earlier) const noexcept;

  /// The q-quantile (0 < q <= 1) in microseconds, interpolated linearly
  /// within its bucket (as Prometheus' histogram_quantile does); 0 when
  /// empty. In the +Inf bucket it answers the last finite bound.
  double quantile_us(double q) const noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t sum_us() const noexcept { return sum_us_; }
  /// Per-bucket (not cumulative) counts; the last is the +Inf bucket.
  const std::array<uint64_t, bucket_count>& buckets() const noexcept { return buckets_; }

  /// For deserialisation (messages, JSON): sets everything at once.
  void assign(const std::array<uint64_t, bucket_count>& buckets, uint64_t sum_us) noexcept;

  bool operator==(const latency_histogram& o) const noexcept {
    return buckets_ == o.buckets_ && count_ == o.count_ && sum_us_ == o.sum_us_;
  }

private:
  std::array<uint64_t, bucket_count> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_us_ = 0;
};

} // namespace sluice
