#include "ops/chaos.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include "ops/kinds.hpp"
#include "ops/schema.hpp"

namespace sluice {

// -- settings -------------------------------------------------------------------

bool chaos_settings::any() const noexcept {
  return crash_batches > 0 || throw_records > 0 || fail_records > 0 || fail_batches > 0
         || permanent_records > 0 || latency_ms > 0 || transient_for_ms > 0;
}

namespace {

const char* type_of(const nlohmann::json& v) {
  if (v.is_number_integer())
    return "an integer";
  if (v.is_number_float())
    return "a number";
  if (v.is_string())
    return "a string";
  if (v.is_boolean())
    return "a boolean";
  if (v.is_array())
    return "a list";
  if (v.is_object())
    return "an object";
  return "null";
}

// A sum of fractions for messages: "1.1", not "1.1000000000000001".
std::string short_number(double x) {
  std::ostringstream out;
  out.precision(6);
  out << x;
  return out.str();
}

// One key of the chaos object: where it goes and what it accepts.
struct chaos_key {
  const char* name;
  enum { fraction, millis, seed } type;
  double chaos_settings::*fraction_field = nullptr;
  uint32_t chaos_settings::*millis_field = nullptr;
  uint32_t max_ms = 0;
};

const std::vector<chaos_key>& chaos_keys() {
  static const std::vector<chaos_key> keys{
    {"seed", chaos_key::seed},
    {"crash_batches", chaos_key::fraction, &chaos_settings::crash_batches},
    {"throw_records", chaos_key::fraction, &chaos_settings::throw_records},
    {"fail_records", chaos_key::fraction, &chaos_settings::fail_records},
    {"fail_batches", chaos_key::fraction, &chaos_settings::fail_batches},
    {"permanent_records", chaos_key::fraction, &chaos_settings::permanent_records},
    {"latency_ms", chaos_key::millis, nullptr, &chaos_settings::latency_ms, 3'600'000},
    {"transient_for_ms", chaos_key::millis, nullptr, &chaos_settings::transient_for_ms, 86'400'000},
  };
  return keys;
}

// The splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective mixer.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t golden = 0x9e3779b97f4a7c15ULL;

// Next u in [0,1) of a splitmix64 stream: 53 random bits.
double next_unit(uint64_t& state) {
  state += golden;
  return static_cast<double>(mix64(state) >> 11) * 0x1.0p-53;
}

} // namespace

std::string closest_key(const std::string& word, const std::vector<std::string>& known) {
  if (auto near = closest_name(word, known); !near.empty())
    return near;
  std::string only;
  for (auto& k : known) {
    if (word.empty() || k.compare(0, word.size(), word) != 0)
      continue;
    if (!only.empty())
      return {}; // ambiguous
    only = k;
  }
  return only;
}

bool read_chaos_settings(const nlohmann::json& obj, const std::string& json_path,
                         const std::string& what, diagnostics& diags, chaos_settings& out) {
  if (!obj.is_object()) {
    diags.error(json_path, std::string{"expected an object, got "} + type_of(obj))
      .hint = "e.g. {\"seed\": 7, \"crash_batches\": 0.01, \"fail_records\": 0.05}";
    return false;
  }
  bool ok = true;
  std::vector<std::string> names;
  for (auto& k : chaos_keys())
    names.emplace_back(k.name);
  for (auto& [key, value] : obj.items()) {
    auto at = json_path;
    append_pointer(at, key);
    auto k = std::find_if(chaos_keys().begin(), chaos_keys().end(),
                          [&key = key](const chaos_key& c) { return key == c.name; });
    if (k == chaos_keys().end()) {
      auto msg = "unknown key '" + key + "' in " + what;
      if (auto near = closest_key(key, names); !near.empty())
        msg += " (did you mean '" + near + "'?)";
      std::string known;
      for (auto& n : names)
        known += (known.empty() ? "" : ", ") + n;
      diags.error(at, msg).hint = "known keys: " + known;
      ok = false;
      continue;
    }
    switch (k->type) {
      case chaos_key::seed:
        if (!value.is_number_unsigned()) {
          diags.error(at, std::string{"expected a whole number >= 0, got "}
                            + (value.is_number() ? describe_value(value) : type_of(value)));
          ok = false;
        } else {
          out.seed = value.get<uint64_t>();
        }
        break;
      case chaos_key::fraction: {
        if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1) {
          diags.error(at, std::string{"expected a fraction from 0 to 1, got "}
                            + (value.is_number() ? describe_value(value) : type_of(value)))
            .hint = "0.01 affects about one in a hundred";
          ok = false;
        } else {
          out.*(k->fraction_field) = value.get<double>();
        }
        break;
      }
      case chaos_key::millis:
        if (!value.is_number_unsigned() || value.get<uint64_t>() > k->max_ms) {
          diags.error(at, "expected a whole number of milliseconds from 0 to "
                            + std::to_string(k->max_ms) + ", got "
                            + (value.is_number() ? describe_value(value) : type_of(value)));
          ok = false;
        } else {
          out.*(k->millis_field) = static_cast<uint32_t>(value.get<uint64_t>());
        }
        break;
    }
  }
  // One roll decides among the record effects, one among the batch effects.
  auto records = out.throw_records + out.fail_records + out.permanent_records;
  if (records > 1 + 1e-9) {
    diags.error(json_path, "throw_records + fail_records + permanent_records is "
                             + short_number(records) + "; at most 1")
      .hint = "each record meets at most one of these faults";
    ok = false;
  }
  if (out.crash_batches + out.fail_batches > 1 + 1e-9) {
    diags.error(json_path, "crash_batches + fail_batches is "
                             + short_number(out.crash_batches + out.fail_batches) + "; at most 1")
      .hint = "each batch meets at most one of these faults";
    ok = false;
  }
  return ok;
}

