#include "ops/registry.hpp"

#include "ops/kinds.hpp"

namespace sluice {

stage_registry::stage_registry() {
  // The table of stage kinds. Adding a kind adds one line here.
  kinds_ = {
    describe_source_file(),
    describe_source_generate(),
    describe_source_dlq(),
    describe_map(),
    describe_filter(),
    describe_validate(),
    describe_route(),
    describe_dedupe(),
    describe_aggregate(),
    describe_chaos(),
    describe_sink_file(),
    describe_sink_stdout(),
    describe_sink_null(),
  };
  // Every factory's params reader gets the pipeline's names, so an
  // expression in any kind can read lineage.* without the kind passing them.
  for (auto& k : kinds_) {
    if (!k.make_op)
      continue;
    k.make_op = [make = std::move(k.make_op)](const stage_spec& spec, params_reader& p) {
      p.names(spec.names);
      return make(spec, p);
    };
  }
}

const stage_registry& stage_registry::instance() {
  static const stage_registry registry;
  return registry;
}

const stage_kind* stage_registry::find(const std::string& name) const {
  for (auto& k : kinds_)
    if (k.name == name)
      return &k;
  return nullptr;
}

} // namespace sluice
