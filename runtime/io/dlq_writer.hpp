#pragma once

#include <cstdint>
#include <string>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {

/// Why a record was dead-lettered: what a stage actor puts in
/// `rec.meta()["dlq"]` (see from_meta) and what a dead-letter line holds.
struct dead_letter {
  std::string stage;       ///< id of the stage the record failed in
  std::string error_class; ///< to_string(errc): "schema_violation", ...
  std::string message;
  uint32_t attempts = 1;        ///< tries before it was given up (>= 1)
  int64_t first_failure_us = 0; ///< microseconds since the epoch
  int64_t last_failure_us = 0;

  /// Reads `rec.meta()["dlq"]`: {stage, class, message, attempts,
  /// first_failure_us, last_failure_us}. Missing keys get defaults: attempts
  /// 1, the times fall back to `time_us` (older actors) and to each other.
  static dead_letter from_meta(const json& info);
};

/// Where a dead-lettered record entered the pipeline, by name, so that a
/// replay can say so without the original stage table.
struct dead_letter_origin {
  std::string text;   ///< "data/orders.csv:12"
  std::string source; ///< the source stage's id: "read"
  std::string file;   ///< "data/orders.csv" ("-" stdin, "generate" ...)
  uint64_t line = 0;
};

/// Writes the pipeline's dead-letter file: one JSON line per record that a
/// stage with `on_error: dlq` failed, with the reason and where it came from
/// (docs/dead-letters.md is the reference; keys appear in this order):
///
///   {"time":"2024-05-01T12:00:00.123Z","stage":"check",
///    "error":{"class":"schema_violation","message":"/amount: ..."},
///    "attempts":1,"first_failure":"2024-05-01T12:00:00.123Z",
///    "last_failure":"2024-05-01T12:00:00.123Z",
///    "record":{"id":"1005","content":<content, or the raw line as a string
///              if it never parsed>,"origin":"data/orders.csv:6",
///              "position":{"source":"read","file":"data/orders.csv","line":6},
///              "lineage":<hops>,"meta":<the record's meta without "dlq";
///              only when there is any>}}
///
/// `time` is the last failure. Keys are only ever added, never renamed or
/// removed: io/dlq_reader.hpp reads every version.
///
/// Hosted by one actor (not thread-safe). open() truncates: one file per run.
/// Lines go straight to the final path, not a temporary file, because dead
/// letters must survive a failed run; they are buffered and written by
/// flush(), which the host calls once per batch.
class dlq_writer {
public:
  dlq_writer() = default;
  ~dlq_writer();

  dlq_writer(const dlq_writer&) = delete;
  dlq_writer& operator=(const dlq_writer&) = delete;

  /// Creates (or truncates) `path`, and its missing parent directories.
  status open(const std::string& path);

  /// Adds one dead letter: the record as it entered the failing stage, why,
  /// where it came from and `hops` (the rendered lineage). Writes when the
  /// buffer passes 1 MiB; otherwise at flush().
  status write(const record& rec, const dead_letter& why, const dead_letter_origin& origin,
               const json& hops);

  /// Writes what is buffered.
  status flush();

  /// Dead letters written (or buffered) since open().
  uint64_t count() const noexcept { return count_; }

  const std::string& path() const noexcept { return path_; }

private:
  void close();

  std::string path_;
  int fd_ = -1;
  std::string buf_;
  uint64_t count_ = 0;
};

/// `at_us` (microseconds since the epoch) as ISO-8601 UTC with milliseconds:
/// "2024-05-01T12:00:00.123Z".
std::string iso8601_utc_ms(int64_t at_us);

} // namespace sluice