// -- chaos_monkey -------------------------------------------------------------------

chaos_monkey::chaos_monkey(const chaos_settings& s, stage_index stage, uint32_t replica)
  : settings_(s) {
  auto h = mix64(s.seed + golden);
  h = mix64(h ^ ((uint64_t{stage} + 1) * 0xd1b54a32d192ed03ULL));
  h = mix64(h ^ ((uint64_t{replica} + 1) * 0xaef17502108ef2d9ULL));
  faults_ = h;
  jitter_ = mix64(h ^ 0x6a09e667f3bcc909ULL);
}

chaos_monkey::batch_fate chaos_monkey::on_batch() {
  auto crash = settings_.crash_batches;
  auto fail = settings_.fail_batches;
  if (crash <= 0 && fail <= 0)
    return batch_fate::none;
  auto u = next_unit(faults_);
  if (u < crash)
    return batch_fate::crash;
  if (u < crash + fail)
    return batch_fate::fail;
  return batch_fate::none;
}

chaos_monkey::record_fate chaos_monkey::on_record(int64_t now_us) {
  if (!seen_record_) {
    seen_record_ = true;
    first_record_us_ = now_us;
  }
  if (now_us - first_record_us_ < int64_t{settings_.transient_for_ms} * 1000)
    return record_fate::fail_transient;
  auto thrown = settings_.throw_records;
  auto failed = thrown + settings_.fail_records;
  auto permanent = failed + settings_.permanent_records;
  if (permanent <= 0)
    return record_fate::none;
  auto u = next_unit(faults_);
  if (u < thrown)
    return record_fate::throw_exception;
  if (u < failed)
    return record_fate::fail_transient;
  if (u < permanent)
    return record_fate::fail_permanent;
  return record_fate::none;
}

const chaos_settings& chaos_monkey::settings() const noexcept {
  return settings_;
}

double chaos_monkey::uniform() {
  return next_unit(jitter_);
}

// -- the `chaos` stage kind ---------------------------------------------------------

namespace {

/// `chaos`: passes every record on unchanged to port 0. The faults are the
/// host's doing: the loader copies this stage's params into
/// `stage_spec::chaos`, and the stage host applies them as for a stage-level
/// `chaos` key.
class chaos_op final : public op {
public:
  void process(record&& rec, emitter& out) override {
    out.emit(std::move(rec));
  }
};

} // namespace

stage_kind describe_chaos() {
  stage_kind k;
  k.name = "chaos";
  k.role = stage_role::transform;
  k.summary = "passes records on unchanged while injecting seeded faults (crashes, failures, latency)";
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    chaos_settings settings;
    bool ok = true;
    if (spec.params.is_object()) {
      // read_chaos_settings reports unknown keys (with "did you mean"), so
      // every key counts as read here.
      for (auto& [key, value] : spec.params.items()) {
        (void) value;
        p.raw(key);
      }
      ok = read_chaos_settings(spec.params, p.path_of(""), "the params of stage type 'chaos'",
                               p.diags(), settings);
    }
    if (!p.finish() || !ok) // finish: params that are not an object
      return nullptr;
    return std::make_unique<chaos_op>();
  };
  k.allows_parallelism = true;
  return k;
}

} // namespace sluice
