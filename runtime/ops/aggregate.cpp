#include "ops/aggregate.hpp"

#include <algorithm>
#include <limits>

#include "ops/kinds.hpp"
#include "ops/schema.hpp"

namespace sluice {

namespace {

constexpr int64_t max_int = std::numeric_limits<int64_t>::max();

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The output name of a group_by expression that is a plain field path:
// its last key (".customer" -> "customer"). Empty for anything else.
std::string name_of_path(const std::string& text) {
  auto t = trim(text);
  if (t.empty() || t[0] != '.')
    return {};
  auto fp = field_path::parse(t);
  if (!fp || fp->empty())
    return {};
  auto last = std::get_if<std::string>(&fp->segments().back());
  return last != nullptr ? *last : std::string{};
}

// The group_by entries as (json pointer, raw item); a single string counts
// as a list of one.
std::vector<std::pair<std::string, const json*>> group_items(const json& raw,
                                                             const std::string& base) {
  std::vector<std::pair<std::string, const json*>> out;
  if (raw.is_array())
    for (size_t i = 0; i < raw.size(); ++i)
      out.emplace_back(base + "/" + std::to_string(i), &raw[i]);
  else
    out.emplace_back(base, &raw);
  return out;
}

// Reads `group_by`; returns false if it reported a problem.
bool parse_group_by(params_reader& p, std::vector<group_key>& keys,
                    std::vector<std::string>& where) {
  auto raw = p.raw("group_by");
  if (raw == nullptr || raw->is_null())
    return true;
  if (!raw->is_array() && !raw->is_string()) {
    p.error("group_by", "expected a list of expressions, e.g. [\".customer\"], got "
                          + describe_value(*raw));
    return false;
  }
  bool ok = true;
  for (auto& [path, item] : group_items(*raw, p.path_of("group_by"))) {
    group_key key;
    if (item->is_string()) {
      auto text = item->get<std::string>();
      auto e = p.compile(text, path);
      if (!e) {
        ok = false;
        continue;
      }
      key.name = name_of_path(text);
      if (key.name.empty()) {
        p.diags().error(path, "'" + text + "' is not a field path, so its output field has "
                              "no name")
          .hint = "name it: {\"expr\": \"" + text + "\", \"as\": \"<field>\"}";
        ok = false;
        continue;
      }
      key.value = std::move(*e);
    } else if (item->is_object()) {
      params_reader r{*item, path, p.kind(), p.diags()};
      auto e = r.expression("expr", true);
      auto as = r.string("as", true);
      if (as && as->empty())
        r.error("as", "expected a non-empty output field name");
      if (!r.finish() || !e || !as) {
        ok = false;
        continue;
      }
      key.name = *as;
      key.value = std::move(*e);
    } else {
      p.diags().error(path, "expected an expression such as \".customer\", or "
                            "{\"expr\": ..., \"as\": ...}, got " + describe_value(*item));
      ok = false;
      continue;
    }
    keys.push_back(std::move(key));
    where.push_back(path);
  }
  return ok;
}

// Reads `tumbling`; returns false if it reported a problem.
bool parse_tumbling(params_reader& p, aggregate_config& cfg) {
  auto raw = p.raw("tumbling");
  if (raw == nullptr || raw->is_null())
    return true;
  if (!raw->is_object()) {
    p.error("tumbling", "expected {\"count\": N} or {\"ms\": N}, got " + describe_value(*raw));
    return false;
  }
  params_reader t{*raw, p.path_of("tumbling"), p.kind(), p.diags()};
  auto count = t.integer("count", false, 1, max_int);
  auto ms = t.integer("ms", false, 1, max_int / 1000);
  if (!t.finish())
    return false;
  if (count && ms) {
    p.error("tumbling", "give either 'count' or 'ms', not both");
    return false;
  }
  if (!count && !ms) {
    p.error("tumbling", "expected {\"count\": N} (every N records) or {\"ms\": N} (every N "
                        "milliseconds)");
    return false;
  }
  if (count)
    cfg.tumbling_count = static_cast<uint64_t>(*count);
  cfg.tumbling_ms = ms;
  return true;
}

// Reads `aggregates` and checks output names; false if it reported a problem.
// `groups_ok`: group_by had no problem (else an empty group list proves nothing).
bool parse_aggregates(params_reader& p, aggregate_config& cfg,
                      const std::vector<std::string>& group_where, bool groups_ok) {
  auto specs = p.string_map("aggregates", true);
  if (!specs)
    return false;
  bool ok = true;
  // Every output field has one owner: a group key, a window bound or an
  // aggregate.
  std::unordered_map<std::string, std::string> owner;
  for (size_t i = 0; i < cfg.group_by.size(); ++i) {
    auto& name = cfg.group_by[i].name;
    auto [at, fresh] = owner.emplace(name, "group_by" + group_where[i].substr(p.path_of("group_by").size()));
    if (!fresh) {
      p.diags().error(group_where[i], "output field '" + name + "' is already the name of "
                                        + at->second)
        .hint = "name one of them with {\"expr\": ..., \"as\": ...}";
      ok = false;
    }
  }
  if (cfg.tumbling_ms) {
    owner.emplace("window_start", "the time window's start");
    owner.emplace("window_end", "the time window's end");
  }
  for (auto& [name, text] : *specs) {
    auto path = p.path_of("aggregates");
    append_pointer(path, name);
    if (name.empty()) {
      p.diags().error(path, "an aggregate needs a non-empty output field name");
      ok = false;
      continue;
    }
    if (auto i = owner.find(name); i != owner.end()) {
      p.diags().error(path, "output field '" + name + "' is already used by " + i->second
                              + "; choose another name");
      ok = false;
      continue;
    }
    auto spec = aggregate_spec::parse(name, text);
    if (!spec) {
      p.diags().error(path, spec.err().message);
      ok = false;
      continue;
    }
    cfg.aggregates.push_back(std::move(*spec));
  }
  if (ok && groups_ok && cfg.aggregates.empty() && cfg.group_by.empty()) {
    p.error("aggregates", "nothing to compute: give at least one aggregate, e.g. "
                          "{\"n\": \"count()\"}, or group_by to list the distinct groups");
    ok = false;
  }
  return ok;
}

} // namespace

std::optional<aggregate_config> aggregate_config::parse(const stage_spec& spec,
                                                        params_reader& p) {
  aggregate_config cfg;
  cfg.stage_id = spec.id;
  cfg.index = spec.index;
  std::vector<std::string> group_where;
  bool groups_ok = parse_group_by(p, cfg.group_by, group_where);
  bool ok = parse_tumbling(p, cfg) && groups_ok;
  ok = parse_aggregates(p, cfg, group_where, groups_ok) && ok;
  if (auto max_groups = p.integer("max_groups", false, 1, max_int))
    cfg.max_groups = static_cast<uint64_t>(*max_groups);
  if (!p.finish() || !ok)
    return std::nullopt;
  return cfg;
}

// -- the operator -----------------------------------------------------------------

aggregate_op::aggregate_op(aggregate_config cfg, std::function<int64_t()> clock)
  : cfg_(std::move(cfg)), clock_(std::move(clock)) {
  values_.resize(cfg_.aggregates.size());
}

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

} // namespace

