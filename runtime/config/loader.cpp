#include "config/loader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "config/env_subst.hpp"
#include "config/params.hpp"
#include "core/trail_names.hpp"
#include "expr/expression.hpp"
#include "metrics/listen_address.hpp"
#include "ops/chaos.hpp"
#include "ops/registry.hpp"
#include "ops/schema.hpp"

namespace sluice {

namespace {

using ojson = nlohmann::ordered_json;

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (auto& n : names)
    out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

// Strips nlohmann's "[json.exception.parse_error.101] " prefix.
std::string clean_json_error(const std::string& what) {
  auto pos = what.find("] ");
  return pos == std::string::npos ? what : what.substr(pos + 2);
}

// A number for messages: "1.2", not "1.2000000000000002".
std::string short_number(double x) {
  std::ostringstream out;
  out.precision(6);
  out << x;
  return out.str();
}

const char* json_kind(const ojson& v) {
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

// The longest `supervision.within`: a day.
constexpr uint64_t max_within_ms = 86'400'000;

// A duration in milliseconds: a number of seconds (30, 0.5) or a string with
// a unit ("500ms", "30s", "2m", "1h"). nullopt if it is neither or not > 0.
std::optional<uint64_t> parse_duration_ms(const ojson& v) {
  double ms = 0;
  if (v.is_number()) {
    ms = v.get<double>() * 1000;
  } else if (v.is_string()) {
    static const std::regex re{R"(\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)\s*)"};
    std::smatch m;
    auto text = v.get<std::string>();
    if (!std::regex_match(text, m, re))
      return std::nullopt;
    auto unit = m[2].str();
    double scale = unit == "ms" ? 1 : unit == "s" ? 1e3 : unit == "m" ? 60e3 : 3600e3;
    ms = std::strtod(m[1].str().c_str(), nullptr) * scale;
  } else {
    return std::nullopt;
  }
  ms = std::round(ms);
  if (!(ms >= 1) || ms > 1e15)
    return std::nullopt;
  return static_cast<uint64_t>(ms);
}

// -- --set overrides ----------------------------------------------------------

// Applies "a.b.c=value". In `stages`, a segment selects the stage with that
// id (or an index). The value is JSON if it parses, else a string.
void apply_override(ojson& doc, const std::string& spec, diagnostics& diags) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    diags.error("--set " + spec, "expected PATH=VALUE, e.g. stages.big.params.when=.amount > 10");
    return;
  }
  auto path = spec.substr(0, eq);
  auto text = spec.substr(eq + 1);
  ojson value = ojson::parse(text, nullptr, false);
  if (value.is_discarded())
    value = text;
  std::vector<std::string> segs;
  std::stringstream in{path};
  for (std::string seg; std::getline(in, seg, '.');)
    segs.push_back(seg);
  ojson* node = &doc;
  std::string where;
  for (size_t i = 0; i < segs.size(); ++i) {
    auto& seg = segs[i];
    bool last = i + 1 == segs.size();
    if (seg.empty()) {
      diags.error("--set " + spec, "empty segment in the path '" + path + "'");
      return;
    }
    if (node->is_array()) {
      ojson* next = nullptr;
      for (auto& item : *node)
        if (item.is_object() && item.contains("id") && item["id"] == seg)
          next = &item;
      if (next == nullptr) {
        size_t idx = 0;
        auto [end, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
        if (ec == std::errc{} && end == seg.data() + seg.size() && idx < node->size())
          next = &(*node)[idx];
      }
      if (next == nullptr) {
        diags.error("--set " + spec, "no stage with id '" + seg + "' in " + (where.empty() ? "/" : where));
        return;
      }
      if (last) {
        *next = value;
        return;
      }
      node = next;
    } else {
      if (node->is_null())
        *node = ojson::object();
      if (!node->is_object()) {
        diags.error("--set " + spec, (where.empty() ? std::string{"/"} : where) + " is not an object");
        return;
      }
      if (last) {
        (*node)[seg] = value;
        return;
      }
      node = &(*node)[seg];
    }
    where += "/" + json_pointer_escape(seg);
  }
}

// -- the config tree -------------------------------------------------------------

struct loader {
  diagnostics& diags;
  pipeline_plan& plan;
  std::set<stage_index> malformed_inputs; ///< `inputs` written, but not a list of ids
  std::set<std::string> declared_limits;  ///< names under resources.rate_limits, valid or not
  std::vector<bool> built;                ///< per stage: its params were valid
  std::set<stage_index> stage_chaos;      ///< stages with a stage-level `chaos` key

  void unknown_keys(const ojson& obj, const std::string& at,
                    const std::vector<std::string>& known, const char* what) {
    for (auto& [k, v] : obj.items()) {
      (void) v;
      if (std::find(known.begin(), known.end(), k) == known.end())
        diags.error(at + "/" + json_pointer_escape(k), "unknown key '" + k + "' in " + what)
          .hint = "known keys: " + join_names(known);
    }
  }

