#include "io/generator_reader.hpp"
#include "ops/decode.hpp"
#include "ops/kinds.hpp"

namespace sluice {

namespace {

struct generate_params {
  std::optional<uint64_t> count;
  std::optional<double> rate;
  uint64_t seed = 1;
  std::optional<field_path> id_field;
};

// Reads and checks the params; nullopt if any is wrong (reported to `p`).
std::optional<generate_params> read_params(params_reader& p) {
  generate_params out;
  if (auto c = p.integer("count", false, 0, INT64_MAX))
    out.count = static_cast<uint64_t>(*c);
  if (auto r = p.number("rate", false)) {
    if (*r <= 0)
      p.error("rate", "expected a rate above 0 records per second");
    else
      out.rate = *r;
  }
  if (auto s = p.integer("seed", false, 0, INT64_MAX))
    out.seed = static_cast<uint64_t>(*s);
  bool ok = read_id_field(p, out.id_field);
  if (!p.finish() || !ok)
    return std::nullopt;
  return out;
}

} // namespace

stage_kind describe_source_generate() {
  stage_kind k;
  k.name = "source.generate";
  k.role = stage_role::source;
  k.summary = "synthetic order records (a count, or endless; an optional rate)";
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    auto params = read_params(p);
    if (!params)
      return nullptr;
    return std::make_unique<decode_op>(spec.id, std::vector<std::string>{"generate"},
                                       params->id_field);
  };
  k.make_reader = [](const stage_spec& spec, params_reader& p) -> reader_ptr {
    auto params = read_params(p);
    if (!params)
      return nullptr;
    return std::make_unique<generator_reader>(spec.index, params->count, params->rate,
                                              params->seed);
  };
  return k;
}

} // namespace sluice
