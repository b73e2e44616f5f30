#pragma once

// Per-record provenance (docs/lineage.md): what the lineage recorder
// receives from every stage replica, one batch of events per data batch,
// and what the store (runtime/lineage/store.hpp) keeps.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.hpp"

namespace sluice {

/// What a stage did to a record.
enum class lineage_outcome : uint8_t {
  read = 1,       ///< a source stage decoded it from its input (file and line in the key)
  passed,         ///< went on unchanged (filter kept it, validate accepted it)
  changed,        ///< went on changed; `detail` lists the fields ("set amount_cents, rename user->customer")
  filtered,       ///< discarded on purpose (filter, dedupe repeat, route without match)
  routed,         ///< a route sent it on; `detail` names the route(s), comma-separated
  folded,         ///< absorbed into an aggregate's state; `detail` is the id of the output record it went into
  derived,        ///< a record made by the stage (an aggregate's output); its parents are the records folded into it
  written,        ///< a sink wrote it
  dead_lettered,  ///< sent to the dead-letter file; `detail` is "class: message"
  failed,         ///< failed the run (`on_error: fail`); `detail` as above
  dropped,        ///< dropped by `on_error: drop`; `detail` as above
  retried,        ///< an attempt failed transiently and will be retried; `detail` as above
};

const char* to_string(lineage_outcome o);
std::optional<lineage_outcome> lineage_outcome_from_string(std::string_view name);

/// Identifies one record within a run, whatever its `id` says (ids from the
/// data may repeat): where it entered the pipeline. For a source record,
/// the source stage, the file index in that source's file list and the
/// line; for a derived record, the deriving stage, its replica as `file`,
/// and the replica's output number as `line`.
struct lineage_key {
  stage_index source = 0;
  uint32_t file = 0;
  uint64_t line = 0;

  static lineage_key of(const record& rec) {
    auto& o = rec.trail().origin;
    return lineage_key{o.source, o.file, o.line};
  }
  bool operator==(const lineage_key& o) const {
    return source == o.source && file == o.file && line == o.line;
  }
};

/// One event: record `key` (id `record_id`) at stage `stage`, replica
/// `replica`, at `time_us`, with `outcome`. `attempt` numbers retried
/// events (1, 2, ...; 0 for every other outcome). The store keeps one
/// event per (run, key, stage, outcome, attempt): an event delivered again
/// after a restart is not stored twice.
struct lineage_event {
  lineage_key key;
  std::string record_id;
  stage_index stage = 0;
  uint32_t replica = 0;
  int64_t time_us = 0;
  lineage_outcome outcome = lineage_outcome::passed;
  uint32_t attempt = 0;
  std::string detail;
};

/// Sampled mode: whether a record is traced, decided by a hash of its key
/// (not by chance), so every stage traces the same records end to end.
/// `rate` in (0, 1]; 1 traces everything. Derived records are traced when
/// the stage that makes them is (their parents are traced where sampled).
bool lineage_sampled(const lineage_key& key, double rate);

/// lineage_sampled for one rate, asked once per record per stage: the rate
/// becomes an integer threshold once, and the key one 64-bit hash
/// (splitmix64's finaliser), a few instructions inline.
class lineage_sampler {
public:
  explicit lineage_sampler(double rate = 1.0);
  bool all() const { return all_; }
  bool operator()(const lineage_key& k) const {
    if (all_)
      return true;
    uint64_t x = ((uint64_t{k.source} << 32 | k.file) * 0x9e3779b97f4a7c15ULL) ^ k.line;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x < threshold_;
  }

private:
  bool all_ = true;
  uint64_t threshold_ = 0; ///< traced when the hash is below: rate x 2^64
};

} // namespace sluice
