#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

/// The record formats sluice reads and writes as files.
enum class data_format : uint8_t {
  jsonl, ///< one JSON object per line (JSON lines, NDJSON)
  csv,   ///< RFC 4180 comma-separated values with a header row
};

inline const char* to_string(data_format f) {
  return f == data_format::csv ? "csv" : "jsonl";
}

/// The format a file name implies: `.csv` is CSV; `.jsonl`, `.ndjson` and
/// `.json` are JSON lines; anything else (and "-") implies nothing. Works on
/// glob patterns too (`data/*.csv`). Case-insensitive.
inline std::optional<data_format> format_from_extension(std::string_view path) {
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return std::nullopt;
  auto ext = path.substr(dot + 1);
  auto is = [&](std::string_view want) {
    if (ext.size() != want.size())
      return false;
    for (size_t i = 0; i < ext.size(); ++i) {
      char c = ext[i];
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
      if (c != want[i])
        return false;
    }
    return true;
  };
  if (is("csv"))
    return data_format::csv;
  if (is("jsonl") || is("ndjson") || is("json"))
    return data_format::jsonl;
  return std::nullopt;
}

} // namespace sluice
