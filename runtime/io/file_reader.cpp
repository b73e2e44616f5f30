#include "io/file_reader.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sluice {

namespace {

// Bytes of an overlong line kept for the dead-letter file.
constexpr size_t raw_head_bytes = 200;

const char utf8_bom[3] = {'\xEF', '\xBB', '\xBF'};

error io_failure(const std::string& what, const std::string& name) {
  return error{errc::io_error, what + " '" + name + "': " + std::strerror(errno)};
}

bool json_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

} // namespace

// -- expand_input ---------------------------------------------------------------

result<std::vector<input_file>> expand_input(const std::string& written,
                                             const std::string& resolved) {
  if (written == "-")
    return std::vector<input_file>{{"-", "-"}};
  if (written.find_first_of("*?[") == std::string::npos) {
    int fd = ::open(resolved.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return io_failure("cannot open", written);
    struct stat st {};
    int rc = ::fstat(fd, &st);
    ::close(fd);
    if (rc == 0 && S_ISDIR(st.st_mode))
      return error{errc::io_error, "'" + written + "' is a directory; to read the files in it,"
                                     " use a glob such as '" + written + "/*.jsonl'"};
    return std::vector<input_file>{{resolved, written}};
  }
  glob_t g{};
  int rc = ::glob(resolved.c_str(), 0, nullptr, &g);
  std::vector<std::string> matches;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i)
      matches.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH)
    return error{errc::io_error, "cannot expand '" + written + "': "
                                   + (rc == GLOB_NOSPACE ? "out of memory"
                                                         : "a directory could not be read")};
  matches.erase(std::remove_if(matches.begin(), matches.end(),
                               [](const std::string& m) {
                                 struct stat st {};
                                 return ::stat(m.c_str(), &st) != 0 || S_ISDIR(st.st_mode);
                               }),
                matches.end());
  if (matches.empty())
    return error{errc::io_error, "no file matches '" + written + "'"};
  std::sort(matches.begin(), matches.end());
  // Name files as the user wrote the pattern: strip what resolving added.
  std::string prefix;
  if (resolved.size() > written.size()
      && resolved.compare(resolved.size() - written.size(), written.size(), written) == 0)
    prefix = resolved.substr(0, resolved.size() - written.size());
  std::vector<input_file> files;
  for (auto& m : matches) {
    bool strip = !prefix.empty() && m.compare(0, prefix.size(), prefix) == 0;
    files.push_back(input_file{m, strip ? m.substr(prefix.size()) : m});
  }
  return files;
}

// -- file_reader: setup ---------------------------------------------------------

file_reader::file_reader(file_reader_options opts, std::vector<input_file> files)
  : opts_(std::move(opts)),
    files_(std::move(files)),
    splitter_(opts_.delimiter, opts_.max_line_bytes) {
}

file_reader::file_reader(file_reader_options opts, int fd, std::string name)
  : opts_(std::move(opts)),
    files_{input_file{"", std::move(name)}},
    injected_fd_(fd),
    splitter_(opts_.delimiter, opts_.max_line_bytes) {
}

file_reader::~file_reader() {
  if (file_open_)
    close_file();
}

bool file_reader::bounded() const {
  return injected_fd_ < 0
         && std::none_of(files_.begin(), files_.end(),
                         [](const input_file& f) { return f.path == "-"; });
}

std::string file_reader::file_name(uint32_t index) const {
  return index < files_.size() ? files_[index].name : std::string{"?"};
}

status file_reader::check_header(const std::vector<std::string>& names,
                                 const std::string& where) const {
  if (opts_.columns.empty())
    return check_csv_header(names, where);
  if (names.size() != opts_.columns.size())
    return error{errc::parse_error, "'" + where + "': 'columns' lists "
                                      + plural(opts_.columns.size(), "name")
                                      + " but the header has "
                                      + plural(names.size(), "column")};
  return {};
}

status file_reader::open() {
  assert(!opened_);
  opened_ = true;
  size_ = std::max<size_t>(opts_.chunk_bytes, 16);
  cap_ = std::max(size_, opts_.max_line_bytes + 1);
  buf_ = std::make_unique<char[]>(size_);
  bool csv_headers = opts_.format == data_format::csv && opts_.header;
  if (injected_fd_ < 0) {
    for (auto& f : files_) {
      if (f.path == "-")
        continue;
      struct stat st {};
      if (::stat(f.path.c_str(), &st) != 0)
        return io_failure("cannot open", f.name);
      if (!S_ISREG(st.st_mode))
        continue; // a FIFO: nothing to count, and reading ahead would consume it
      bytes_total_ += static_cast<uint64_t>(st.st_size);
      if (csv_headers) {
        auto names = read_csv_header(f.path, opts_.delimiter, opts_.max_line_bytes);
        if (!names)
          return names.err();
        if (auto ok = check_header(*names, f.name); !ok)
          return ok.err();
      }
    }
  }
  if (files_.empty())
    return {};
  return start_file(0);
}