  /// Like unknown_keys, for the fault-tolerance objects: also says "did you
  /// mean" for a near miss.
  void unknown_keys_near(const ojson& obj, const std::string& at,
                         const std::vector<std::string>& known, const char* what) {
    for (auto& [k, v] : obj.items()) {
      (void) v;
      if (std::find(known.begin(), known.end(), k) != known.end())
        continue;
      auto msg = "unknown key '" + k + "' in " + what;
      if (auto near = closest_key(k, known); !near.empty())
        msg += " (did you mean '" + near + "'?)";
      diags.error(at + "/" + json_pointer_escape(k), msg).hint = "known keys: " + join_names(known);
    }
  }

  template <class T>
  bool read_uint(const ojson& obj, const std::string& key, const std::string& at, T& out,
                 uint64_t min, uint64_t max) {
    if (!obj.contains(key))
      return true;
    auto& v = obj[key];
    auto path = at + "/" + key;
    if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)) {
      diags.error(path, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
      return false;
    }
    auto x = v.get<uint64_t>();
    if (x < min || x > max) {
      diags.error(path, "expected a whole number from " + std::to_string(min) + " to "
                          + std::to_string(max) + ", got " + std::to_string(x));
      return false;
    }
    out = static_cast<T>(x);
    return true;
  }

  void read_flow(const ojson& obj, const std::string& at, flow_settings& flow) {
    read_uint(obj, "batch_size", at, flow.batch_size, 1, 1'000'000);
    read_uint(obj, "linger_ms", at, flow.linger_ms, 0, 3'600'000);
    read_uint(obj, "window", at, flow.window, 1, 4096);
  }

  // -- fault tolerance: retry, circuit_breaker, supervision, chaos ------------------

  /// A number in [min, max] (integers too); `what` describes it in the error.
  bool read_number(const ojson& obj, const std::string& key, const std::string& at, double& out,
                   double min, double max, const std::string& what) {
    if (!obj.contains(key))
      return true;
    auto& v = obj[key];
    auto path = at + "/" + key;
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < min
        || v.get<double>() > max) {
      diags.error(path, "expected " + what + ", got "
                          + (v.is_number() ? short_number(v.get<double>()) : json_kind(v)));
      return false;
    }
    out = v.get<double>();
    return true;
  }

  /// Whether `v` is an object; otherwise reports it with an example.
  bool expect_object(const ojson& v, const std::string& at, const char* example) {
    if (v.is_object())
      return true;
    diags.error(at, std::string{"expected an object, got "} + json_kind(v)).hint =
      std::string{"e.g. "} + example;
    return false;
  }

  /// `retry` (of a stage or of `defaults`): the keys given replace those in `r`.
  void read_retry(const ojson& v, const std::string& at, retry_settings& r) {
    if (!expect_object(v, at, R"({"max_attempts": 5, "initial_backoff_ms": 100})"))
      return;
    unknown_keys_near(v, at, {"max_attempts", "initial_backoff_ms", "multiplier",
                              "max_backoff_ms", "jitter", "transient"}, "retry");
    read_uint(v, "max_attempts", at, r.max_attempts, 1, 10'000);
    read_uint(v, "initial_backoff_ms", at, r.initial_backoff_ms, 0, 3'600'000);
    read_uint(v, "max_backoff_ms", at, r.max_backoff_ms, 0, 3'600'000);
    read_number(v, "multiplier", at, r.multiplier, 1, 100,
                "a number from 1 to 100 (1: the same delay every time)");
    read_number(v, "jitter", at, r.jitter, 0, 1, "a fraction from 0 to 1");
    if (v.contains("transient"))
      read_error_classes(v["transient"], at + "/transient", r.transient);
  }

  /// `retry.transient`: a list of error class names (one name alone is a
  /// list of one; an empty list retries nothing).
  void read_error_classes(const ojson& v, const std::string& at, std::vector<errc>& out) {
    std::vector<std::string> valid;
    for (auto c : all_errcs())
      valid.emplace_back(to_string(c));
    auto one = [&](const ojson& item, const std::string& path, std::vector<errc>& into) {
      if (!item.is_string()) {
        diags.error(path, std::string{"expected an error class name, got "} + json_kind(item))
          .hint = "error classes: " + join_names(valid);
        return false;
      }
      auto name = item.get<std::string>();
      auto c = errc_from_string(name);
      if (!c) {
        auto msg = "unknown error class '" + name + "'";
        if (auto near = closest_name(name, valid); !near.empty())
          msg += " (did you mean '" + near + "'?)";
        diags.error(path, msg).hint = "error classes: " + join_names(valid);
        return false;
      }
      if (std::find(into.begin(), into.end(), *c) == into.end())
        into.push_back(*c);
      return true;
    };
    std::vector<errc> classes;
    bool ok = true;
    if (v.is_string()) {
      ok = one(v, at, classes);
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i)
        ok = one(v[i], at + "/" + std::to_string(i), classes) && ok;
    } else {
      diags.error(at, std::string{"expected a list of error class names, got "} + json_kind(v))
        .hint = "e.g. [\"transient\", \"io_error\"]";
      ok = false;
    }
    if (ok)
      out = std::move(classes);
  }

