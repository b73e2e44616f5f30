#pragma once

#include <optional>
#include <string>

#include "io/dlq_reader.hpp"
#include "ops/registry.hpp"

namespace sluice {

/// `source.dlq`: reads a dead-letter file back as records, optionally only
/// the dead letters of one stage or one error class (docs/stages.md,
/// docs/dead-letters.md). `sluice dlq replay` puts one in front of the stage
/// it replays into. The reader (io/dlq_reader.hpp) rebuilds the records; the
/// stage's operator (dlq_source_op) passes them on and fails the lines that
/// are not dead letters.
stage_kind describe_source_dlq();

/// A source.dlq stage's params, checked, with its `path` resolved.
struct source_dlq_settings {
  input_file file;
  dlq_filter filter;
};

/// Parses and checks the params (every problem through `p`); nullopt when
/// there was any. make_op and make_reader both call it.
std::optional<source_dlq_settings> parse_source_dlq(const stage_spec& spec, params_reader& p);

/// source.dlq's operator: a record the reader marked with `meta()["error"]`
/// fails as a parse_error "<file>:<line>: <reason>" (id "<stage id>:<line>");
/// every other record is emitted as it is, keeping its id.
class dlq_source_op final : public op {
public:
  dlq_source_op(std::string source_id, std::string file_name);

  void process(record&& rec, emitter& out) override;

private:
  std::string source_id_;
  std::string file_name_;
};

} // namespace sluice
