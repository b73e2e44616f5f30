#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "expr/expression.hpp"
#include "ops/operator.hpp"
#include "ops/registry.hpp"

namespace sluice {

/// The checked params of a `dedupe` stage. `parse` reports every problem
/// through the reader and returns nullopt if there was any.
struct dedupe_config {
  expr::expression key;
  std::optional<uint64_t> window_count; ///< keep the last N distinct keys
  std::optional<int64_t> window_ms;     ///< a key blocks repeats for N ms
  uint64_t max_keys = 1'000'000;        ///< hard bound on keys held

  static std::optional<dedupe_config> parse(params_reader& p);
};

/// `dedupe`: passes the first record of each key and filters the repeats
/// seen within the window. Memory is bounded by the configuration (window
/// count, max_keys), never by the input: when the bound is reached the
/// oldest key is forgotten, and a later record with it passes again.
///
/// Keys are remembered in first-pass order (FIFO): a repeat does not renew
/// its key. A time window counts from the record that passed, using the
/// injected clock (microseconds since the epoch; tests pass a fake one).
class dedupe_op final : public op {
public:
  explicit dedupe_op(dedupe_config cfg, std::function<int64_t()> clock = now_us);

  void process(record&& rec, emitter& out) override;

  /// Keys currently remembered (for tests and metrics).
  size_t size() const noexcept { return order_.size(); }

private:
  struct entry {
    std::string key;
    int64_t passed_us;
  };

  void expire(int64_t now);

  dedupe_config cfg_;
  std::function<int64_t()> clock_;
  uint64_t capacity_;
  int64_t last_now_ = INT64_MIN;
  std::list<entry> order_; // oldest first; owns the key text
  std::unordered_map<std::string_view, std::list<entry>::iterator> index_;
};

/// The `dedupe` stage kind.
stage_kind describe_dedupe();

} // namespace sluice
