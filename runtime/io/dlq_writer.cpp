#include "io/dlq_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>

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

dead_letter dead_letter::from_meta(const json& info) {
  dead_letter d;
  if (!info.is_object())
    return d;
  auto text = [&](const char* key) {
    auto i = info.find(key);
    return i != info.end() && i->is_string() ? i->get<std::string>() : std::string{};
  };
  auto micros = [&](const char* key) -> int64_t {
    auto i = info.find(key);
    return i != info.end() && i->is_number_integer() ? i->get<int64_t>() : 0;
  };
  d.stage = text("stage");
  d.error_class = text("class");
  d.message = text("message");
  if (auto i = info.find("attempts"); i != info.end() && i->is_number_integer()
                                      && i->get<int64_t>() >= 1)
    d.attempts = static_cast<uint32_t>(std::min<int64_t>(i->get<int64_t>(), std::numeric_limits<uint32_t>::max()));
  auto legacy = micros("time_us");
  d.last_failure_us = micros("last_failure_us");
  if (d.last_failure_us == 0)
    d.last_failure_us = legacy;
  d.first_failure_us = micros("first_failure_us");
  if (d.first_failure_us == 0)
    d.first_failure_us = d.last_failure_us;
  if (d.last_failure_us == 0)
    d.last_failure_us = d.first_failure_us;
  return d;
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

status dlq_writer::write(const record& rec, const dead_letter& why,
                         const dead_letter_origin& origin, const json& hops) {
  auto last = iso8601_utc_ms(why.last_failure_us);
  buf_ += "{\"time\":";
  append_json(last, buf_);
  buf_ += ",\"stage\":";
  append_json(why.stage, buf_);
  buf_ += ",\"error\":{\"class\":";
  append_json(why.error_class, buf_);
  buf_ += ",\"message\":";
  append_json(why.message, buf_);
  buf_ += "},\"attempts\":";
  buf_ += std::to_string(why.attempts);
  buf_ += ",\"first_failure\":";
  append_json(iso8601_utc_ms(why.first_failure_us), buf_);
  buf_ += ",\"last_failure\":";
  append_json(last, buf_);
  buf_ += ",\"record\":{\"id\":";
  append_json(rec.id(), buf_);
  buf_ += ",\"content\":";
  append_json(rec.content(), buf_);
  buf_ += ",\"origin\":";
  append_json(origin.text, buf_);
  buf_ += ",\"position\":{\"source\":";
  append_json(origin.source, buf_);
  buf_ += ",\"file\":";
  append_json(origin.file, buf_);
  buf_ += ",\"line\":";
  buf_ += std::to_string(origin.line);
  buf_ += "},\"lineage\":";
  append_json(hops, buf_);
  // The rest of the meta (e.g. "replayed_from" of a record replayed before)
  // travels along, so a replay rebuilds the record as it was.
  auto& meta = rec.meta();
  if (meta.is_object()) {
    bool other = false;
    for (auto& [key, value] : meta.items()) {
      (void) value;
      other = other || key != "dlq";
    }
    if (other) {
      auto rest = meta;
      rest.erase("dlq");
      buf_ += ",\"meta\":";
      append_json(rest, buf_);
    }
  }
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