  /// Cross-key check of a merged retry policy whose object is at `at`.
  void check_retry(const retry_settings& r, const std::string& at) {
    if (r.initial_backoff_ms > r.max_backoff_ms)
      diags.error(at, "initial_backoff_ms (" + std::to_string(r.initial_backoff_ms)
                        + ") is above max_backoff_ms (" + std::to_string(r.max_backoff_ms) + ")")
        .hint = "raise max_backoff_ms or lower initial_backoff_ms";
  }

  /// `circuit_breaker` (of a stage or of `defaults`).
  void read_circuit(const ojson& v, const std::string& at, circuit_settings& c) {
    if (!expect_object(v, at, R"({"failures": 5, "cooldown_ms": 5000})"))
      return;
    unknown_keys_near(v, at, {"failures", "cooldown_ms"}, "circuit_breaker");
    read_uint(v, "failures", at, c.failures, 0, 1'000'000);
    read_uint(v, "cooldown_ms", at, c.cooldown_ms, 0, 3'600'000);
  }

  /// `supervision` (of a stage or of `defaults`).
  void read_supervision(const ojson& v, const std::string& at, supervision_settings& s) {
    if (!expect_object(v, at, R"({"max_restarts": 5, "within": "60s"})"))
      return;
    unknown_keys_near(v, at, {"max_restarts", "within"}, "supervision");
    read_uint(v, "max_restarts", at, s.max_restarts, 0, 1'000'000);
    if (v.contains("within")) {
      auto ms = parse_duration_ms(v["within"]);
      if (!ms || *ms > max_within_ms)
        diags.error(at + "/within", "expected a duration from 1ms to 24h, got "
                                      + (v["within"].is_number()
                                           ? short_number(v["within"].get<double>())
                                           : v["within"].is_string() ? "'" + v["within"].get<std::string>() + "'"
                                                                     : std::string{json_kind(v["within"])}))
          .hint = "a number of seconds, or a string with a unit: \"500ms\", \"30s\", \"2m\", \"1h\"";
      else
        s.within_ms = static_cast<uint32_t>(*ms);
    }
  }

  /// The fault-tolerance keys of `defaults`.
  void read_fault_defaults(const ojson& d) {
    auto& cfg = plan.config;
    if (d.contains("retry")) {
      read_retry(d["retry"], "/defaults/retry", cfg.retry_defaults);
      check_retry(cfg.retry_defaults, "/defaults/retry");
    }
    if (d.contains("circuit_breaker"))
      read_circuit(d["circuit_breaker"], "/defaults/circuit_breaker", cfg.circuit_defaults);
    if (d.contains("supervision"))
      read_supervision(d["supervision"], "/defaults/supervision", cfg.supervision_defaults);
  }

  /// The fault-tolerance keys of a stage, over the defaults.
  void read_fault_keys(const ojson& st, const std::string& at, stage_spec& spec) {
    auto& cfg = plan.config;
    spec.retry = cfg.retry_defaults;
    spec.circuit = cfg.circuit_defaults;
    spec.supervision = cfg.supervision_defaults;
    if (st.contains("retry")) {
      read_retry(st["retry"], at + "/retry", spec.retry);
      // A bad combination that comes from `defaults` alone is reported there.
      if (st["retry"].is_object())
        check_retry(spec.retry, at + "/retry");
    }
    if (st.contains("circuit_breaker"))
      read_circuit(st["circuit_breaker"], at + "/circuit_breaker", spec.circuit);
    if (st.contains("supervision"))
      read_supervision(st["supervision"], at + "/supervision", spec.supervision);
    if (st.contains("chaos")) {
      stage_chaos.insert(spec.index);
      read_chaos_settings(nlohmann::json::parse(st["chaos"].dump()), at + "/chaos", "chaos",
                          diags, spec.chaos);
    }
  }

  /// Checks that need the stage's kind: chaos is for stage actors, and a
  /// `chaos` stage takes its settings from its params.
  void check_chaos(stage_spec& st, const stage_kind& kind) {
    bool has_key = stage_chaos.count(st.index) > 0;
    if (has_key && kind.role == stage_role::source)
      diags.error(st.json_path + "/chaos",
                  "chaos cannot be set on a source ('" + st.type + "'): a source is driven by a reader, not a stage actor")
        .hint = "put \"chaos\" on the stage the source feeds, or add a stage of type 'chaos' after it";
    if (kind.name != "chaos")
      return;
    if (has_key) {
      diags.error(st.json_path + "/chaos",
                  "a stage of type 'chaos' takes its settings from its params; a \"chaos\" key as well is ambiguous")
        .hint = "use one: move these keys into \"params\", or drop the \"chaos\" key";
      return;
    }
    // The op reports problems of the params (make_op); only the values are
    // needed here.
    diagnostics ignored;
    st.chaos = {};
    if (st.params.is_object())
      read_chaos_settings(st.params, st.json_path + "/params", "params", ignored, st.chaos);
  }

