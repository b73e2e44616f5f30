#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {

/// One field of a CSV row as read: its text (quotes removed, `""` turned
/// into `"`) and whether it was quoted, which decides its type.
struct csv_field {
  std::string text;
  bool quoted = false;
};

/// Cuts RFC 4180 text into rows. Fed incrementally, so a row may span any
/// number of buffer refills and lines; memory stays bounded by
/// `max_row_bytes`, not by the input.
///
/// Rules: fields are separated by the delimiter; a field that starts with `"`
/// is quoted and may hold delimiters, quotes (written `""`) and line breaks;
/// a row ends at LF, CRLF or a lone CR outside quotes. A quote inside an
/// unquoted field is an ordinary character. Row-level problems (a character
/// after a closing quote, an unterminated quote at end of input, a row over
/// the size limit) are reported in `error()` with the row's text kept in
/// `raw()`; the next row starts cleanly after them.
///
///   csv_splitter s{','};
///   const char* p = buf;
///   while (s.next(p, buf + n, eof) == csv_splitter::step::row)
///     use(s.fields(), s.row_line());
class csv_splitter {
public:
  enum class step : uint8_t {
    row,       ///< a row is complete: fields(), raw(), error(), row_line()
    need_more, ///< the input ran out mid-row; call again with more input
    done,      ///< `eof` was set and no row is left
  };

  explicit csv_splitter(char delimiter = ',', size_t max_row_bytes = size_t{16} << 20);

  /// Consumes input from `p` (advanced in place) up to `end`. `eof` says
  /// that nothing follows `end`.
  step next(const char*& p, const char* end, bool eof);

  /// Starts a new input (a new file): line numbers restart at 1.
  void reset();

  /// The fields of the last row; the caller may move the texts out.
  std::vector<csv_field>& fields() noexcept { return fields_; }

  /// The last row's text without its line break (only its first 200 bytes
  /// when it was over the size limit).
  const std::string& raw() const noexcept { return raw_; }

  /// Why the last row is broken; empty when it is fine.
  const std::string& error() const noexcept { return error_; }

  /// The 1-based line the last row started on.
  uint64_t row_line() const noexcept { return row_line_; }

  /// Whether the last row is blank: one unquoted field of nothing but
  /// spaces and tabs. Readers skip blank rows, as they skip blank lines.
  bool blank() const;

private:
  enum class st : uint8_t { field_start, unquoted, quoted, quote_seen, bad, cr };

  void begin_row();
  void end_field();
  step end_row(const char* chunk, const char* p);
  void account(const char* chunk, const char* p);
  void append(const char* b, const char* e);

  char delim_;
  size_t max_row_bytes_;
  st state_ = st::field_start;
  bool row_done_ = true;
  bool cur_quoted_ = false;
  bool oversized_ = false;
  std::string cur_;
  std::vector<csv_field> fields_;
  std::string raw_;
  std::string error_;
  uint64_t row_bytes_ = 0;
  uint64_t line_ = 1;
  uint64_t row_line_ = 1;
  uint64_t quote_line_ = 1;
};

/// The value of a CSV field, typed. Quoted fields are always strings. An
/// unquoted field is: null when empty; a boolean when exactly `true` or
/// `false`; an integer when it is written as JSON writes integers and fits in
/// 64 bits (so `007`, `+5` and 20-digit ids stay strings); a float when it
/// is written as a JSON number with a fraction or exponent and is finite
/// (`-0.5`, `1e3`); otherwise the string as written.
json csv_value(std::string&& text, bool quoted);

/// Whether csv_value would give an unquoted `text` a type other than string
/// (the writer quotes such strings so they read back as strings).
bool csv_looks_typed(const std::string& text);

/// Checks a header's column names: none empty, none repeated. `where` names
/// the file for the message: "'data/a.csv': column 3 of the header is empty".
status check_csv_header(const std::vector<std::string>& names, const std::string& where);

/// Reads the first row of the CSV file at `path` (skipping a UTF-8 BOM and
/// blank lines). An absent or empty file gives an empty list.
result<std::vector<std::string>> read_csv_header(const std::string& path, char delimiter,
                                                 size_t max_row_bytes = size_t{16} << 20);

} // namespace sluice