// Windows are aligned to the epoch: [k * width, (k + 1) * width) in ms.
int64_t aggregate_op::window_of(int64_t now) const {
  auto width = *cfg_.tumbling_ms;
  return floor_div(floor_div(now, 1000), width) * width;
}

void aggregate_op::process(record&& rec, emitter& out) {
  if (cfg_.tumbling_ms) {
    auto start = window_of(clock_());
    if (groups_.empty()) {
      window_start_ms_ = start;
    } else if (start > window_start_ms_) {
      // A record of a later window closes the open one; a clock that stepped
      // back keeps the record in the open window.
      close_window();
      window_start_ms_ = start;
    }
  }
  json keys = json::array();
  for (auto& g : cfg_.group_by) {
    auto v = g.value.eval(rec);
    if (!v) {
      v.err().message = "group_by '" + g.value.text() + "': " + v.err().message;
      out.fail(std::move(rec), std::move(v.err()));
      return;
    }
    keys.push_back(std::move(*v));
  }
  auto key = canonical_json(keys);
  auto found = index_.find(key);
  static const accumulator fresh;
  for (size_t i = 0; i < cfg_.aggregates.size(); ++i) {
    auto& spec = cfg_.aggregates[i];
    if (spec.fn == aggregate_fn::count) {
      values_[i] = nullptr;
      continue;
    }
    auto v = spec.arg.eval(rec);
    if (!v) {
      v.err().message = "aggregate '" + spec.name + "' (" + spec.text + "): " + v.err().message;
      out.fail(std::move(rec), std::move(v.err()));
      return;
    }
    values_[i] = std::move(*v);
    auto& acc = found != index_.end() ? groups_[found->second].accs[i] : fresh;
    if (auto st = acc.check(spec, values_[i]); !st) {
      out.fail(std::move(rec), st.err());
      return;
    }
  }
  if (found == index_.end()) {
    if (groups_.size() >= cfg_.max_groups) {
      out.fail(std::move(rec),
               error{errc::runtime_error,
                     "aggregate: this record would start group " + describe_value(keys)
                       + " beyond max_groups (" + std::to_string(cfg_.max_groups)
                       + "); raise max_groups, or use a tumbling window to bound the "
                         "groups held at once"});
      return;
    }
    group g;
    g.keys = std::move(keys);
    g.accs.resize(cfg_.aggregates.size());
    found = index_.emplace(std::move(key), groups_.size()).first;
    groups_.push_back(std::move(g));
  }
  auto& accs = groups_[found->second].accs;
  for (size_t i = 0; i < cfg_.aggregates.size(); ++i)
    accs[i].fold(cfg_.aggregates[i], values_[i]);
  // Groups close in the order they opened, one output each, numbered on
  // from the outputs of earlier windows: this is the output it goes into.
  out.fold(rec, assigned_ + found->second + 1);
  if (cfg_.tumbling_count && ++window_records_ == *cfg_.tumbling_count)
    close_window();
}