  /// `metrics`: {"interval_ms", "history", "console", "http"}.
  void read_metrics(const ojson& m) {
    auto& out = plan.config.metrics;
    if (!expect_object(m, "/metrics",
                       "{\"interval_ms\": 1000, \"console\": \"127.0.0.1:7464\", "
                       "\"http\": \"127.0.0.1:9464\"}"))
      return;
    unknown_keys_near(m, "/metrics", {"interval_ms", "history", "console", "http"}, "metrics");
    read_uint(m, "interval_ms", "/metrics", out.interval_ms, 100, 60'000);
    read_uint(m, "history", "/metrics", out.history, 1, 3'600);
    auto address = [&](const char* key, std::string& into) {
      auto& v = m[key];
      auto path = std::string{"/metrics/"} + key;
      if (!v.is_string()) {
        diags.error(path, std::string{"expected an address such as \"127.0.0.1:9464\""}
                            + (std::string{key} == "console" ? " or false" : "")
                            + ", got " + json_kind(v));
        return false;
      }
      auto parsed = parse_listen_address(v.get<std::string>());
      if (!parsed) {
        diags.error(path, parsed.err().message);
        return false;
      }
      into = parsed->text();
      return true;
    };
    if (m.contains("console")) {
      if (m["console"].is_boolean())
        out.console = m["console"].get<bool>();
      else
        address("console", out.console_addr);
    }
    if (m.contains("http"))
      address("http", out.http_addr);
  }

  /// `lineage`: {"mode", "sample_rate", "path", "retention": {"max_runs", "max_age_days"}}.
  void read_lineage(const ojson& l) {
    auto& out = plan.config.lineage;
    if (!expect_object(l, "/lineage",
                       "{\"mode\": \"full\", \"path\": \"out/orders.lineage.db\"}"))
      return;
    unknown_keys_near(l, "/lineage", {"mode", "sample_rate", "path", "retention"}, "lineage");
    out.mode = lineage_settings::mode_t::full;
    if (l.contains("mode")) {
      auto& m = l["mode"];
      auto text = m.is_string() ? m.get<std::string>() : std::string{};
      if (text == "full")
        out.mode = lineage_settings::mode_t::full;
      else if (text == "sampled")
        out.mode = lineage_settings::mode_t::sampled;
      else if (text == "off")
        out.mode = lineage_settings::mode_t::off;
      else
        diags.error("/lineage/mode", "expected \"full\", \"sampled\" or \"off\", got "
                                       + (m.is_string() ? "\"" + text + "\"" : json_kind(m)));
    }
    if (l.contains("sample_rate")) {
      if (out.mode != lineage_settings::mode_t::sampled)
        diags.error("/lineage/sample_rate", "sample_rate only applies to \"mode\": \"sampled\"")
          .hint = "remove it, or set \"mode\": \"sampled\"";
      read_number(l, "sample_rate", "/lineage", out.sample_rate, 1e-9, 1.0,
                  "a share of records above 0 and at most 1 (0.01 traces 1%)");
    }
    if (l.contains("path")) {
      if (!l["path"].is_string() || l["path"].get<std::string>().empty())
        diags.error("/lineage/path", "expected the store's file path, e.g. \"out/orders.lineage.db\"");
      else
        out.path = resolve_path(plan.config.base_dir, l["path"].get<std::string>());
    } else if (out.on()) {
      diags.error("/lineage/path", "missing: where the lineage store goes")
        .hint = "add \"path\": \"out/" + (plan.config.name.empty() ? std::string{"pipeline"} : plan.config.name)
                + ".lineage.db\"";
    }
    if (l.contains("retention")) {
      auto& r = l["retention"];
      if (expect_object(r, "/lineage/retention", "{\"max_runs\": 20, \"max_age_days\": 30}")) {
        unknown_keys_near(r, "/lineage/retention", {"max_runs", "max_age_days"}, "retention");
        read_uint(r, "max_runs", "/lineage/retention", out.max_runs, 1, 1'000'000);
        read_uint(r, "max_age_days", "/lineage/retention", out.max_age_days, 1, 100'000);
      }
    }
  }

  void read_top(const ojson& doc) {
    auto& cfg = plan.config;
    if (!doc.is_object()) {
      diags.error("/", "a pipeline config is a JSON object with \"name\" and \"stages\"");
      return;
    }
    unknown_keys(doc, "", {"name", "description", "defaults", "dlq", "metrics", "lineage",
                           "resources", "stages"},
                 "the pipeline config");
    if (doc.contains("name") && doc["name"].is_string() && !doc["name"].get<std::string>().empty())
      cfg.name = doc["name"].get<std::string>();
    else
      diags.error("/name", "missing or empty pipeline name").hint = "add \"name\": \"my-pipeline\"";
    if (doc.contains("description") && !doc["description"].is_string())
      diags.error("/description", "expected a string");
    if (doc.contains("defaults")) {
      auto& d = doc["defaults"];
      if (!d.is_object()) {
        diags.error("/defaults", "expected an object with batch_size, linger_ms, window, "
                                 "retry, circuit_breaker, supervision");
      } else {
        unknown_keys(d, "/defaults", {"batch_size", "linger_ms", "window", "retry",
                                      "circuit_breaker", "supervision"}, "defaults");
        read_flow(d, "/defaults", cfg.defaults);
        read_fault_defaults(d);
      }
    }
    if (doc.contains("dlq")) {
      auto& d = doc["dlq"];
      if (!d.is_object() || !d.contains("path") || !d["path"].is_string()
          || d["path"].get<std::string>().empty()) {
        diags.error("/dlq", "expected {\"path\": \"out/dead.jsonl\"}");
      } else {
        unknown_keys(d, "/dlq", {"path"}, "dlq");
        cfg.dlq_path = resolve_path(cfg.base_dir, d["path"].get<std::string>());
      }
    }
    if (doc.contains("metrics"))
      read_metrics(doc["metrics"]);
    if (doc.contains("lineage"))
      read_lineage(doc["lineage"]);
    if (doc.contains("resources")) {
      cfg.rate_limits = parse_resources(doc["resources"], "/resources", diags);
      auto& r = doc["resources"];
      if (r.is_object() && r.contains("rate_limits") && r["rate_limits"].is_object())
        for (auto& [name, v] : r["rate_limits"].items())
          declared_limits.insert(name);
    }
    if (!doc.contains("stages") || !doc["stages"].is_array() || doc["stages"].empty()) {
      diags.error("/stages", "expected a non-empty list of stages");
      return;
    }
    auto& stages = doc["stages"];
    if (stages.size() > 60000) {
      diags.error("/stages", "too many stages (at most 60000)");
      return;
    }
    for (size_t i = 0; i < stages.size(); ++i)
      read_stage(stages[i], i);
  }

  void read_stage(const ojson& st, size_t i) {
    auto at = "/stages/" + std::to_string(i);
    stage_spec spec;
    spec.index = static_cast<stage_index>(i);
    spec.json_path = at;
    spec.base_dir = plan.config.base_dir;
    spec.flow = plan.config.defaults;
    if (!st.is_object()) {
      diags.error(at, "expected a stage object with \"id\" and \"type\"");
      plan.config.stages.push_back(std::move(spec));
      return;
    }
    unknown_keys(st, at, {"id", "type", "inputs", "params", "on_error", "parallelism",
                          "partition_by", "batch_size", "linger_ms", "window", "retry",
                          "circuit_breaker", "supervision", "chaos", "rate_limit", "cost"},
                 "a stage");
    static const std::regex id_re{"[A-Za-z_][A-Za-z0-9_-]*"};
    if (!st.contains("id") || !st["id"].is_string()) {
      diags.error(at + "/id", "missing stage id");
    } else {
      spec.id = st["id"].get<std::string>();
      if (!std::regex_match(spec.id, id_re))
        diags.error(at + "/id", "stage id '" + spec.id + "' is not a plain name")
          .hint = "use letters, digits, '_' and '-', starting with a letter or '_' (no '.': it separates a route's outputs)";
    }
    if (!st.contains("type") || !st["type"].is_string())
      diags.error(at + "/type", "missing stage type");
    else
      spec.type = st["type"].get<std::string>();
    if (st.contains("inputs")) {
      auto& ins = st["inputs"];
      if (!ins.is_array()) {
        diags.error(at + "/inputs", "expected a list of stage ids, e.g. [\"read\"] or [\"split.food\"]");
        malformed_inputs.insert(spec.index);
      } else {
        std::set<std::string> seen;
        for (size_t k = 0; k < ins.size(); ++k) {
          if (!ins[k].is_string()) {
            diags.error(at + "/inputs/" + std::to_string(k), "expected a stage id");
            malformed_inputs.insert(spec.index);
            continue;
          }
          auto ref = ins[k].get<std::string>();
          if (!seen.insert(ref).second) {
            diags.error(at + "/inputs/" + std::to_string(k), "'" + ref + "' is listed twice: every record would arrive twice");
            continue;
          }
          auto dot = ref.find('.');
          input_ref in;
          in.stage = ref.substr(0, dot);
          if (dot != std::string::npos)
            in.port = ref.substr(dot + 1);
          spec.inputs.push_back(in);
        }
      }
    }
    if (st.contains("params")) {
      spec.params_ordered = st["params"];
      spec.params = nlohmann::json::parse(st["params"].dump());
    }
    if (st.contains("on_error")) {
      auto& v = st["on_error"];
      auto s = v.is_string() ? v.get<std::string>() : std::string{};
      if (s == "fail")
        spec.on_error = error_policy::fail;
      else if (s == "drop")
        spec.on_error = error_policy::drop;
      else if (s == "dlq")
        spec.on_error = error_policy::dlq;
      else
        diags.error(at + "/on_error", "expected \"fail\", \"drop\" or \"dlq\"");
    }
    read_uint(st, "parallelism", at, spec.parallelism, 1, 256);
    read_flow(st, at, spec.flow);
    if (st.contains("partition_by")) {
      if (!st["partition_by"].is_string())
        diags.error(at + "/partition_by", "expected an expression, e.g. \".customer\"");
      else
        spec.partition_by = st["partition_by"].get<std::string>();
    }
    read_fault_keys(st, at, spec);
    read_call_keys(st, at, spec);
    plan.config.stages.push_back(std::move(spec));
  }

  /// `rate_limit` (a name or a list) and `cost` (an expression); checked
  /// against `resources` and the stage's kind in check_calls().
  void read_call_keys(const ojson& st, const std::string& at, stage_spec& spec) {
    if (st.contains("rate_limit")) {
      auto& v = st["rate_limit"];
      auto bad = [&] {
        diags.error(at + "/rate_limit", "expected a rate limit's name or a list of names")
          .hint = "e.g. \"rate_limit\": \"llm\", a key of resources.rate_limits";
      };
      if (v.is_string()) {
        spec.rate_limits.push_back(v.get<std::string>());
      } else if (v.is_array() && !v.empty()) {
        for (auto& n : v) {
          if (!n.is_string()) {
            bad();
            spec.rate_limits.clear();
            break;
          }
          spec.rate_limits.push_back(n.get<std::string>());
        }
      } else {
        bad();
      }
      // Permits are taken in name order, the same in every stage, so two
      // stages naming the same limits never wait on each other in a cycle.
      std::sort(spec.rate_limits.begin(), spec.rate_limits.end());
      spec.rate_limits.erase(std::unique(spec.rate_limits.begin(), spec.rate_limits.end()),
                             spec.rate_limits.end());
    }
    if (st.contains("cost")) {
      if (!st["cost"].is_string() || st["cost"].get<std::string>().empty())
        diags.error(at + "/cost", "expected an expression giving a call's cost in tokens")
          .hint = "e.g. \"cost\": \"ceil(length(.body) / 4)\"";
      else
        spec.cost = st["cost"].get<std::string>();
    }
  }

  // -- cross-stage checks ----------------------------------------------------------

  void check_stages() {
    auto& stages = plan.config.stages;
    auto& reg = stage_registry::instance();
    plan.kinds.assign(stages.size(), nullptr);
    built.assign(stages.size(), false);
    plan.ports.assign(stages.size(), {});
    plan.is_sink.assign(stages.size(), false);
    std::set<std::string> ids;
    for (auto& st : stages) {
      if (!st.id.empty() && !ids.insert(st.id).second)
        diags.error(st.json_path + "/id", "duplicate stage id '" + st.id + "'");
      if (st.type.empty())
        continue;
      auto kind = reg.find(st.type);
      if (kind == nullptr) {
        std::vector<std::string> names;
        for (auto& k : reg.kinds())
          names.push_back(k.name);
        diags.error(st.json_path + "/type", "unknown stage type '" + st.type + "'")
          .hint = "known types: " + join_names(names);
        continue;
      }
      plan.kinds[st.index] = kind;
      plan.is_sink[st.index] = kind->role == stage_role::sink;
    }
    // Sources decide whether the run is bounded; sinks behave accordingly.
    // Building each reader once also checks its params and input files.
    bool streaming = false;
    plan.source_files.resize(stages.size());
    for (auto& st : stages) {
      auto kind = plan.kinds[st.index];
      if (kind == nullptr || kind->role != stage_role::source || !kind->make_reader)
        continue;
      params_reader p{st.params, st.json_path + "/params", st.type, diags, &st.params_ordered};
      auto reader = kind->make_reader(st, p);
      if (!reader)
        continue;
      streaming = streaming || !reader->bounded();
      for (uint32_t f = 0; f < reader->file_count(); ++f)
        plan.source_files[st.index].push_back(reader->file_name(f));
    }
    // One names table for every stage, so operators can render and read
    // records' lineage (include_lineage, lineage.* in expressions).
    auto names = std::make_shared<trail_names>();
    names->source_files = plan.source_files;
    names->generated.assign(stages.size(), false);
    for (auto& st : stages) {
      names->stages.push_back(st.id);
      names->generated[st.index] = st.type == "source.generate";
    }
    plan.names = names;
    for (auto& st : stages) {
      st.streaming = streaming;
      st.names = names;
      auto kind = plan.kinds[st.index];
      if (kind == nullptr)
        continue;
      params_reader p{st.params, st.json_path + "/params", st.type, diags, &st.params_ordered};
      op_ptr op = kind->make_op(st, p);
      built[st.index] = op != nullptr;
      if (op && kind->outputs)
        plan.ports[st.index] = kind->outputs(st);
      check_role(st, *kind);
      check_parallelism(st, *kind);
      check_chaos(st, *kind);
      check_calls(st, *kind);
    }
  }

  void check_calls(const stage_spec& st, const stage_kind& kind) {
    if (!kind.calls) {
      auto refuse = [&](const char* key) {
        diags.error(st.json_path + "/" + key, "stage type '" + st.type
                                                + "' calls no outside service; '" + key
                                                + "' applies only to stages that do")
          .hint = "rate limits and costs apply to http and classify stages (docs/rate-limits.md)";
      };
      if (!st.rate_limits.empty())
        refuse("rate_limit");
      if (!st.cost.empty())
        refuse("cost");
      return;
    }
    std::vector<std::string> known;
    for (auto& r : plan.config.rate_limits)
      known.push_back(r.name);
    for (auto& name : st.rate_limits) {
      // A declared limit with errors has its own message at its declaration.
      if (plan.config.find_rate_limit(name) != nullptr || declared_limits.count(name) > 0)
        continue;
      auto& d = diags.error(st.json_path + "/rate_limit", "unknown rate limit '" + name + "'");
      d.hint = known.empty() ? "declare it: \"resources\": {\"rate_limits\": {\"" + name
                                 + "\": {\"rate\": 10, \"per\": \"1s\"}}}"
                             : "known rate limits: " + join_names(known);
    }
  }

  void check_role(const stage_spec& st, const stage_kind& kind) {
    if (kind.role == stage_role::source && !st.inputs.empty())
      diags.error(st.json_path + "/inputs", "a source ('" + st.type + "') takes no inputs");
    if (kind.role != stage_role::source && st.inputs.empty() && malformed_inputs.count(st.index) == 0)
      diags.error(st.json_path, "stage '" + st.id + "' has no inputs")
        .hint = "add \"inputs\": [\"<upstream stage id>\"]";
    if (st.on_error == error_policy::dlq && plan.config.dlq_path.empty())
      diags.error(st.json_path + "/on_error", "on_error is \"dlq\" but the pipeline has no dead-letter file")
        .hint = "add \"dlq\": {\"path\": \"out/dead.jsonl\"} at the top level";
  }

  void check_parallelism(stage_spec& st, const stage_kind& kind) {
    if (st.parallelism > 1 && !kind.allows_parallelism)
      diags.error(st.json_path + "/parallelism", "stage type '" + st.type + "' runs as one replica")
        .hint = "remove parallelism (it writes one file in order)";
    if (!st.partition_by.empty()) {
      auto e = expr::expression::compile(st.partition_by);
      if (!e)
        diags.error(st.json_path + "/partition_by", e.err().message + " in '" + st.partition_by + "'");
    } else if (st.parallelism > 1 && kind.default_partition) {
      st.partition_by = kind.default_partition(st);
      if (st.partition_by.empty())
        diags.error(st.json_path + "/parallelism",
                    "stage type '" + st.type + "' keeps state per key; with parallelism > 1 it needs keys")
          .hint = "add group_by/key, or partition_by, or remove parallelism";
    }
  }

  void check_graph() {
    auto& stages = plan.config.stages;
    bool unresolved = false; // an input we cannot place in the graph
    // Inputs name existing stages and ports; sinks feed nothing.
    for (auto& st : stages) {
      for (size_t k = 0; k < st.inputs.size(); ++k) {
        auto& in = st.inputs[k];
        auto at = st.json_path + "/inputs/" + std::to_string(k);
        auto up = plan.config.find(in.stage);
        if (up == nullptr) {
          diags.error(at, "unknown stage '" + in.stage + "'");
          unresolved = true;
          continue;
        }
        if (up->index == st.index) {
          diags.error(at, "stage '" + st.id + "' names itself as input");
          unresolved = true; // not also reported as a cycle
        }
        if (plan.kinds[up->index] == nullptr) {
          unresolved = true;
          continue;
        }
        if (plan.is_sink[up->index])
          diags.error(at, "'" + in.stage + "' is a sink; sinks have no output");
        if (!built[up->index] && plan.kinds[up->index]->outputs) {
          // Its params are wrong (reported there), so its named outputs are
          // unknown: checking ports against them would only mislead.
          unresolved = true;
          continue;
        }
        auto& ports = plan.ports[up->index];
        bool known_port = !in.port.empty()
                          && std::find(ports.begin(), ports.end(), in.port) != ports.end();
        if (in.port.empty() && !ports.empty()) {
          std::vector<std::string> refs;
          for (auto& p : ports)
            refs.push_back(in.stage + "." + p);
          diags.error(at, "stage '" + in.stage + "' has named outputs; pick one")
            .hint = "use one of " + join_names(refs);
          unresolved = true;
        } else if (!in.port.empty() && !known_port) {
          diags.error(at, "stage '" + in.stage + "' has no output '" + in.port + "'")
            .hint = ports.empty() ? "it has one output: write \"" + in.stage + "\""
                                  : "its outputs: " + join_names(ports);
          unresolved = true;
        }
      }
    }
    for (auto& st : stages) {
      auto kind = plan.kinds[st.index];
      unresolved = unresolved || kind == nullptr || malformed_inputs.count(st.index) > 0
                   || (kind->role != stage_role::source && st.inputs.empty());
    }
    if (unresolved)
      return; // the graph would have holes: its checks would mislead
    plan.graph = std::make_unique<pipeline_graph>(plan.config.stages, plan.ports, plan.is_sink);
    auto topo = plan.graph->topological_order();
    if (!topo.cycle.empty()) {
      std::string path;
      for (auto s : topo.cycle)
        path += (path.empty() ? "" : " -> ") + stages[s].id;
      diags.error(stages[topo.cycle.front()].json_path + "/inputs", "cycle: " + path)
        .hint = "a pipeline is a DAG; remove one of these inputs";
      return;
    }
    plan.order = topo.order;
    auto reach = plan.graph->reaches_sink();
    for (auto& st : stages)
      if (!reach[st.index])
        diags.error(st.json_path, "no sink is reachable from stage '" + st.id + "': its records would be lost")
          .hint = "feed it into a sink (sink.file, sink.stdout or sink.null) or remove it";
    // Every named output has a consumer, else records routed there vanish.
    for (auto& st : stages) {
      auto& ports = plan.ports[st.index];
      for (size_t p = 0; p < ports.size(); ++p) {
        bool used = false;
        for (auto* e : plan.graph->out_edges(st.index))
          used = used || e->port == p;
        if (!used)
          diags.error(st.json_path, "output '" + st.id + "." + ports[p] + "' has no consumer: records sent there would be lost")
            .hint = "add a stage with \"inputs\": [\"" + st.id + "." + ports[p] + "\"] (sink.null discards on purpose)";
      }
    }
  }
};

std::string dir_of(const std::string& file) {
  auto slash = file.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : file.substr(0, slash);
}

} // namespace

const char* to_string(error_policy p) {
  switch (p) {
    case error_policy::fail: return "fail";
    case error_policy::drop: return "drop";
    case error_policy::dlq: return "dlq";
  }
  return "fail";
}

const stage_spec* pipeline_config::find(const std::string& id) const {
  for (auto& st : stages)
    if (st.id == id)
      return &st;
  return nullptr;
}

const rate_limit_settings* pipeline_config::find_rate_limit(const std::string& resource) const {
  for (auto& r : rate_limits)
    if (r.name == resource)
      return &r;
  return nullptr;
}

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path == "-" || path.front() == '/' || base_dir.empty() || base_dir == ".")
    return path;
  return base_dir.back() == '/' ? base_dir + path : base_dir + "/" + path;
}

