#pragma once

#include <cstdint>
#include <string>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {

/// Writes the pipeline's dead-letter file: one JSON line per record that a
/// stage with `on_error: dlq` failed, with the reason and where it came from:
///
///   {"time":"2024-05-01T12:00:00.123Z","stage":"parse",
///    "error":{"class":"parse_error","message":"orders.jsonl:17: ..."},
///    "record":{"id":"orders:17","content":<content, or the raw line as a
///              string if it never parsed>,"origin":"orders.jsonl:17",
///              "lineage":<hops>}}
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

  /// Adds one dead letter. `at_us` is when it failed (microseconds since the
  /// epoch), `origin_text` e.g. "data/orders.csv:12", `hops` the rendered
  /// lineage. Writes when the buffer passes 1 MiB; otherwise at flush().
  status write(const record& rec, const std::string& stage, const error& err, int64_t at_us,
               const std::string& origin_text, const json& hops);

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
