#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "io/csv.hpp"
#include "io/data_format.hpp"
#include "io/source_reader.hpp"

namespace sluice {

/// One input file of a source: the path to open, and the name that records'
/// origins and messages use (as the user wrote it: "data/orders.csv").
struct input_file {
  std::string path;
  std::string name;
};

/// Expands a source's `path` param into its files. `written` is the path as
/// in the config (for names and messages), `resolved` the same resolved
/// against the config's directory. "-" is stdin. A glob (`*`, `?`, `[...]`)
/// gives the matching files, directories left out, in byte order; no match
/// is an error: "no file matches 'data/x*.csv'". A plain path must be a file
/// that can be opened: "cannot open 'x': No such file or directory".
result<std::vector<input_file>> expand_input(const std::string& written,
                                             const std::string& resolved);

struct file_reader_options {
  data_format format = data_format::jsonl;
  stage_index source = 0;                     ///< origin.source of every record
  size_t max_line_bytes = size_t{16} << 20;   ///< longer lines (CSV: rows) are errors
  char delimiter = ',';                       ///< CSV only
  bool header = true;                         ///< CSV: the first row names the columns
  std::vector<std::string> columns;           ///< CSV: names (required without header)
  size_t chunk_bytes = size_t{1} << 20;       ///< bytes per read(2); small in tests
};

/// The reader behind source.file: JSON lines or CSV from files in order, or
/// from stdin or any other descriptor. One thread, one descriptor at a time:
/// reads big chunks with read(2), cuts lines with memchr (JSON lines; parsing
/// is left to the decode operator's replicas) or rows with csv_splitter (CSV
/// rows come out as finished objects, typed by csv_value, named by the file's
/// header). A UTF-8 BOM at the start of a file is skipped, blank lines are
/// not records, and a line longer than max_line_bytes becomes an error record
/// holding its first 200 bytes, so memory is bounded by config, not input.
///
/// Regular files never make read() return `wait`; pipes, terminals and
/// sockets are polled, so read() returns `wait` (with what it has) once
/// `max_wait_us` passes without input.
///
/// CSV headers: each file has its own header row (every regular file's is
/// checked in open(), so a bad header fails the run before any record);
/// `columns` replaces the header's names (the counts must agree), or names
/// the columns of header-less files.
class file_reader final : public source_reader {
public:
  file_reader(file_reader_options opts, std::vector<input_file> files);

  /// Reads an open descriptor (a pipe in tests; the reader does not close
  /// it). `name` is what origins and messages call it.
  file_reader(file_reader_options opts, int fd, std::string name);

  ~file_reader() override;

  file_reader(const file_reader&) = delete;
  file_reader& operator=(const file_reader&) = delete;

  status open() override;
  result<state> read(std::vector<record>& out, size_t max, int64_t max_wait_us) override;
  uint64_t bytes_read() const override { return bytes_read_; }
  uint64_t bytes_total() const override { return bytes_total_; }
  bool bounded() const override;
  std::string file_name(uint32_t index) const override;

private:
  using clock = std::chrono::steady_clock;

  /// What cutting at the current position gave.
  enum class cut : uint8_t { produced, skipped, need_input, file_end };
  enum class filled : uint8_t { data, timeout };

  status start_file(size_t index);
  void close_file();
  result<filled> fill(clock::time_point deadline);
  bool skip_bom();
  cut cut_line(std::vector<record>& out);
  cut skip_long_line(std::vector<record>& out);
  cut emit_line(std::vector<record>& out, const char* b, const char* e, uint64_t line);
  result<cut> cut_row(std::vector<record>& out);
  status check_header(const std::vector<std::string>& names, const std::string& where) const;
  void push(std::vector<record>& out, json content, uint64_t line);
  void push_error(std::vector<record>& out, std::string raw, uint64_t line, std::string why);

  file_reader_options opts_;
  std::vector<input_file> files_;
  int injected_fd_ = -1;
  bool opened_ = false;

  // -- the current file ----------------------------------------------------
  size_t next_file_ = 0;
  size_t file_index_ = 0;
  bool file_open_ = false;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool regular_ = false;
  bool eof_ = false;
  bool bom_pending_ = false;
  uint64_t line_ = 1; ///< JSON lines: the number of the next line

  // -- the buffer: bytes [pos_, end_) of size_ are unread ---------------------
  std::unique_ptr<char[]> buf_;
  size_t size_ = 0;
  size_t cap_ = 0; ///< the most the buffer grows to (one longest line)
  size_t pos_ = 0;
  size_t end_ = 0;
  size_t scanned_ = 0; ///< bytes after pos_ known to hold no line break

  // -- a JSON line over the limit, being skipped ------------------------------
  bool skipping_ = false;
  uint64_t skip_line_ = 0;
  uint64_t skip_bytes_ = 0;
  std::string skip_head_;

  // -- CSV -------------------------------------------------------------------
  csv_splitter splitter_;
  bool header_pending_ = false;
  std::vector<std::string> file_columns_;

  uint64_t bytes_read_ = 0;
  uint64_t bytes_total_ = 0;
};

} // namespace sluice
