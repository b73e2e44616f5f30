#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace sluice {

/// A path into a record's content: `.a.b`, `.tags[0]`, `."odd key"`.
/// Each segment is an object key or an array index. The empty path is the
/// whole record. Parsed once, at config load, never per record.
class field_path {
public:
  using segment = std::variant<std::string, int64_t>;

  field_path() = default;
  explicit field_path(std::vector<segment> segs) : segs_(std::move(segs)) {}

  /// Parses the path syntax above. A bare name without the leading dot
  /// (`user`, as in `rename: {"user": "customer"}`) is accepted too.
  static result<field_path> parse(std::string_view text);

  const std::vector<segment>& segments() const noexcept { return segs_; }
  bool empty() const noexcept { return segs_.empty(); }

  /// Renders the path back in the syntax it was parsed from.
  std::string str() const;

  friend bool operator==(const field_path& a, const field_path& b) {
    return a.segs_ == b.segs_;
  }

private:
  std::vector<segment> segs_;
};

} // namespace sluice
