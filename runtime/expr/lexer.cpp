#include "expr/lexer.hpp"

#include <charconv>
#include <cmath>
#include <vector>

namespace sluice::expr {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_name_start(char c) noexcept {
  return is_name_char(c) && !is_digit(c);
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the UTF-8 sequence led by `c` (1 for ASCII and stray bytes).
size_t utf8_length(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0xF0)
    return 4;
  if (u >= 0xE0)
    return 3;
  if (u >= 0xC0)
    return 2;
  return 1;
}

} // namespace

size_t column_of(std::string_view text, size_t pos) noexcept {
  if (pos > text.size())
    pos = text.size();
  size_t col = 1;
  for (size_t i = 0; i < pos; ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
      ++col;
  return col;
}

error error_at(std::string_view text, size_t pos, const std::string& what) {
  return error{errc::invalid_config,
               "column " + std::to_string(column_of(text, pos)) + ": " + what};
}

result<token> lexer::next() {
  auto n = text_.size();
  while (pos_ < n && is_space(text_[pos_]))
    ++pos_;
  token t;
  t.pos = pos_;
  if (pos_ >= n)
    return t;
  auto start = pos_;
  char c = text_[pos_];
  char c2 = pos_ + 1 < n ? text_[pos_ + 1] : '\0';
  auto punct = [&](tok kind, size_t len) {
    t.kind = kind;
    t.len = len;
    pos_ += len;
    return result<token>{std::move(t)};
  };
  switch (c) {
    case '(': return punct(tok::lparen, 1);
    case ')': return punct(tok::rparen, 1);
    case '[': return punct(tok::lbracket, 1);
    case ']': return punct(tok::rbracket, 1);
    case ',': return punct(tok::comma, 1);
    case '+': return punct(tok::plus, 1);
    case '-': return punct(tok::minus, 1);
    case '*': return punct(tok::star, 1);
    case '/': return punct(tok::slash, 1);
    case '%': return punct(tok::percent, 1);
    case '!': return c2 == '=' ? punct(tok::not_equal, 2) : punct(tok::bang, 1);
    case '<': return c2 == '=' ? punct(tok::less_equal, 2) : punct(tok::less, 1);
    case '>': return c2 == '=' ? punct(tok::greater_equal, 2) : punct(tok::greater, 1);
    case '=':
      if (c2 == '=')
        return punct(tok::equal, 2);
      return error_at(text_, start, "'=' is not an operator; write '==' to compare");
    case '&':
      if (c2 == '&')
        return punct(tok::and_and, 2);
      return error_at(text_, start, "'&' is not an operator; write '&&' for 'and'");
    case '|':
      if (c2 == '|')
        return punct(tok::or_or, 2);
      return error_at(text_, start, "'|' is not an operator; write '||' for 'or'");
    case '\'':
      return error_at(text_, start,
                      "strings are written in double quotes (\"text\"; inside a JSON "
                      "config, \\\"text\\\")");
    case '"': return lex_string(start);
    case '.': return lex_path(start);
    default: break;
  }
  if (is_digit(c))
    return lex_number(start);
  if (is_name_start(c)) {
    auto i = start;
    while (i < n && is_name_char(text_[i]))
      ++i;
    t.kind = tok::name;
    t.len = i - start;
    t.text = std::string{text_.substr(start, t.len)};
    pos_ = i;
    return t;
  }
  auto len = std::min(utf8_length(c), n - start);
  return error_at(text_, start,
                  "unexpected character '" + std::string{text_.substr(start, len)} + "'");
}

result<token> lexer::lex_number(size_t start) {
  auto n = text_.size();
  auto i = start;
  while (i < n && is_digit(text_[i]))
    ++i;
  bool is_float = false;
  if (i < n && text_[i] == '.') {
    if (i + 1 >= n || !is_digit(text_[i + 1]))
      return error_at(text_, i + 1, "expected a digit after the decimal point");
    is_float = true;
    ++i;
    while (i < n && is_digit(text_[i]))
      ++i;
  }
  if (i < n && (text_[i] == 'e' || text_[i] == 'E')) {
    is_float = true;
    ++i;
    if (i < n && (text_[i] == '+' || text_[i] == '-'))
      ++i;
    if (i >= n || !is_digit(text_[i]))
      return error_at(text_, i, "expected digits in the exponent of the number");
    while (i < n && is_digit(text_[i]))
      ++i;
  }
  if (i < n && is_name_char(text_[i])) {
    auto end = i;
    while (end < n && is_name_char(text_[end]))
      ++end;
    return error_at(text_, start,
                    "invalid number '" + std::string{text_.substr(start, end - start)} + "'");
  }
  token t;
  t.pos = start;
  t.len = i - start;
  const char* first = text_.data() + start;
  const char* last = text_.data() + i;
  if (is_float) {
    t.kind = tok::floating;
    auto [ptr, ec] = std::from_chars(first, last, t.floating);
    if (ec != std::errc{} || ptr != last || !std::isfinite(t.floating))
      return error_at(text_, start, "number " + std::string{first, last}
                                      + " is out of range for a float");
  } else {
    t.kind = tok::integer;
    auto [ptr, ec] = std::from_chars(first, last, t.integer);
    t.too_big = ec != std::errc{} || ptr != last;
  }
  pos_ = i;
  return t;
}

result<std::string> lexer::read_quoted(size_t& i) {
  auto n = text_.size();
  auto quote = i++;
  std::string out;
  while (i < n) {
    char c = text_[i];
    if (c == '"') {
      ++i;
      return out;
    }
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    auto escape = i;
    if (i + 1 >= n)
      break;
    char e = text_[i + 1];
    i += 2;
    switch (e) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        auto read_hex4 = [&](size_t at, uint32_t& cp) {
          if (at + 4 > n)
            return false;
          cp = 0;
          for (size_t k = 0; k < 4; ++k) {
            int h = hex_value(text_[at + k]);
            if (h < 0)
              return false;
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          return true;
        };
        uint32_t cp = 0;
        if (!read_hex4(i, cp))
          return error_at(text_, escape, "expected four hex digits after \\u");
        i += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return error_at(text_, escape, "\\u escape is a lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low = 0;
          if (i + 1 < n && text_[i] == '\\' && text_[i + 1] == 'u' && read_hex4(i + 2, low)
              && low >= 0xDC00 && low <= 0xDFFF) {
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else {
            return error_at(text_, escape,
                            "\\u escape is a high surrogate without a low surrogate "
                            "after it");
          }
        }
        append_utf8(out, cp);
        break;
      }
      default: {
        auto len = std::min(utf8_length(e), n - (i - 1));
        return error_at(text_, escape,
                        "unknown escape '\\" + std::string{text_.substr(i - 1, len)}
                          + "' in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t "
                            "\\uXXXX)");
      }
    }
  }
  return error_at(text_, quote, "unterminated string");
}

result<token> lexer::lex_string(size_t start) {
  auto i = start;
  auto str = read_quoted(i);
  if (!str)
    return str.err();
  token t;
  t.kind = tok::string;
  t.pos = start;
  t.len = i - start;
  t.text = std::move(*str);
  pos_ = i;
  return t;
}

result<token> lexer::lex_path(size_t start) {
  auto n = text_.size();
  auto i = start + 1;
  std::vector<field_path::segment> segs;
  // Reads one key at `i` (bare or quoted); false if there is none.
  auto read_key = [&]() -> result<bool> {
    if (i < n && is_name_char(text_[i])) {
      auto from = i;
      while (i < n && is_name_char(text_[i]))
        ++i;
      segs.emplace_back(std::string{text_.substr(from, i - from)});
      return true;
    }
    if (i < n && text_[i] == '"') {
      auto key = read_quoted(i);
      if (!key)
        return key.err();
      segs.emplace_back(std::move(*key));
      return true;
    }
    return false;
  };
  auto first = read_key();
  if (!first)
    return first.err();
  if (!*first && i < n && text_[i] == '.')
    return error_at(text_, i, "expected a field name after '.' (quote odd keys: .\"my key\")");
  for (;;) {
    while (i < n && text_[i] == '[') {
      auto open = i++;
      bool negative = i < n && text_[i] == '-';
      if (negative)
        ++i;
      auto digits = i;
      while (i < n && is_digit(text_[i]))
        ++i;
      int64_t idx = 0;
      auto [ptr, ec] = std::from_chars(text_.data() + digits, text_.data() + i, idx);
      if (i == digits || ec != std::errc{} || ptr != text_.data() + i || i >= n
          || text_[i] != ']')
        return error_at(text_, open, "expected an index like [0] or [-1]");
      ++i;
      segs.emplace_back(negative ? -idx : idx);
    }
    if (i < n && text_[i] == '.') {
      ++i;
      auto key = read_key();
      if (!key)
        return key.err();
      if (!*key)
        return error_at(text_, i,
                        "expected a field name after '.' (quote odd keys: .\"my key\")");
      continue;
    }
    break;
  }
  token t;
  t.kind = tok::path;
  t.pos = start;
  t.len = i - start;
  t.path = field_path{std::move(segs)};
  pos_ = i;
  return t;
}

} // namespace sluice::expr
