#pragma once

#include <string>
#include <vector>

#include "core/record.hpp"

namespace sluice {

/// The names a lineage trail refers to by index: stage ids and, per source,
/// its files. Built once by the loader (`stage_spec::names`, shared by every
/// stage of a plan) and only read afterwards, from any thread. Rendering a
/// trail for people (dead letters, `include_lineage`, `lineage.*` in
/// expressions) goes through it, so they all name things the same way.
struct trail_names {
  std::vector<std::string> stages;                    ///< ids, by stage index
  std::vector<std::vector<std::string>> source_files; ///< per stage: file names by file index
  std::vector<bool> generated; ///< per stage: a source that reads no file (a generator)

  /// The id of stage `i`, or its number if the table does not know it.
  std::string stage(stage_index i) const;

  /// The input file a record came from ("data/orders.csv"); "" for stdin,
  /// generators and records an aggregate built.
  std::string file(const source_position& o) const;

  /// "data/orders.csv:12", or "<stage id>:<n>" when the origin has no file
  /// name (an aggregate's n-th output).
  std::string origin_text(const source_position& o) const;

  /// The stage ids of the trail's hops, in order.
  std::vector<std::string> path(const lineage_trail& t) const;

  /// The `_lineage` object sinks write with `include_lineage` (docs/stages.md):
  /// {"source", "origin", "file", "line", "path", "hops": [{"stage", "at"}]}.
  json to_json(const lineage_trail& t) const;
};

/// "2026-11-22T03:04:05.123456Z" for microseconds since the epoch.
std::string iso_time_us(int64_t us);

} // namespace sluice