std::unique_ptr<pipeline_plan> load_pipeline_text(const std::string& text,
                                                  const std::string& file,
                                                  const std::string& base_dir,
                                                  const load_options& opts,
                                                  diagnostics& diags) {
  diags.file(file);
  ojson doc;
  try {
    doc = ojson::parse(text);
  } catch (const std::exception& e) {
    diags.error("", clean_json_error(e.what())).hint = "the config must be valid JSON";
    return nullptr;
  }
  for (auto& o : opts.overrides)
    apply_override(doc, o, diags);
  substitute_env(doc, "", diags);
  if (diags.has_errors())
    return nullptr;
  auto plan = std::make_unique<pipeline_plan>();
  plan->config.file = file;
  plan->config.base_dir = base_dir;
  loader ld{diags, *plan, {}, {}, {}, {}};
  ld.read_top(doc);
  // Report stage problems too when a top-level value is wrong, but not when
  // there are no stages to look at.
  if (plan->config.stages.empty())
    return nullptr;
  ld.check_stages();
  ld.check_graph();
  if (diags.has_errors())
    return nullptr;
  return plan;
}

std::unique_ptr<pipeline_plan> load_pipeline(const std::string& file, const load_options& opts,
                                             diagnostics& diags) {
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    diags.file(file);
    diags.error("", std::string{"cannot read the config file: "} + std::strerror(errno));
    return nullptr;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return load_pipeline_text(buf.str(), file, dir_of(file), opts, diags);
}

} // namespace sluice
