#include "ops/validate.hpp"

#include "ops/kinds.hpp"

namespace sluice {

void validate_op::process(record&& rec, emitter& out) {
  auto st = schema_.validate(rec.content());
  if (st)
    out.emit(std::move(rec));
  else
    out.fail(std::move(rec), st.err());
}

stage_kind describe_validate() {
  stage_kind k;
  k.name = "validate";
  k.role = stage_role::transform;
  k.summary = "passes records that match a JSON Schema; fails the others (on_error decides)";
  k.make_op = [](const stage_spec&, params_reader& p) -> op_ptr {
    auto raw = p.raw("schema");
    bool ok = true;
    std::optional<schema> compiled;
    if (raw == nullptr) {
      p.error("schema", "missing required param 'schema': a JSON Schema object that "
                        "valid records match, e.g. {\"type\": \"object\", \"required\": [\"id\"]}");
      ok = false;
    } else if (!raw->is_object()) {
      p.error("schema", "expected a JSON Schema object, got " + describe_value(*raw));
      ok = false;
    } else {
      std::vector<schema_problem> problems;
      auto s = schema::compile(*raw, &problems);
      if (s) {
        compiled = std::move(*s);
      } else {
        // Each problem at its own place inside the schema, e.g.
        // /stages/1/params/schema/properties/amount/minimum.
        for (auto& prob : problems)
          p.diags().error(p.path_of("schema") + prob.pointer, prob.message);
        ok = false;
      }
    }
    if (!p.finish() || !ok)
      return nullptr;
    return std::make_unique<validate_op>(std::move(*compiled));
  };
  return k;
}

} // namespace sluice
