#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace sluice {

/// The file a sink writes, with the all-or-nothing rule of a bounded run.
///
/// Staged (a bounded run): bytes go to `<path>.tmp-<pid>` next to the target;
/// commit() fsyncs it and renames it over `path` (overwrite) or appends its
/// bytes to `path` (append; the file is truncated back to its old size if
/// that fails); abort() removes it. A failed run never leaves a half file
/// under the final name.
///
/// In place (a streaming run): bytes go straight to `path` (truncated, or
/// appended to), so readers see them as they come; commit() fsyncs, abort()
/// only closes (what was written stays).
///
/// The file and its missing parent directories are created on the first
/// write, or by commit() for an empty output, never at construction (a sink
/// is also built just to validate a config). write() is unbuffered: callers
/// batch. Destroying it without commit() counts as abort().
class output_file {
public:
  enum class mode : uint8_t { overwrite, append };

  output_file(std::string path, mode m, bool in_place);
  ~output_file();

  output_file(output_file&& other) noexcept;
  output_file& operator=(output_file&&) = delete;
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;

  /// Writes all of `data`, creating the file first if needed.
  status write(const char* data, size_t size);

  /// Creates the file (and its missing directories) now; idempotent. The
  /// sink calls it when the run starts, so a path that cannot be written
  /// fails the run before a single record moves.
  status open();

  /// Makes the output final (see above). Called once; an error leaves no
  /// temporary file behind.
  status commit();

  /// Discards staged output. Safe to call at any time, also after commit.
  void abort();

  /// The end of a failed run: staged output that holds bytes is renamed to
  /// `<path>.partial` (replacing an older one) and that name is returned, so
  /// what the sink fully received is kept without ever appearing under the
  /// final name. Returns "" when nothing was staged (and removes an empty
  /// temporary file) or when writing in place (the bytes are already there).
  std::string keep_partial();

  const std::string& path() const noexcept { return path_; }

  /// Where bytes go before commit (the path itself when in place).
  const std::string& target() const noexcept { return in_place_ ? path_ : temp_; }

private:
  void close();

  std::string path_;
  std::string temp_;
  mode mode_;
  bool in_place_;
  int fd_ = -1;
  bool done_ = false;
};

} // namespace sluice
