#include "top/format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <langinfo.h>
#include <strings.h>

namespace sluice::top {

namespace {

std::string printf_text(const char* fmt, double v, const char* unit) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v, unit);
  return buf;
}

/// v >= 1000 scaled to k, M, G, T with two significant digits below 10.
std::string scaled(double v) {
  static const char* units[] = {"k", "M", "G", "T"};
  for (const char* unit : units) {
    v /= 1000;
    if (v < 9.95)
      return printf_text("%.1f%s", v, unit);
    if (v < 999.5)
      return printf_text("%.0f%s", v, unit);
  }
  return printf_text("%.0f%s", v, "T");
}

} // namespace

std::string format_count(double v) {
  if (!(v > 0))
    return "0";
  if (std::round(v) < 1000)
    return printf_text("%.0f%s", v, "");
  return scaled(v);
}

std::string format_rate(double per_s) {
  if (!(per_s > 0))
    return "0";
  if (per_s < 9.95 && std::round(per_s * 10) != std::round(per_s) * 10)
    return printf_text("%.1f%s", per_s, "");
  return format_count(per_s);
}

std::string format_latency_ms(double ms, uint64_t count) {
  if (count == 0 || !(ms >= 0))
    return "-";
  if (ms < 1)
    return printf_text("%.0f%s", ms * 1000, "us");
  if (ms < 9.95)
    return printf_text("%.1f%s", ms, "ms");
  if (ms < 999.5)
    return printf_text("%.0f%s", ms, "ms");
  if (ms < 9950)
    return printf_text("%.1f%s", ms / 1000, "s");
  if (ms < 999'500)
    return printf_text("%.0f%s", ms / 1000, "s");
  if (ms < 999.5 * 60'000)
    return printf_text("%.0f%s", ms / 60'000, "m");
  return printf_text("%.0f%s", std::min(ms / 3'600'000, 99'999.0), "h");
}

std::string format_bytes(uint64_t bytes) {
  static const char* units[] = {"K", "M", "G", "T"};
  double v = static_cast<double>(bytes);
  if (v < 1024)
    return printf_text("%.0f%s", v, "B");
  for (const char* unit : units) {
    v /= 1024;
    if (v < 9.95)
      return printf_text("%.1f%s", v, unit);
    if (v < 1023.5 || unit[0] == 'T')
      return printf_text("%.0f%s", v, unit);
  }
  return "?";
}

std::string format_uptime(double seconds) {
  auto s = static_cast<long long>(std::max(0.0, seconds));
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
  return buf;
}

std::string format_clock(int64_t us) {
  std::time_t t = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string sparkline(const std::vector<double>& history, int width, bool utf8) {
  static const char* bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  static const char ascii[] = "_.-:=+*#";
  if (width <= 0)
    return {};
  auto n = std::min(history.size(), static_cast<size_t>(width));
  auto first = history.end() - static_cast<std::ptrdiff_t>(n);
  double top = 0;
  for (auto it = first; it != history.end(); ++it)
    top = std::max(top, *it);
  std::string out(static_cast<size_t>(width) - n, ' ');
  for (auto it = first; it != history.end(); ++it) {
    int level = 0;
    if (*it > 0 && top > 0)
      level = static_cast<int>(std::ceil(*it / top * 7 - 1e-9));
    level = std::clamp(level, 0, 7);
    if (utf8)
      out += bars[level];
    else
      out += ascii[level];
  }
  return out;
}

int display_width(std::string_view text) {
  int n = 0;
  for (unsigned char ch : text)
    if ((ch & 0xC0) != 0x80)
      ++n;
  return n;
}

std::string clip(std::string_view text, int width) {
  if (width <= 0)
    return {};
  int n = 0;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    auto ch = static_cast<unsigned char>(text[i]);
    if ((ch & 0xC0) != 0x80) {
      if (n == width)
        break;
      ++n;
    }
  }
  return std::string{text.substr(0, i)};
}

std::string fit(std::string_view text, int width, align a, bool utf8) {
  if (width <= 0)
    return {};
  int w = display_width(text);
  if (w > width)
    return clip(text, width - 1) + (utf8 ? "…" : "~");
  std::string pad(static_cast<size_t>(width - w), ' ');
  return a == align::left ? std::string{text} + pad : pad + std::string{text};
}

bool locale_is_utf8() {
  const char* codeset = nl_langinfo(CODESET);
  return codeset
         && (strcasecmp(codeset, "UTF-8") == 0 || strcasecmp(codeset, "utf8") == 0);
}

} // namespace sluice::top
