#pragma once

// A metrics snapshot in the Prometheus text exposition format 0.0.4, as
// served by GET /metrics (actors/http_endpoint). Every family and its labels
// are listed in docs/observability.md.

#include <string>
#include <string_view>

#include "metrics/snapshot.hpp"

namespace sluice {

/// The Content-Type of what render_prometheus returns.
inline constexpr std::string_view prometheus_content_type =
  "text/plain; version=0.0.4; charset=utf-8";

/// Renders `s` as Prometheus text: each family once, with its HELP and TYPE
/// lines, its samples together; families without samples are left out.
/// Stage families carry the labels pipeline, stage and replica (one series
/// per replica view; a stage without replica views gets one series,
/// replica="0", from its totals). Times are in seconds and sizes in bytes,
/// written as plain decimals (never an exponent, never NaN or Inf: a
/// non-finite value is written as 0). Label values are escaped (\\, \", \n).
std::string render_prometheus(const metrics_snapshot& s);

/// Escapes a label value for the text format: backslash, double quote and
/// line feed become \\, \" and \n.
std::string prometheus_escape_label(std::string_view value);

/// A number as Prometheus reads it: the shortest plain decimal that reads
/// back as `v` ("0.00005", "12", "1.5"); 0 for NaN and infinities.
std::string prometheus_number(double v);

/// Microseconds as an exact decimal number of seconds: 1500000 -> "1.5",
/// 50 -> "0.00005", -2 -> "-0.000002".
std::string prometheus_seconds(int64_t us);

} // namespace sluice
