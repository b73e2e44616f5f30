#include "io/dlq_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace sluice {

namespace {

constexpr size_t flush_bytes = size_t{1} << 20;

void append_json(const json& v, std::string& out) {
  // Content that never parsed may hold invalid UTF-8: replace, never throw.
  out += v.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

std::string iso8601_utc_ms(int64_t at_us) {
  auto secs = at_us / 1'000'000;
  auto rem = at_us % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --secs;
  }
  auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(rem / 1000));
  return buf;
}

dlq_writer::~dlq_writer() {
  (void) flush();
  close();
}

void dlq_writer::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

status dlq_writer::open(const std::string& path) {
  close();
  path_ = path;
  buf_.clear();
  count_ = 0;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec)
      return error{errc::io_error, "cannot create the directory '" + parent.string()
                                     + "' for the dead-letter file: " + ec.message()};
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0)
    return error{errc::io_error, "cannot create the dead-letter file '" + path
                                   + "': " + std::strerror(errno)};
  return {};
}

status dlq_writer::write(const record& rec, const std::string& stage, const error& err,
                         int64_t at_us, const std::string& origin_text, const json& hops) {
  buf_ += "{\"time\":";
  append_json(iso8601_utc_ms(at_us), buf_);
  buf_ += ",\"stage\":";
  append_json(stage, buf_);
  buf_ += ",\"error\":{\"class\":";
  append_json(to_string(err.code), buf_);
  buf_ += ",\"message\":";
  append_json(err.message, buf_);
  buf_ += "},\"record\":{\"id\":";
  append_json(rec.id(), buf_);
  buf_ += ",\"content\":";
  append_json(rec.content(), buf_);
  buf_ += ",\"origin\":";
  append_json(origin_text, buf_);
  buf_ += ",\"lineage\":";
  append_json(hops, buf_);
  buf_ += "}}\n";
  ++count_;
  if (buf_.size() >= flush_bytes)
    return flush();
  return {};
}

status dlq_writer::flush() {
  if (buf_.empty())
    return {};
  if (fd_ < 0)
    return error{errc::io_error, "the dead-letter file is not open"};
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto e = error{errc::io_error, "cannot write the dead-letter file '" + path_
                                       + "': " + std::strerror(errno)};
      buf_.erase(0, buf_.size() - left);
      return e;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  buf_.clear();
  return {};
}

} // namespace sluice
