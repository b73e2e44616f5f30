#include "io/output_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sluice {

namespace {

error io_failure(const std::string& what, const std::string& path, int err = errno) {
  return error{errc::io_error, what + " '" + path + "': " + std::strerror(err)};
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

status write_all(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return io_failure("cannot write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

// Makes a rename durable. Some file systems cannot fsync a directory; the
// data itself is already synced, so that is not worth failing a run over.
void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void) ::fsync(fd);
    ::close(fd);
  }
}

} // namespace

output_file::output_file(std::string path, mode m, bool in_place)
  : path_(std::move(path)), mode_(m), in_place_(in_place) {
  temp_ = path_ + ".tmp-" + std::to_string(::getpid());
}

output_file::output_file(output_file&& other) noexcept
  : path_(std::move(other.path_)),
    temp_(std::move(other.temp_)),
    mode_(other.mode_),
    in_place_(other.in_place_),
    fd_(other.fd_),
    done_(other.done_) {
  other.fd_ = -1;
  other.done_ = true;
}

output_file::~output_file() {
  // Neither committed nor aborted (the run never got that far): staged bytes
  // are not output.
  abort();
}

void output_file::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

status output_file::open() {
  if (fd_ >= 0)
    return {};
  std::error_code ec;
  std::filesystem::create_directories(parent_of(path_), ec);
  if (ec)
    return error{errc::io_error, "cannot create the directory '" + parent_of(path_)
                                   + "': " + ec.message()};
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  if (in_place_)
    flags |= mode_ == mode::append ? O_APPEND : O_TRUNC;
  else
    flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC; // append mode reads it back
  auto& target = in_place_ ? path_ : temp_;
  fd_ = ::open(target.c_str(), flags, 0666);
  if (fd_ < 0)
    return io_failure("cannot create", target);
  return {};
}

status output_file::write(const char* data, size_t size) {
  if (done_)
    return error{errc::io_error, "'" + path_ + "' was already committed or aborted"};
  if (auto ok = open(); !ok)
    return ok;
  return write_all(fd_, data, size, in_place_ ? path_ : temp_);
}

status output_file::commit() {
  if (done_)
    return error{errc::io_error, "'" + path_ + "' was already committed or aborted"};
  if (auto ok = open(); !ok) {
    done_ = true;
    return ok;
  }
  done_ = true;
  auto& target = in_place_ ? path_ : temp_;
  if (::fsync(fd_) != 0) {
    auto err = io_failure("cannot sync", target);
    close();
    if (!in_place_)
      ::unlink(temp_.c_str());
    return err;
  }
  if (in_place_) {
    close();
    return {};
  }
  if (mode_ == mode::overwrite) {
    close();
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      auto err = io_failure("cannot rename '" + temp_ + "' to", path_);
      ::unlink(temp_.c_str());
      return err;
    }
    sync_dir(parent_of(path_));
    return {};
  }
  // Append: copy the staged bytes to the end of the final file; on failure
  // cut the final file back to what it was.
  auto fail = [&](error err) {
    close();
    ::unlink(temp_.c_str());
    return err;
  };
  int out = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (out < 0)
    return fail(io_failure("cannot open", path_));
  struct stat st {};
  if (::fstat(out, &st) != 0) {
    auto err = io_failure("cannot stat", path_);
    ::close(out);
    return fail(err);
  }
  auto old_size = st.st_size;
  auto restore = [&](error err) {
    (void) ::ftruncate(out, old_size);
    ::close(out);
    return fail(std::move(err));
  };
  if (::lseek(fd_, 0, SEEK_SET) < 0)
    return restore(io_failure("cannot read back", temp_));
  constexpr size_t chunk = size_t{1} << 20;
  auto buf = std::make_unique<char[]>(chunk);
  while (true) {
    ssize_t n = ::read(fd_, buf.get(), chunk);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return restore(io_failure("cannot read back", temp_));
    }
    if (n == 0)
      break;
    if (auto ok = write_all(out, buf.get(), static_cast<size_t>(n), path_); !ok)
      return restore(ok.err());
  }
  if (::fsync(out) != 0)
    return restore(io_failure("cannot sync", path_));
  ::close(out);
  close();
  ::unlink(temp_.c_str());
  return {};
}

void output_file::abort() {
  if (done_)
    return;
  done_ = true;
  bool existed = fd_ >= 0;
  close();
  if (!in_place_ && existed)
    ::unlink(temp_.c_str());
}

std::string output_file::keep_partial() {
  if (done_)
    return {};
  done_ = true;
  if (fd_ < 0)
    return {};
  struct stat info {};
  bool empty = ::fstat(fd_, &info) == 0 && info.st_size == 0;
  close();
  if (in_place_)
    return {};
  if (empty) {
    ::unlink(temp_.c_str());
    return {};
  }
  auto partial = path_ + ".partial";
  if (::rename(temp_.c_str(), partial.c_str()) != 0) {
    ::unlink(temp_.c_str());
    return {};
  }
  return partial;
}

} // namespace sluice
