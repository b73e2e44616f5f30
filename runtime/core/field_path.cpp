#include "core/field_path.hpp"

#include <cctype>
#include <cstdint>

namespace sluice {

namespace {

bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::string describe(std::string_view text, size_t pos, const char* what) {
  return "field path '" + std::string{text} + "': column "
         + std::to_string(pos + 1) + ": " + what;
}

} // namespace

result<field_path> field_path::parse(std::string_view text) {
  std::vector<segment> segs;
  size_t i = 0;
  auto n = text.size();
  if (n == 0)
    return error{errc::invalid_config, "empty field path: write '.' for the whole record or '.name' for a field"};
  if (text == ".")
    return field_path{};
  // A bare name ("user") is read as ".user".
  bool first = true;
  while (i < n) {
    if (text[i] == '.') {
      ++i;
      if (i < n && text[i] == '"') {
        ++i;
        std::string key;
        bool closed = false;
        while (i < n) {
          char c = text[i++];
          if (c == '\\' && i < n) {
            key.push_back(text[i++]);
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            key.push_back(c);
          }
        }
        if (!closed)
          return error{errc::invalid_config, describe(text, i, "unterminated quoted key")};
        segs.emplace_back(std::move(key));
      } else {
        auto start = i;
        while (i < n && is_ident_char(text[i]))
          ++i;
        if (i == start)
          return error{errc::invalid_config, describe(text, i, "expected a field name after '.'")};
        segs.emplace_back(std::string{text.substr(start, i - start)});
      }
    } else if (text[i] == '[') {
      ++i;
      bool neg = false;
      if (i < n && text[i] == '-') {
        neg = true;
        ++i;
      }
      auto start = i;
      int64_t idx = 0;
      while (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) {
        int digit = text[i] - '0';
        // Checked before multiplying: overflowing int64_t is undefined and
        // would silently address some other element.
        if (idx > (INT64_MAX - digit) / 10)
          return error{errc::invalid_config,
                       describe(text, start, "index too large (at most 9223372036854775807)")};
        idx = idx * 10 + digit;
        ++i;
      }
      if (i == start || i >= n || text[i] != ']')
        return error{errc::invalid_config, describe(text, i, "expected an index like [0] or [-1]")};
      ++i;
      segs.emplace_back(neg ? -idx : idx);
    } else if (first && is_ident_char(text[i])) {
      auto start = i;
      while (i < n && is_ident_char(text[i]))
        ++i;
      segs.emplace_back(std::string{text.substr(start, i - start)});
    } else {
      return error{errc::invalid_config, describe(text, i, "expected '.', '[' or a field name")};
    }
    first = false;
  }
  return field_path{std::move(segs)};
}

std::string field_path::str() const {
  if (segs_.empty())
    return ".";
  std::string out;
  for (auto& seg : segs_) {
    if (auto key = std::get_if<std::string>(&seg)) {
      bool plain = !key->empty();
      for (char c : *key)
        plain = plain && is_ident_char(c);
      out.push_back('.');
      if (plain) {
        out += *key;
      } else {
        out.push_back('"');
        for (char c : *key) {
          if (c == '"' || c == '\\')
            out.push_back('\\');
          out.push_back(c);
        }
        out.push_back('"');
      }
    } else {
      out += '[' + std::to_string(std::get<int64_t>(seg)) + ']';
    }
  }
  return out;
}

} // namespace sluice
