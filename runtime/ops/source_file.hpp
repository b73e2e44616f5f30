#pragma once

#include <optional>
#include <vector>

#include "io/file_reader.hpp"
#include "ops/registry.hpp"

namespace sluice {

/// `source.file`: reads JSON lines or CSV from a file, a glob of files or
/// stdin (docs/stages.md). The reader cuts lines (io/file_reader.hpp); the
/// stage's decode_op replicas parse them.
stage_kind describe_source_file();

/// A source.file stage's params, checked, with its `path` expanded.
struct source_file_settings {
  std::vector<input_file> files;
  file_reader_options reader;
  std::optional<field_path> id_field;

  std::vector<std::string> file_names() const;
};

/// Parses and checks the params (every problem reported through `p`, and
/// unknown params by `p.finish()`); nullopt when there was any. make_op and
/// make_reader both call it, so each reads every param.
std::optional<source_file_settings> parse_source_file(const stage_spec& spec,
                                                      params_reader& p);

} // namespace sluice
