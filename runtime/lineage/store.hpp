#pragma once

// The lineage store (docs/lineage.md): SQLite, one file per pipeline, WAL,
// events appended in blocks (runtime/lineage/block.hpp), one row per stage
// replica per append.
// Written by the lineage recorder actor (actors/lineage_recorder), read by
// `sluice lineage ...` (apps/sluice/cmd_lineage.cpp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "lineage/event.hpp"

namespace sluice {

/// What a run is, stored once when it begins: the names the events' indexes
/// refer to, and the dataset-level graph (input files -> stages -> outputs).
struct lineage_run_info {
  struct stage {
    stage_index index = 0;
    std::string id;
    std::string type;
    std::string role;                 ///< "source", "transform" or "sink"
    std::vector<std::string> ports;   ///< named output ports (route names); empty: one
    std::vector<std::string> files;   ///< sources: the input files, by file index
    std::string output;               ///< sinks writing a file: its path ("" otherwise)
  };
  struct edge {
    stage_index from = 0;
    std::string port;                 ///< "" for the main output
    stage_index to = 0;
  };
  std::string pipeline;
  std::string config_path;
  int64_t started_us = 0;
  std::string mode;                   ///< "full" or "sampled"
  double sample_rate = 1.0;
  std::vector<stage> stages;
  std::vector<edge> edges;
};

/// Which runs to delete when a run begins (`lineage.retention`); 0: no limit.
struct lineage_retention {
  uint32_t max_runs = 0;
  uint32_t max_age_days = 0;
};

class lineage_store {
public:
  virtual ~lineage_store() = default;

  /// Opens (creating the file and schema if needed) a store for writing.
  /// The error says which file and what to do.
  static result<std::unique_ptr<lineage_store>> open(const std::string& path);

  /// Registers a run; returns its number (1, 2, ... per store).
  virtual result<int64_t> begin_run(const lineage_run_info& info) = 0;

  /// Stores events of `run` in one transaction, as given: delivering a batch
  /// once is the caller's part (the recorder drops a replica's batch it
  /// already has, by its sequence number).
  virtual status append(int64_t run, const std::vector<const lineage_event*>& events) = 0;
  /// The same, for events held in one vector.
  status append(int64_t run, const std::vector<lineage_event>& events);

  /// The run's end: its status ("ok", "stopped", "failed") and time.
  virtual status end_run(int64_t run, const std::string& run_status, int64_t ended_us) = 0;

  /// Deletes runs (and their events) beyond the retention, never `keep`
  /// (the run that just began); returns how many runs went.
  virtual result<size_t> prune(const lineage_retention& r, int64_t now_us, int64_t keep) = 0;
};

} // namespace sluice
