#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/field_path.hpp"
#include "core/result.hpp"

namespace sluice::expr {

/// Kinds of token of the expression language.
enum class tok : uint8_t {
  end,
  integer,  ///< digits without '.' or exponent; `integer` holds the magnitude
  floating, ///< a number with a fraction or an exponent; `floating`
  string,   ///< a double-quoted string; `text` holds it unescaped
  path,     ///< `.a.b[0]`, `."odd key"`, `.`; `path`
  name,     ///< a bare word: function name or true/false/null/in; `text`
  lparen, rparen, lbracket, rbracket, comma,
  bang, minus, plus, star, slash, percent,
  less, less_equal, greater, greater_equal, equal, not_equal,
  and_and, or_or,
};

/// One token, with its byte range in the source for columns and messages.
struct token {
  tok kind = tok::end;
  size_t pos = 0;
  size_t len = 0;
  uint64_t integer = 0;  ///< magnitude of an integer literal
  bool too_big = false;  ///< the integer literal does not fit uint64
  double floating = 0.0;
  std::string text;
  field_path path;
};

/// 1-based column of byte `pos` in `text`, counting UTF-8 code points.
size_t column_of(std::string_view text, size_t pos) noexcept;

/// A compile error at byte `pos`: "column N: <what>".
error error_at(std::string_view text, size_t pos, const std::string& what);

/// Splits expression source into tokens, one `next()` at a time, so the
/// first error in reading order is the one reported. Field paths are single
/// tokens: no whitespace is allowed inside `.a.b[0]`.
class lexer {
public:
  explicit lexer(std::string_view text) : text_(text) {}

  result<token> next();

  std::string_view text() const noexcept { return text_; }

private:
  result<token> lex_number(size_t start);
  result<token> lex_string(size_t start);
  result<token> lex_path(size_t start);
  // Reads a quoted string starting at the quote `i`; leaves `i` after it.
  result<std::string> read_quoted(size_t& i);

  std::string_view text_;
  size_t pos_ = 0;
};

/// Whether `c` may appear in a bare key after '.' or in a name: ASCII
/// letters, digits, '_' and any byte of a multi-byte UTF-8 sequence.
inline bool is_name_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9')
         || u == '_' || u >= 0x80;
}

} // namespace sluice::expr
