#include "io/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <unistd.h>

namespace sluice {

namespace {

// Bytes of a broken row kept for the dead-letter file when the row is too
// long to keep whole.
constexpr size_t raw_head_bytes = 200;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

enum class number_kind : uint8_t { none, integer, floating };

// Classifies `s` by the JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
number_kind classify_number(const std::string& s) {
  size_t i = 0;
  size_t n = s.size();
  if (i < n && s[i] == '-')
    ++i;
  if (i == n)
    return number_kind::none;
  if (s[i] == '0') {
    ++i;
  } else if (is_digit(s[i])) {
    while (i < n && is_digit(s[i]))
      ++i;
  } else {
    return number_kind::none;
  }
  bool floating = false;
  if (i < n && s[i] == '.') {
    auto start = ++i;
    while (i < n && is_digit(s[i]))
      ++i;
    if (i == start)
      return number_kind::none;
    floating = true;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      ++i;
    auto start = i;
    while (i < n && is_digit(s[i]))
      ++i;
    if (i == start)
      return number_kind::none;
    floating = true;
  }
  if (i != n)
    return number_kind::none;
  return floating ? number_kind::floating : number_kind::integer;
}

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f)
    return std::string{"'"} + c + "'";
  static const char* hex = "0123456789abcdef";
  return std::string{"byte 0x"} + hex[u >> 4] + hex[u & 0xf];
}

} // namespace

// -- csv_splitter -------------------------------------------------------------

csv_splitter::csv_splitter(char delimiter, size_t max_row_bytes)
  : delim_(delimiter), max_row_bytes_(max_row_bytes) {
}

void csv_splitter::reset() {
  state_ = st::field_start;
  row_done_ = true;
  cur_.clear();
  cur_quoted_ = false;
  oversized_ = false;
  fields_.clear();
  raw_.clear();
  error_.clear();
  row_bytes_ = 0;
  line_ = 1;
  row_line_ = 1;
}

void csv_splitter::begin_row() {
  fields_.clear();
  raw_.clear();
  error_.clear();
  cur_.clear();
  cur_quoted_ = false;
  oversized_ = false;
  row_bytes_ = 0;
  state_ = st::field_start;
  row_line_ = line_;
  row_done_ = false;
}

void csv_splitter::append(const char* b, const char* e) {
  if (!oversized_)
    cur_.append(b, static_cast<size_t>(e - b));
}

void csv_splitter::end_field() {
  if (!oversized_)
    fields_.push_back(csv_field{std::move(cur_), cur_quoted_});
  cur_.clear();
  cur_quoted_ = false;
}

void csv_splitter::account(const char* chunk, const char* p) {
  auto n = static_cast<size_t>(p - chunk);
  row_bytes_ += n;
  if (oversized_) {
    if (raw_.size() < raw_head_bytes)
      raw_.append(chunk, std::min(n, raw_head_bytes - raw_.size()));
    return;
  }
  raw_.append(chunk, n);
  // The line break (at most two bytes) does not count against the limit;
  // end_row makes the exact check once the break is stripped.
  if (row_bytes_ > max_row_bytes_ + 2) {
    oversized_ = true;
    raw_.resize(std::min(raw_.size(), raw_head_bytes));
    cur_.clear();
    cur_.shrink_to_fit();
    fields_.clear();
  }
}

csv_splitter::step csv_splitter::end_row(const char* chunk, const char* p) {
  account(chunk, p);
  if (!oversized_) {
    if (!raw_.empty() && raw_.back() == '\n')
      raw_.pop_back();
    if (!raw_.empty() && raw_.back() == '\r')
      raw_.pop_back();
    if (raw_.size() > max_row_bytes_) {
      oversized_ = true;
      raw_.resize(raw_head_bytes);
      fields_.clear();
    }
  }
  if (oversized_) {
    fields_.clear();
    error_ = "row of " + std::to_string(row_bytes_) + " bytes is longer than max_line_bytes ("
             + std::to_string(max_row_bytes_)
             + "); it was skipped (raise max_line_bytes if such rows are expected)";
  }
  row_done_ = true;
  return step::row;
}

