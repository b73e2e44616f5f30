#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {

/// Turns records into CSV text for sink.file and sink.stdout.
///
/// The columns are the `columns` given, or else the keys of the first record
/// (in the record's key order). The header line comes before the first row.
/// A value is written as: a string as is; null as an empty field; a boolean
/// or number as JSON writes it; an object or array as its compact JSON. A
/// field is quoted when it holds the delimiter, a quote, CR or LF, and a
/// string is also quoted when the reader would otherwise take it for a
/// number, boolean or null ("42", "true", ""), so files read back with the
/// types they were written with. Lines end with LF.
///
/// A later record without some column gets an empty field there; a record
/// with a key that is not a column is refused (error, nothing written), so no
/// data is silently lost.
class csv_writer {
public:
  explicit csv_writer(char delimiter = ',', std::vector<std::string> columns = {});

  /// Continues a file that already has `header` as its first line (append
  /// mode): its columns are used and no header is written. Fails when
  /// `columns` were given and differ. `where` names the file for the message.
  status continue_file(std::vector<std::string> header, const std::string& where);

  /// Appends one row for `content` (the header line first, once).
  status write(const json& content, std::string& out);

  /// At the end of output: writes the header if no row was written and the
  /// columns are known, so an empty result still has its header.
  void finish(std::string& out);

  const std::vector<std::string>& columns() const noexcept { return columns_; }

private:
  void set_columns(std::vector<std::string> names);
  void write_header(std::string& out);
  void append_text(const char* data, size_t size, bool force_quote, std::string& out) const;
  void append_value(const json& v, std::string& out) const;

  char delim_;
  bool given_ = false; ///< columns came from the config, not the first record
  bool header_done_ = false;
  std::vector<std::string> columns_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<const json*> slots_;
};

} // namespace sluice
