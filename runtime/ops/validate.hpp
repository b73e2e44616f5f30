#pragma once

#include "ops/operator.hpp"
#include "ops/registry.hpp"
#include "ops/schema.hpp"

namespace sluice {

/// `validate`: checks each record's whole content against a compiled JSON
/// Schema. A valid record goes on to port 0; an invalid one fails with
/// errc::schema_violation naming every broken rule, and the stage's
/// on_error policy decides (fail the run, drop it, or dead-letter it).
class validate_op final : public op {
public:
  explicit validate_op(schema s) : schema_(std::move(s)) {
  }

  void process(record&& rec, emitter& out) override;

private:
  schema schema_;
};

/// The `validate` stage kind (params: `schema`, a JSON Schema object).
stage_kind describe_validate();

} // namespace sluice