void aggregate_op::close_window() {
  for (auto& g : groups_) {
    json content = json::object();
    for (size_t i = 0; i < cfg_.group_by.size(); ++i)
      content[cfg_.group_by[i].name] = std::move(g.keys[i]);
    if (cfg_.tumbling_ms) {
      content["window_start"] = window_start_ms_;
      content["window_end"] = window_start_ms_ + *cfg_.tumbling_ms;
    }
    for (size_t i = 0; i < cfg_.aggregates.size(); ++i)
      content[cfg_.aggregates[i].name] = g.accs[i].value(cfg_.aggregates[i]);
    ready_.push_back(std::move(content));
  }
  assigned_ += groups_.size();
  groups_.clear();
  index_.clear();
  window_records_ = 0;
}

void aggregate_op::flush(emitter& out) {
  for (auto& content : ready_) {
    ++emitted_;
    lineage_trail trail;
    trail.origin.source = cfg_.index;
    trail.origin.line = emitted_;
    out.emit(record{cfg_.stage_id + ":" + std::to_string(emitted_), std::move(content),
                    std::move(trail)});
  }
  ready_.clear();
}

void aggregate_op::end_batch(emitter& out) {
  flush(out);
}

int64_t aggregate_op::tick_interval_us() const {
  if (!cfg_.tumbling_ms)
    return 0;
  // A window closes at most a tenth of its width (within 1 ms .. 1 s) late.
  return std::clamp<int64_t>(*cfg_.tumbling_ms * 100, 1000, 1'000'000);
}

void aggregate_op::tick(int64_t now, emitter& out) {
  if (cfg_.tumbling_ms && !groups_.empty() && window_of(now) > window_start_ms_)
    close_window();
  flush(out);
}

void aggregate_op::finish(emitter& out) {
  // Without group_by or windows the answer is one record even for an empty
  // input (count() = 0), as SQL's aggregates without GROUP BY give one row.
  bool global = cfg_.group_by.empty() && !cfg_.tumbling_count && !cfg_.tumbling_ms;
  if (global && groups_.empty()) {
    group g;
    g.keys = json::array();
    g.accs.resize(cfg_.aggregates.size());
    groups_.push_back(std::move(g));
  }
  close_window();
  flush(out);
}

// -- the stage kind ------------------------------------------------------------------

stage_kind describe_aggregate() {
  stage_kind k;
  k.name = "aggregate";
  k.role = stage_role::transform;
  k.summary = "folds records into groups (count, sum, min, max, avg, ...), emitted at the end "
              "or per tumbling window";
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    auto cfg = aggregate_config::parse(spec, p);
    if (!cfg)
      return nullptr;
    return std::make_unique<aggregate_op>(std::move(*cfg));
  };
  k.allows_parallelism = true;
  // Records of one group must meet in one replica: partition by the group
  // keys. Without group_by there is nothing to partition by (""), and the
  // config validator refuses parallelism > 1.
  k.default_partition = [](const stage_spec& spec) -> std::string {
    auto raw = spec.params.find("group_by");
    if (raw == spec.params.end() || raw->is_null())
      return {};
    std::vector<std::string> texts;
    for (auto& [path, item] : group_items(*raw, "")) {
      (void) path;
      if (item->is_string())
        texts.push_back(item->get<std::string>());
      else if (item->is_object() && item->contains("expr") && (*item)["expr"].is_string())
        texts.push_back((*item)["expr"].get<std::string>());
    }
    if (texts.size() == 1)
      return texts.front();
    std::string out;
    for (auto& t : texts)
      out += (out.empty() ? "[" : ", ") + t;
    return out.empty() ? out : out + "]";
  };
  return k;
}

} // namespace sluice
