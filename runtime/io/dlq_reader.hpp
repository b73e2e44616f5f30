#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/dlq_writer.hpp"
#include "io/file_reader.hpp"

namespace sluice {

/// One line of a dead-letter file (io/dlq_writer.hpp), read back. Lines of
/// every version read the same: a line without `attempts`, `first_failure`
/// and `last_failure` reads as one attempt that failed at `time`.
struct dead_letter_entry {
  dead_letter why;
  std::string id;
  json content;          ///< an object, or the raw text of a line that never parsed
  std::string origin;    ///< "data/orders.csv:12"
  json position;         ///< {"source","file","line"}; null on older lines
  json lineage;          ///< [{"stage", "at"}]; an empty array when absent
  json meta;             ///< the record's other meta; null when none
};

/// Parses one dead-letter line. Fails (parse_error) with a message saying
/// what is wrong: "not JSON: ...", "no 'stage' (a string)", ...
result<dead_letter_entry> parse_dead_letter(std::string_view line);

/// "2024-05-01T12:00:00.123Z" (seconds fraction optional, any number of
/// digits) as microseconds since the epoch; nullopt if it is not one.
std::optional<int64_t> parse_iso8601_utc(std::string_view text);

/// Which dead letters a replay takes: unset members match everything.
struct dlq_filter {
  std::optional<std::string> stage;       ///< only those that failed in this stage
  std::optional<std::string> error_class; ///< only those of this error class

  bool matches(const dead_letter& d) const {
    return (!stage || d.stage == *stage) && (!error_class || d.error_class == *error_class);
  }
};

/// The record a dead letter becomes when it is replayed: its id and content
/// as they were, its origin the dead-letter line (`source`, file 0, `line`),
/// no hops yet, and its meta the old one plus "replayed_from": {file, line,
/// stage, class, attempts, first_failure, last_failure, origin, position,
/// lineage} (and the previous "replayed_from" inside it, if it was replayed
/// before), so the history of the record continues.
record replay_record(dead_letter_entry&& entry, const std::string& file_name, uint64_t line,
                     stage_index source);

/// The reader behind source.dlq: reads a dead-letter file line by line (the
/// cutting is file_reader's, so memory stays bounded by max_line_bytes) and
/// turns each dead letter that passes `filter` into its replay_record. Lines
/// the filter rejects are skipped (they are not records of this run). A line
/// that is not a dead letter becomes a record with the line as content, and
/// one whose content never parsed (a raw line a source failed on: only a
/// source could read it again) its replay_record; both get
/// `meta()["error"]`, the reason, which
/// source.dlq's operator fails as a parse_error "file:line: ..." for the
/// stage's `on_error` policy: a bad line never stops the run by itself.
class dlq_reader final : public source_reader {
public:
  /// `file` is the dead-letter file (`name` as the user wrote it).
  dlq_reader(input_file file, stage_index source, dlq_filter filter,
             size_t max_line_bytes = size_t{64} << 20, size_t chunk_bytes = size_t{1} << 20);

  status open() override { return lines_.open(); }
  result<state> read(std::vector<record>& out, size_t max, int64_t max_wait_us) override;
  uint64_t bytes_read() const override { return lines_.bytes_read(); }
  uint64_t bytes_total() const override { return lines_.bytes_total(); }
  bool bounded() const override { return true; }
  std::string file_name(uint32_t index) const override { return lines_.file_name(index); }

  /// Dead letters skipped because `filter` did not match them.
  uint64_t skipped() const noexcept { return skipped_; }

private:
  void convert(record&& raw, std::vector<record>& out);

  file_reader lines_;
  std::string name_;
  stage_index source_;
  dlq_filter filter_;
  std::vector<record> raw_;
  uint64_t skipped_ = 0;
};

} // namespace sluice
