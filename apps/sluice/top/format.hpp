#pragma once

// Text helpers of the console: numbers that fit a narrow column, durations,
// sparklines, and the display width of UTF-8 text. Pure functions, no
// terminal; the table (table.hpp) and the frame (console.hpp) use them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::top {

/// A count in at most 4 characters: "0", "999", "1.2k", "12k", "123k",
/// "1.2M", ... up to "T".
std::string format_count(double v);

/// A rate in at most 4 characters: like format_count, with one decimal
/// below 10 ("0.5", "9.9") so a trickle is not shown as 0.
std::string format_rate(double per_s);

/// A latency in milliseconds in at most 6 characters: "850us", "3.4ms",
/// "123ms", "1.2s", "42s", "17m", "5h"; "-" when nothing was observed
/// (count 0).
std::string format_latency_ms(double ms, uint64_t count);

/// Bytes with binary units: "512B", "12K", "45M", "1.2G".
std::string format_bytes(uint64_t bytes);

/// An uptime: "42s", "5m03s", "1h02m", "3d04h".
std::string format_uptime(double seconds);

/// Local wall-clock time of microseconds since the epoch: "HH:MM:SS".
std::string format_clock(int64_t us);

/// The last `width` values of `history` (oldest first) as a sparkline,
/// scaled to the largest value shown: ▁▂▃▄▅▆▇█ when `utf8`, "_.-:=+*#"
/// otherwise. Zero is the lowest bar, the largest value the highest, and
/// anything above zero at least the second. Padded on the left with spaces when the history is shorter.
std::string sparkline(const std::vector<double>& history, int width, bool utf8);

/// Columns the text takes on a terminal: one per code point (everything
/// the console prints is narrow; continuation bytes do not count).
int display_width(std::string_view text);

enum class align { left, right };

/// `text` cut or padded with spaces to exactly `width` columns. A cut text
/// ends in "…" (utf8) or "~" so the reader sees it was cut.
std::string fit(std::string_view text, int width, align a, bool utf8);

/// `text` cut to at most `width` columns, never padded.
std::string clip(std::string_view text, int width);

/// Whether the current C locale (after setlocale) encodes UTF-8.
bool locale_is_utf8();

} // namespace sluice::top
