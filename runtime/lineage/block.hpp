#pragma once

// The lineage store keeps events in blocks (docs/lineage.md, "The store"):
// one row per group of events of one stage replica, appended in one write,
// instead of one row per event. A block's `data` is the events in a compact
// binary form (this file); its row carries what queries select blocks by
// (stage, time range, outcomes, a Bloom filter of the record ids it names),
// and `block_keys` says which key buckets it touches. Decoding a block costs
// a few nanoseconds per event; writing a row per event cost microseconds.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "lineage/event.hpp"

namespace sluice::lineage_block {

/// Record keys are grouped in buckets of 4096 lines (or output numbers) per
/// (source, file): `block_keys` lists the buckets each block touches, so a
/// record's events are found by decoding the few blocks of its bucket.
constexpr unsigned bucket_bits = 12;
inline int64_t bucket_of(uint64_t line) {
  return static_cast<int64_t>(line >> bucket_bits);
}

/// One (source, file, bucket) a block touches.
struct bucket {
  stage_index source = 0;
  uint32_t file = 0;
  int64_t index = 0;
  bool operator<(const bucket& o) const {
    return source != o.source ? source < o.source
           : file != o.file   ? file < o.file
                              : index < o.index;
  }
  bool operator==(const bucket& o) const {
    return source == o.source && file == o.file && index == o.index;
  }
};

/// An encoded block and what its row says about it.
struct encoded {
  std::string data;             ///< the events (decode() reads it back)
  int64_t first_us = 0;         ///< earliest and latest event time
  int64_t last_us = 0;
  uint32_t outcomes = 0;        ///< bit (1 << outcome) for each outcome present
  size_t events = 0;
  std::vector<bucket> buckets;  ///< sorted, distinct
  std::string ids;              ///< Bloom filter of the record ids kept; empty: none
};

/// Encodes events of stage `stage` (all from one replica), in order. A
/// record's id is kept only in the events of its origin stage (the source
/// that read it, the aggregate that derived it: `key.source == stage`);
/// every record has at least one event there, and queries name the other
/// events' records through it. Details are stored once per block.
encoded encode(stage_index stage, const std::vector<const lineage_event*>& events);

/// The events of a block's `data`, with `stage` and `replica` from its row.
/// Ids are empty except in origin-stage events (see encode). An error when
/// the data is damaged.
result<std::vector<lineage_event>> decode(std::string_view data, stage_index stage,
                                          uint32_t replica);

/// Whether a block whose Bloom filter is `ids` may name `record_id` (false:
/// it certainly does not; true: decode it to see, ~1% false positives).
bool may_name(std::string_view ids, std::string_view record_id);

} // namespace sluice::lineage_block
