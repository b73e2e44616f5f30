#pragma once

#include <cstddef>
#include <istream>
#include <string>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {

/// How much `sluice dlq inspect` lists.
struct dlq_inspect_options {
  size_t top_messages = 10;   ///< distinct messages listed per stage
  size_t malformed_lines = 5; ///< malformed lines listed with their reason
};

/// Summarises a dead-letter file (lines as io/dlq_writer.hpp writes them,
/// read by parse_dead_letter): the total, counts by stage and by stage and
/// error class, the most frequent messages per stage, the time range of the
/// failures, retried dead letters, and the lines that are not dead letters.
/// `name` is what the summary calls the file. Messages are grouped with a
/// leading "file:line: " left out, so one problem on many lines is one
/// message. Blank lines are skipped. The summary, as JSON (the `--format
/// json` output; docs/dead-letters.md shows it):
///
///   {"file", "total", "first_failure", "last_failure", "retried",
///    "max_attempts", "malformed": {"count", "lines": [{"line", "error"}]},
///    "stages": [{"stage", "count", "classes": [{"class", "count"}],
///                "messages": [{"class", "message", "count"}],
///                "more_messages": {"distinct", "count"}}]}
///
/// Stages, classes and messages come most frequent first (ties by name).
json inspect_dead_letters(std::istream& in, const std::string& name,
                          const dlq_inspect_options& opts = {});

/// The same, from a file; an io_error naming it if it cannot be read.
result<json> inspect_dead_letter_file(const std::string& path,
                                      const dlq_inspect_options& opts = {});

/// The summary as text for people: a table of stages and classes, the top
/// messages per stage, the malformed lines.
std::string render_dead_letter_summary(const json& summary);

} // namespace sluice
