#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/diagnostic.hpp"
#include "core/record.hpp"

namespace sluice {

/// Fault injection for one stage replica (`chaos` on any non-source stage, or
/// the `chaos` stage kind). Plain settings; chaos_monkey makes the decisions
/// and the stage host applies them. The record fractions are exclusive (one
/// roll per record decides among them) and add up to at most 1; so do the
/// batch fractions.
struct chaos_settings {
  uint64_t seed = 1;
  double crash_batches = 0;     ///< fraction of input batches on which the replica's actor dies before processing the batch
  double throw_records = 0;     ///< fraction of records on which the operator throws (the actor dies mid-batch)
  double fail_records = 0;      ///< fraction of records that fail with a transient error (class transient)
  double fail_batches = 0;      ///< fraction of batches that fail as a whole with a transient error (batch-level retry)
  double permanent_records = 0; ///< fraction of records failing with a permanent error (class runtime_error)
  uint32_t latency_ms = 0;      ///< added before each batch (the host uses a timer, never a sleep)
  uint32_t transient_for_ms = 0; ///< every record fails transiently from the first record for this long (an outage)

  /// Some effect is configured (the seed alone is none).
  bool any() const noexcept;
};

/// Reads chaos settings from the JSON object `obj` found at `json_path` (the
/// stage-level `chaos` key, or a `chaos` stage's `params`) into `out`. Every
/// problem goes to `diags` with its JSON path: an unknown key (with "did you
/// mean"), a wrong type, a value out of range, fractions adding up to more
/// than 1. `what` names the object in the unknown-key message ("chaos",
/// "stage type 'chaos'"). Returns false if it reported anything; `out` then
/// holds the keys that were valid.
bool read_chaos_settings(const nlohmann::json& obj, const std::string& json_path,
                         const std::string& what, diagnostics& diags, chaos_settings& out);

/// "Did you mean" for a misspelt key of a settings object (`chaos`, `retry`,
/// ...): closest_name's pick, or else the one known key that `word` begins
/// ("latency" -> "latency_ms"); "" if neither.
std::string closest_key(const std::string& word, const std::vector<std::string>& known);

/// The seeded decisions for one stage replica. The host keeps it across
/// restarts of the replica's actor (in the replica's cell), so a redelivered
/// batch gets a fresh roll. Seeded from seed, stage and replica: the same
/// config gives the same faults, and replicas of a stage differ.
///
/// Fault rolls (on_batch, on_record) and uniform() draw from two separate
/// streams, so backoff jitter does not shift which records fail. Neither
/// draws when nothing it decides is configured. The generator is specified
/// here (splitmix64), not taken from <random>, so the faults of a seed are
/// the same on every platform.
class chaos_monkey {
public:
  chaos_monkey(const chaos_settings& s, stage_index stage, uint32_t replica);

  enum class batch_fate : uint8_t { none, crash, fail };
  enum class record_fate : uint8_t { none, throw_exception, fail_transient, fail_permanent };

  /// Called once per input batch (each delivery, redeliveries included),
  /// before its first record: crash with crash_batches, else fail with
  /// fail_batches.
  batch_fate on_batch();

  /// Called once per record before the operator sees it. Within
  /// transient_for_ms of the first call: fail_transient. Otherwise one roll:
  /// throw_exception, fail_transient or fail_permanent with their fractions.
  record_fate on_record(int64_t now_us);

  const chaos_settings& settings() const noexcept;

  /// Next u in [0,1): the host also uses it for backoff jitter.
  double uniform();

private:
  chaos_settings settings_;
  uint64_t faults_;  ///< splitmix64 state of the fault rolls
  uint64_t jitter_;  ///< splitmix64 state of uniform()
  int64_t first_record_us_ = 0;
  bool seen_record_ = false;
};

/// Thrown by the host when chaos says throw_exception / crash (so the
/// exception's text says it was injected).
struct chaos_exception : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace sluice
