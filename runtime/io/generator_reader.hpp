#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "io/source_reader.hpp"

namespace sluice {

/// Synthetic order-like records for demos and benchmarks (`source.generate`).
/// Deterministic: record n depends only on the seed and n, so two runs with
/// the same params produce the same records. Produces JSON-lines text, which
/// the stage's decode replicas parse like a file's lines (so a benchmark on
/// generated data pays the same parsing cost as one on a file).
///
/// Record n: {"id":"g<n>","ts":<1700000000000 + 10n>,"user":"user_<k>",
/// "amount":<0.00..199.99 or a whole number>,"category":<one of 6>,
/// "tags":[...],"note":"..."}.
class generator_reader final : public source_reader {
public:
  /// `count`: how many (nullopt: until stopped); `rate`: records per second
  /// at most (nullopt: as fast as the pipeline takes them).
  generator_reader(stage_index source, std::optional<uint64_t> count,
                   std::optional<double> rate, uint64_t seed);

  status open() override;
  result<state> read(std::vector<record>& out, size_t max, int64_t max_wait_us) override;
  uint64_t bytes_read() const override { return bytes_; }
  uint64_t bytes_total() const override { return 0; }
  bool bounded() const override { return count_.has_value(); }
  std::string file_name(uint32_t) const override { return "generate"; }

  /// The text of record n (for tests and docs).
  static std::string line(uint64_t seed, uint64_t n);

private:
  stage_index source_;
  std::optional<uint64_t> count_;
  std::optional<double> rate_;
  uint64_t seed_;
  uint64_t next_ = 0;
  uint64_t bytes_ = 0;
  std::chrono::steady_clock::time_point start_;
};

} // namespace sluice