status file_reader::start_file(size_t index) {
  file_index_ = index;
  next_file_ = index + 1;
  auto& f = files_[index];
  if (injected_fd_ >= 0) {
    fd_ = injected_fd_;
    owns_fd_ = false;
  } else if (f.path == "-") {
    fd_ = STDIN_FILENO;
    owns_fd_ = false;
  } else {
    fd_ = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      return io_failure("cannot open", f.name);
    owns_fd_ = true;
  }
  struct stat st {};
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  if (regular_)
    (void) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  file_open_ = true;
  eof_ = false;
  bom_pending_ = true;
  line_ = 1;
  pos_ = end_ = scanned_ = 0;
  skipping_ = false;
  splitter_.reset();
  header_pending_ = opts_.format == data_format::csv && opts_.header;
  if (!opts_.header)
    file_columns_ = opts_.columns;
  return {};
}

void file_reader::close_file() {
  if (owns_fd_)
    ::close(fd_);
  fd_ = -1;
  file_open_ = false;
}

// -- file_reader: reading -------------------------------------------------------

result<source_reader::state> file_reader::read(std::vector<record>& out, size_t max,
                                               int64_t max_wait_us) {
  assert(opened_);
  auto deadline = clock::now() + std::chrono::microseconds(std::max<int64_t>(max_wait_us, 0));
  // One allocation for the batch rather than a doubling (and a move of
  // every record so far) at each power of two; capped so that a huge
  // batch_size does not reserve more than a few hundred KB up front.
  out.reserve(out.size() + std::min<size_t>(max, 4096));
  size_t produced = 0;
  while (produced < max) {
    if (!file_open_) {
      if (next_file_ >= files_.size())
        return state::end;
      if (auto ok = start_file(next_file_); !ok)
        return ok.err();
    }
    cut c;
    if (opts_.format == data_format::jsonl) {
      c = cut_line(out);
    } else {
      auto r = cut_row(out);
      if (!r)
        return std::move(r.err());
      c = *r;
    }
    switch (c) {
      case cut::produced:
        ++produced;
        break;
      case cut::skipped:
        break;
      case cut::need_input: {
        auto f = fill(deadline);
        if (!f)
          return std::move(f.err());
        if (*f == filled::timeout)
          return state::wait;
        break;
      }
      case cut::file_end:
        close_file();
        break;
    }
  }
  if (!file_open_ && next_file_ >= files_.size())
    return state::end;
  return state::more;
}

result<file_reader::filled> file_reader::fill(clock::time_point deadline) {
  // Make room: drop what was consumed; grow only when one unfinished line
  // fills the whole buffer (never past one longest allowed line).
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == size_) {
    auto bigger = std::min(size_ * 2, cap_);
    assert(bigger > size_);
    auto next = std::make_unique<char[]>(bigger);
    std::memcpy(next.get(), buf_.get(), end_);
    buf_ = std::move(next);
    size_ = bigger;
  }
  while (true) {
    if (!regular_) {
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock::now())
                    .count();
      int timeout_ms = left <= 0 ? 0 : static_cast<int>((left + 999) / 1000);
      pollfd pfd{fd_, POLLIN, 0};
      int r = ::poll(&pfd, 1, timeout_ms);
      if (r < 0) {
        if (errno == EINTR)
          continue;
        return io_failure("cannot read", files_[file_index_].name);
      }
      if (r == 0)
        return filled::timeout;
    }
    ssize_t n = ::read(fd_, buf_.get() + end_, size_ - end_);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (clock::now() >= deadline)
          return filled::timeout;
        continue;
      }
      return io_failure("cannot read", files_[file_index_].name);
    }
    if (n == 0) {
      eof_ = true;
    } else {
      end_ += static_cast<size_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
    }
    return filled::data;
  }
}

bool file_reader::skip_bom() {
  auto avail = end_ - pos_;
  auto n = std::min<size_t>(avail, 3);
  if (std::memcmp(buf_.get() + pos_, utf8_bom, n) != 0) {
    bom_pending_ = false;
    return true;
  }
  if (avail < 3 && !eof_)
    return false; // could still be a BOM: decide when more bytes are in
  if (avail >= 3)
    pos_ += 3;
  bom_pending_ = false;
  return true;
}

void file_reader::push(std::vector<record>& out, json content, uint64_t line) {
  lineage_trail trail;
  trail.origin.source = opts_.source;
  trail.origin.file = static_cast<uint32_t>(file_index_);
  trail.origin.line = line;
  out.emplace_back(std::string{}, std::move(content), std::move(trail));
}

void file_reader::push_error(std::vector<record>& out, std::string raw, uint64_t line,
                             std::string why) {
  push(out, json(std::move(raw)), line);
  out.back().meta() = json::object({{"error", std::move(why)}});
}

// -- JSON lines -----------------------------------------------------------------

