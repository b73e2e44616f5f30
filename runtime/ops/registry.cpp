#include "ops/registry.hpp"

#include "ops/call.hpp"
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
    describe_http(),
    describe_classify(),
    describe_sink_file(),
    describe_sink_stdout(),
    describe_sink_null(),
  };
  // Every factory's params reader gets the pipeline's names, so an
  // expression in any kind can read lineage.* without the kind passing them.
  for (auto& k : kinds_) {
    if (!k.make_op)
      continue;
    k.make_op = [make = std::move(k.make_op)](const stage_spec& spec, params_reader& p) -> op_ptr {
      p.names(spec.names);
      auto built = make(spec, p);
      // A calling stage's `cost` is a stage key, not a param, but compiles
      // like one, so every calling kind gets it without reading it.
      if (built && !spec.cost.empty()) {
        auto* calling = dynamic_cast<calling_op*>(built.get());
        if (calling == nullptr)
          return built; // the loader refuses `cost` on such kinds
        auto cost = p.compile(spec.cost, spec.json_path + "/cost");
        if (!cost)
          return nullptr;
        calling->set_cost(std::move(*cost));
      }
      return built;
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
