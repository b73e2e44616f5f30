#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {

/// Reads a source's input and cuts it into raw records. Hosted by the source
/// driver actor, which runs on a thread of its own, so a reader may block, but
/// never longer than the `max_wait_us` it is given.
///
/// What a reader produces (the stage's decode operator finishes the job, in
/// parallel replicas, see ops/decode.hpp):
/// - a JSON-lines line: content is a JSON *string* holding the line's text;
/// - a CSV row: content is the finished object (CSV splitting is cheap and
///   needs the file's header, which only the reader has);
/// - a line the reader could not cut (e.g. an unterminated CSV quote): content
///   is the raw text as a JSON string and `meta()["error"]` the reason; the
///   decode operator sends it to the stage's error policy.
/// Each record's trail().origin has source, file index and line filled in.
/// Blank lines are skipped (they are not records).
class source_reader {
public:
  enum class state : uint8_t {
    more, ///< call again right away
    wait, ///< nothing now (a pipe without data, a rate): call again later
    end,  ///< the input is exhausted; no further call
  };

  virtual ~source_reader() = default;

  /// Opens the input. A file that cannot be opened is an error naming it.
  virtual status open() = 0;

  /// Appends at most `max` records to `out`, waiting at most `max_wait_us`
  /// for input. Returns `more`, `wait` or `end`. An I/O error mid-way is
  /// returned as an error (the run fails; a record-level problem is not one).
  virtual result<state> read(std::vector<record>& out, size_t max, int64_t max_wait_us) = 0;

  /// Bytes consumed so far and the total expected (0 when unknown: stdin,
  /// generators), for the progress line.
  virtual uint64_t bytes_read() const = 0;
  virtual uint64_t bytes_total() const = 0;

  /// Whether the input ends by itself (files, counted generators) or runs
  /// until stopped (stdin, unbounded generators).
  virtual bool bounded() const = 0;

  /// The name of file `index` of this source, as records' origins refer to
  /// it ("data/orders.csv"; "-" for stdin; "generate" for a generator).
  virtual std::string file_name(uint32_t index) const = 0;

  /// How many files the source reads (file_name is defined below this).
  virtual uint32_t file_count() const {
    return 1;
  }
};

using reader_ptr = std::unique_ptr<source_reader>;

} // namespace sluice