file_reader::cut file_reader::cut_line(std::vector<record>& out) {
  if (bom_pending_ && !skip_bom())
    return cut::need_input;
  if (skipping_)
    return skip_long_line(out);
  const char* base = buf_.get();
  const char* b = base + pos_;
  const char* e = base + end_;
  auto nl = static_cast<const char*>(
    std::memchr(b + scanned_, '\n', static_cast<size_t>(e - b) - scanned_));
  if (nl == nullptr) {
    auto len = static_cast<size_t>(e - b);
    if (!eof_) {
      if (len > opts_.max_line_bytes) {
        skipping_ = true;
        skip_line_ = line_;
        skip_bytes_ = len;
        skip_head_.assign(b, std::min(len, raw_head_bytes));
        pos_ = end_;
        scanned_ = 0;
      } else {
        scanned_ = len;
      }
      return cut::need_input;
    }
    if (len == 0)
      return cut::file_end;
    nl = e; // the last line has no line break
  }
  auto len = static_cast<size_t>(nl - b);
  pos_ = std::min(static_cast<size_t>(nl - base) + 1, end_);
  scanned_ = 0;
  auto line = line_++;
  if (len > opts_.max_line_bytes) {
    push_error(out, std::string(b, std::min(len, raw_head_bytes)), line,
               "line of " + std::to_string(len) + " bytes is longer than max_line_bytes ("
                 + std::to_string(opts_.max_line_bytes)
                 + "); it was skipped (raise max_line_bytes if such lines are expected)");
    return cut::produced;
  }
  return emit_line(out, b, nl, line);
}

file_reader::cut file_reader::skip_long_line(std::vector<record>& out) {
  const char* base = buf_.get();
  const char* b = base + pos_;
  const char* e = base + end_;
  auto nl = static_cast<const char*>(std::memchr(b, '\n', static_cast<size_t>(e - b)));
  auto stop = nl != nullptr ? nl : e;
  if (skip_head_.size() < raw_head_bytes)
    skip_head_.append(b, std::min(raw_head_bytes - skip_head_.size(), size_t(stop - b)));
  if (nl == nullptr) {
    skip_bytes_ += static_cast<uint64_t>(e - b);
    pos_ = end_;
    if (!eof_)
      return cut::need_input;
  } else {
    skip_bytes_ += static_cast<uint64_t>(nl - b);
    pos_ = static_cast<size_t>(nl - base) + 1;
    ++line_;
  }
  skipping_ = false;
  push_error(out, std::move(skip_head_), skip_line_,
             "line of " + std::to_string(skip_bytes_) + " bytes is longer than max_line_bytes ("
               + std::to_string(opts_.max_line_bytes)
               + "); it was skipped (raise max_line_bytes if such lines are expected)");
  skip_head_.clear();
  return cut::produced;
}

file_reader::cut file_reader::emit_line(std::vector<record>& out, const char* b,
                                        const char* e, uint64_t line) {
  if (e > b && e[-1] == '\r')
    --e;
  const char* first = b;
  while (first < e && json_space(*first))
    ++first;
  if (first == e)
    return cut::skipped;
  push(out, json(std::string(b, e)), line);
  return cut::produced;
}

// -- CSV ------------------------------------------------------------------------

result<file_reader::cut> file_reader::cut_row(std::vector<record>& out) {
  if (bom_pending_ && !skip_bom())
    return cut::need_input;
  const char* base = buf_.get();
  const char* p = base + pos_;
  auto step = splitter_.next(p, base + end_, eof_);
  pos_ = static_cast<size_t>(p - base);
  if (step == csv_splitter::step::need_more)
    return cut::need_input;
  if (step == csv_splitter::step::done)
    return cut::file_end;
  if (splitter_.blank())
    return cut::skipped;
  auto line = splitter_.row_line();
  auto& fields = splitter_.fields();
  auto& name = files_[file_index_].name;
  if (header_pending_) {
    if (!splitter_.error().empty())
      return error{errc::parse_error, "'" + name + "': line " + std::to_string(line)
                                        + ": cannot read the header: " + splitter_.error()};
    std::vector<std::string> names;
    for (auto& f : fields)
      names.push_back(std::move(f.text));
    if (auto ok = check_header(names, name); !ok)
      return ok.err();
    file_columns_ = opts_.columns.empty() ? std::move(names) : opts_.columns;
    header_pending_ = false;
    return cut::skipped;
  }
  if (!splitter_.error().empty()) {
    push_error(out, splitter_.raw(), line, splitter_.error());
    return cut::produced;
  }
  if (fields.size() != file_columns_.size()) {
    push_error(out, splitter_.raw(), line,
               plural(fields.size(), "field") + ", but "
                 + (opts_.header ? "the header has " : "'columns' lists ")
                 + std::to_string(file_columns_.size()));
    return cut::produced;
  }
  json obj = json::object();
  for (size_t i = 0; i < fields.size(); ++i)
    obj.emplace(file_columns_[i], csv_value(std::move(fields[i].text), fields[i].quoted));
  push(out, std::move(obj), line);
  return cut::produced;
}

} // namespace sluice
