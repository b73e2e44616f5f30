#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/field_path.hpp"

namespace sluice {

using json = nlohmann::json;

/// Index of a stage in the pipeline's stage table (the order of `stages` in
/// the config). Both ends of an edge load the same config, so the index means
/// the same stage in every process.
using stage_index = uint16_t;

/// Where a record entered the pipeline: the source stage, the index of the
/// file in that source's file list (0 for stdin and generators), and the
/// 1-based line (or record number for CSV rows spanning lines: the line the
/// row starts on; for generators the sequence number).
struct source_position {
  stage_index source = 0;
  uint32_t file = 0;
  uint64_t line = 0;
};

/// One hop of a record through a stage, with the time (microseconds since
/// the epoch) at which the stage processed it.
struct lineage_hop {
  stage_index stage = 0;
  int64_t at_us = 0;
};

/// A compact lineage trail: where the record came from and the stages it
/// passed. Names are resolved through the pipeline's stage table when a
/// trail is rendered for people (dead letters, `include_lineage`).
struct lineage_trail {
  source_position origin;
  std::vector<lineage_hop> hops;
};

/// One record: an id, a JSON object as content, metadata and a lineage trail.
///
/// Operators reach the content only through the member functions below (get a
/// field by path, set, rename, drop, keep, serialise). That keeps the
/// representation private: a faster one (e.g. lazily parsed text that keeps
/// untouched fields raw) can replace nlohmann::json here without touching any
/// operator. Values handed in and out are `json` values.
///
/// Records are move-only in the data path by convention: batches are moved
/// between actors, and copying a record (fan-out to two stages) is explicit.
class record {
public:
  record() : content_(json::object()) {}
  record(std::string id, json content, lineage_trail trail)
    : id_(std::move(id)), content_(std::move(content)), trail_(std::move(trail)) {}

  // -- identity and provenance ------------------------------------------------

  const std::string& id() const noexcept { return id_; }
  void id(std::string value) { id_ = std::move(value); }

  const lineage_trail& trail() const noexcept { return trail_; }
  lineage_trail& trail() noexcept { return trail_; }

  /// Appends a hop; called by the stage actor, once per record per stage.
  void stamp(stage_index stage, int64_t at_us) {
    if (trail_.hops.capacity() == 0)
      trail_.hops.reserve(4); // one allocation for the usual pipeline depth
    trail_.hops.push_back(lineage_hop{stage, at_us});
  }

  /// Free-form metadata (null until set): e.g. the route a record took.
  const json& meta() const noexcept { return meta_; }
  json& meta() noexcept { return meta_; }

  // -- content ------------------------------------------------------------------

  /// The value at `path`, or nullptr if the path does not exist (a missing
  /// key, an index out of range, or a step through a non-container). The
  /// empty path is the whole content object.
  const json* get(const field_path& path) const;

  /// Sets `path` to `value`, creating intermediate objects as needed (a null
  /// on the way becomes an object). Fails if a step goes through a value that
  /// is not an object (or, for an index segment, not an array with that
  /// index). The whole path is checked before anything is created, so a
  /// failed set leaves the content exactly as it was.
  status set(const field_path& path, json value);

  /// Moves the value at `from` to `to`: takes it out of `from`, then sets
  /// `to` as set() does. A missing `from` is not an error (the record is left
  /// as it is) and returns false. An array element as `from` is removed from
  /// its array, as drop() removes it: the elements after it move up one.
  /// Renaming a path to itself changes nothing. If `to` cannot be set, the
  /// value goes back where it was and the content is exactly as before.
  result<bool> rename(const field_path& from, const field_path& to);

  /// What one set() or rename() changed, so that undo() can put it back; for
  /// operators that must fail a record as it came in after changing it (map).
  /// Filled by the set/rename overloads taking one; callers only keep it.
  /// It points at the paths given to that call, which must outlive it.
  struct change {
    const field_path* target = nullptr; // the set path, or the rename's `to`
    const field_path* from = nullptr;   // the rename's `from`; null for a set
    bool applied = false;               // false: nothing changed
    size_t depth = 0;     // the set replaced or created the value at target[0, depth)
    bool existed = false; // whether it replaced (true) or created (false) it
    json old;             // the replaced value, moved out
    int64_t from_index = -1; // where a renamed array element was; -1 for a key
  };

  /// set() and rename() that also record in `undo` what they changed. A call
  /// that fails changes nothing and leaves `undo.applied` false.
  status set(const field_path& path, json value, change& undo);
  result<bool> rename(const field_path& from, const field_path& to, change& undo);

  /// Reverts one change. Changes must be undone newest first, on content not
  /// changed in between by anything else; then the content is exactly (key
  /// for key, element for element) what it was before them. Costs one walk
  /// of the paths; values move back, nothing is copied.
  void undo(change&& c);

  /// Removes `path`; returns whether something was removed.
  bool drop(const field_path& path);

  /// Keeps only the given paths; everything else goes. Like jq's `pick`: a
  /// nested path keeps its parents as objects (`.user.name` gives
  /// {"user": {"name": ...}}) and an index keeps its element at that index in
  /// an array padded with null (`.tags[1]` of ["a", "b"] gives
  /// {"tags": [null, "b"]}); a negative index counts from the end of the
  /// record's array. Paths that are not in the record are ignored.
  void keep(const std::vector<field_path>& paths);

  /// Appends the content as one line of compact JSON (no newline) to `out`.
  void serialize(std::string& out) const;

  /// Whole-content access for operators that need the object as a value
  /// (e.g. JSON Schema validation, aggregate keys). Prefer get/set.
  const json& content() const noexcept { return content_; }

  /// Replaces the whole content (sources and aggregates build records).
  void content(json value) { content_ = std::move(value); }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, record& x);

private:
  status set_impl(const field_path& path, json&& value, change* undo);
  result<bool> rename_impl(const field_path& from, const field_path& to, change* undo);

  std::string id_;
  json content_;
  json meta_;
  lineage_trail trail_;
};

/// A batch of records with its sequence number on the edge it travels.
struct batch {
  uint64_t seq = 0;
  std::vector<record> records;
};

/// Microseconds since the epoch, from the system clock.
int64_t now_us();

} // namespace sluice