csv_splitter::step csv_splitter::next(const char*& p, const char* end, bool eof) {
  if (row_done_)
    begin_row();
  const char* chunk = p;
  while (p < end) {
    switch (state_) {
      case st::field_start:
        if (*p == '"') {
          cur_quoted_ = true;
          quote_line_ = line_;
          state_ = st::quoted;
          ++p;
        } else {
          state_ = st::unquoted;
        }
        break;
      case st::unquoted: {
        const char* q = p;
        while (q < end && *q != delim_ && *q != '\n' && *q != '\r')
          ++q;
        append(p, q);
        p = q;
        if (p == end)
          break;
        char c = *p++;
        end_field();
        if (c == delim_) {
          state_ = st::field_start;
        } else if (c == '\n') {
          ++line_;
          return end_row(chunk, p);
        } else {
          state_ = st::cr;
        }
        break;
      }
      case st::quoted: {
        auto q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
        const char* stop = q != nullptr ? q : end;
        line_ += static_cast<uint64_t>(std::count(p, stop, '\n'));
        append(p, stop);
        p = stop;
        if (q != nullptr) {
          ++p;
          state_ = st::quote_seen;
        }
        break;
      }
      case st::quote_seen: {
        char c = *p;
        if (c == '"') {
          append(p, p + 1);
          ++p;
          state_ = st::quoted;
        } else if (c == delim_) {
          ++p;
          end_field();
          state_ = st::field_start;
        } else if (c == '\n') {
          ++p;
          end_field();
          ++line_;
          return end_row(chunk, p);
        } else if (c == '\r') {
          ++p;
          end_field();
          state_ = st::cr;
        } else {
          error_ = "unexpected " + describe_char(c) + " after the closing quote of field "
                   + std::to_string(fields_.size() + 1)
                   + "; a quoted field ends at a delimiter or the end of the line (write a"
                     " quote inside a quoted field as \"\")";
          state_ = st::bad;
        }
        break;
      }
      case st::bad: {
        // Skip the rest of the broken row, up to its line break.
        const char* q = p;
        while (q < end && *q != '\n' && *q != '\r')
          ++q;
        p = q;
        if (p == end)
          break;
        if (*p++ == '\n') {
          ++line_;
          return end_row(chunk, p);
        }
        state_ = st::cr;
        break;
      }
      case st::cr:
        // A CR outside quotes ends the row; an LF right after it belongs to it.
        if (*p == '\n')
          ++p;
        ++line_;
        return end_row(chunk, p);
    }
  }
  account(chunk, p);
  if (!eof)
    return step::need_more;
  switch (state_) {
    case st::field_start:
      if (row_bytes_ == 0 && fields_.empty()) {
        row_done_ = true;
        return step::done;
      }
      end_field(); // "a,b," at the end of input: a last, empty field
      break;
    case st::unquoted:
    case st::quote_seen:
      end_field();
      break;
    case st::quoted:
      error_ = "unterminated quoted field: the quote that opens field "
               + std::to_string(fields_.size() + 1) + " on line " + std::to_string(quote_line_)
               + " never closes";
      break;
    case st::bad:
    case st::cr:
      break;
  }
  return end_row(p, p);
}

bool csv_splitter::blank() const {
  if (!error_.empty() || fields_.size() != 1 || fields_[0].quoted)
    return false;
  auto& t = fields_[0].text;
  return std::all_of(t.begin(), t.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// -- values -------------------------------------------------------------------

json csv_value(std::string&& text, bool quoted) {
  if (quoted)
    return json(std::move(text));
  if (text.empty())
    return nullptr;
  if (text == "true")
    return true;
  if (text == "false")
    return false;
  const char* b = text.data();
  const char* e = b + text.size();
  switch (classify_number(text)) {
    case number_kind::integer: {
      int64_t v = 0;
      auto r = std::from_chars(b, e, v);
      if (r.ec == std::errc{} && r.ptr == e)
        return v;
      break; // too big for 64 bits: kept as written
    }
    case number_kind::floating: {
      double v = 0;
      auto r = std::from_chars(b, e, v);
      if (r.ec == std::errc{} && r.ptr == e && std::isfinite(v))
        return v;
      break; // out of range: kept as written
    }
    case number_kind::none:
      break;
  }
  return json(std::move(text));
}

bool csv_looks_typed(const std::string& text) {
  return text.empty() || text == "true" || text == "false"
         || classify_number(text) != number_kind::none;
}

status check_csv_header(const std::vector<std::string>& names, const std::string& where) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty())
      return error{errc::parse_error,
                   "'" + where + "': column " + std::to_string(i + 1)
                     + " of the header has no name; name every column in the file or"
                       " give the names in 'columns'"};
    for (size_t j = 0; j < i; ++j)
      if (names[j] == names[i])
        return error{errc::parse_error,
                     "'" + where + "': columns " + std::to_string(j + 1) + " and "
                       + std::to_string(i + 1) + " of the header are both named '" + names[i]
                       + "'; column names must be unique (rename them with 'columns')"};
  }
  return {};
}

result<std::vector<std::string>> read_csv_header(const std::string& path, char delimiter,
                                                 size_t max_row_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::vector<std::string>{};
    return error{errc::io_error, "cannot open '" + path + "': " + std::strerror(errno)};
  }
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  csv_splitter splitter{delimiter, max_row_bytes};
  constexpr size_t chunk = size_t{64} << 10;
  auto buf = std::make_unique<char[]>(chunk);
  bool first = true;
  bool eof = false;
  // Bytes of a possible BOM held back until we know whether it is one.
  size_t held = 0;
  while (true) {
    ssize_t n = ::read(fd, buf.get() + held, chunk - held);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return error{errc::io_error, "cannot read '" + path + "': " + std::strerror(errno)};
    }
    eof = n == 0;
    size_t len = held + static_cast<size_t>(n);
    const char* p = buf.get();
    if (first) {
      static const char bom[] = "\xEF\xBB\xBF";
      if (len < 3 && !eof && std::memcmp(p, bom, len) == 0) {
        held = len;
        continue;
      }
      if (len >= 3 && std::memcmp(p, bom, 3) == 0)
        p += 3;
      first = false;
    }
    held = 0;
    const char* end = buf.get() + len;
    while (true) {
      auto s = splitter.next(p, end, eof);
      if (s == csv_splitter::step::done)
        return std::vector<std::string>{};
      if (s == csv_splitter::step::need_more)
        break;
      if (splitter.blank())
        continue;
      if (!splitter.error().empty())
        return error{errc::parse_error, "'" + path + "': line "
                                          + std::to_string(splitter.row_line())
                                          + ": cannot read the header: " + splitter.error()};
      std::vector<std::string> names;
      for (auto& f : splitter.fields())
        names.push_back(std::move(f.text));
      return names;
    }
  }
}

} // namespace sluice
