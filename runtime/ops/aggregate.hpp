#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/aggregate_functions.hpp"
#include "ops/operator.hpp"
#include "ops/registry.hpp"

namespace sluice {

/// One `group_by` entry: the output field it fills and its expression.
struct group_key {
  std::string name;
  expr::expression value;
};

/// The checked params of an `aggregate` stage (plus the stage's id and
/// index, which name its output records). `parse` reports every problem
/// through the reader and returns nullopt if there was any.
struct aggregate_config {
  std::string stage_id;
  stage_index index = 0;
  std::vector<group_key> group_by;
  std::vector<aggregate_spec> aggregates;
  std::optional<uint64_t> tumbling_count; ///< close after N folded records
  std::optional<int64_t> tumbling_ms;     ///< epoch-aligned processing-time windows
  uint64_t max_groups = 1'000'000;        ///< per window; more is a record error

  static std::optional<aggregate_config> parse(const stage_spec& spec, params_reader& p);
};

/// `aggregate`: folds records into groups and emits one record per group:
/// at the end of the input, or per tumbling window (every N records, or every
/// N ms of processing time). Groups come out in first-seen order.
///
/// `process` only folds (discard as folded) or fails a record; windows that
/// close are emitted from `end_batch`, `tick` and `finish`, so the stage
/// actor's per-record accounting is never mixed with new records. The clock
/// (microseconds since the epoch) is injected so tests drive time.
class aggregate_op final : public op {
public:
  explicit aggregate_op(aggregate_config cfg, std::function<int64_t()> clock = now_us);

  void process(record&& rec, emitter& out) override;
  void end_batch(emitter& out) override;
  int64_t tick_interval_us() const override;
  void tick(int64_t now, emitter& out) override;
  void finish(emitter& out) override;

  /// Groups in the open window (for tests and metrics).
  size_t group_count() const noexcept { return groups_.size(); }

private:
  struct group {
    json keys; ///< the group_by values, an array
    std::vector<accumulator> accs;
  };

  int64_t window_of(int64_t now) const;
  void close_window();
  void flush(emitter& out);

  aggregate_config cfg_;
  std::function<int64_t()> clock_;
  std::vector<group> groups_; ///< first-seen order
  std::unordered_map<std::string, size_t> index_; ///< canonical keys -> groups_
  uint64_t window_records_ = 0;
  int64_t window_start_ms_ = 0;
  std::vector<json> ready_;   ///< closed windows' output, not emitted yet
  uint64_t emitted_ = 0;
  uint64_t assigned_ = 0;     ///< outputs of closed windows (ready or emitted)
  std::vector<json> values_;  ///< per-record scratch: each aggregate's argument
};

/// The `aggregate` stage kind.
stage_kind describe_aggregate();

} // namespace sluice
