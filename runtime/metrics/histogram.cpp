#include "metrics/histogram.hpp"

namespace sluice {

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (size_t i = 0; i < bucket_count; ++i)
    buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_us_ += other.sum_us_;
}

latency_histogram latency_histogram::since(const latency_histogram& earlier) const noexcept {
  latency_histogram d;
  for (size_t i = 0; i < bucket_count; ++i) {
    d.buckets_[i] = buckets_[i] >= earlier.buckets_[i] ? buckets_[i] - earlier.buckets_[i] : 0;
    d.count_ += d.buckets_[i];
  }
  d.sum_us_ = sum_us_ >= earlier.sum_us_ ? sum_us_ - earlier.sum_us_ : 0;
  return d;
}

double latency_histogram::quantile_us(double q) const noexcept {
  if (count_ == 0)
    return 0;
  if (q <= 0)
    q = 0;
  if (q > 1)
    q = 1;
  double rank = q * static_cast<double>(count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < bucket_count; ++i) {
    if (buckets_[i] == 0)
      continue;
    if (static_cast<double>(seen + buckets_[i]) >= rank) {
      if (i == bounds_us.size())
        return static_cast<double>(bounds_us.back());
      double lower = i == 0 ? 0.0 : static_cast<double>(bounds_us[i - 1]);
      double upper = static_cast<double>(bounds_us[i]);
      double within = (rank - static_cast<double>(seen)) / static_cast<double>(buckets_[i]);
      return lower + (upper - lower) * within;
    }
    seen += buckets_[i];
  }
  return static_cast<double>(bounds_us.back());
}

void latency_histogram::assign(const std::array<uint64_t, bucket_count>& buckets,
                               uint64_t sum_us) noexcept {
  buckets_ = buckets;
  count_ = 0;
  for (auto b : buckets_)
    count_ += b;
  sum_us_ = sum_us;
}

} // namespace sluice
