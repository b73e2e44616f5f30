#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/params.hpp"
#include "core/field_path.hpp"
#include "io/json_parser.hpp"
#include "ops/operator.hpp"

namespace sluice {

/// Finishes the raw records a source reader produced (see
/// io/source_reader.hpp), in the source stage's replicas: the reader stays
/// thin, the parsing runs in parallel. Used by source.file and
/// source.generate.
///
/// Per record: a reader error (`meta()["error"]`) fails it as a parse_error
/// prefixed with "file:line: "; a JSON string is parsed as one JSON-lines
/// line, which must hold an object (on failure the content stays the raw
/// line, so a dead letter shows it); an object passes as is. Then the id:
/// the value of `id_field` when it is a string or an integer, else
/// "<source>:<line>" (one file) or "<source>:<file base name>:<line>"
/// (several files); a record that fails gets the latter kind too. Emits on
/// port 0.
class decode_op final : public op {
public:
  /// `file_names` are the reader's file_name(i) (for messages and ids);
  /// `id_field` nullopt: ids always come from the origin.
  decode_op(std::string source_id, std::vector<std::string> file_names,
            std::optional<field_path> id_field);

  void process(record&& rec, emitter& out) override;

private:
  std::string where(const record& rec) const;
  std::string origin_id(const record& rec) const;

  std::vector<std::string> names_;
  std::vector<std::string> id_prefixes_; ///< per file: "<source>:" or "<source>:<base>:"
  std::optional<field_path> id_field_;
  json_parser parser_; ///< this replica's (simdjson's buffers are reused per line)
};

/// Reads the `id_field` param shared by the source kinds into `out`: absent
/// means "id"; null or "" turns ids from the content off. Returns false (and
/// reports through `p`) when the param is malformed.
bool read_id_field(params_reader& p, std::optional<field_path>& out);

} // namespace sluice
