#include "ops/kinds.hpp"

namespace sluice {

namespace {

/// `route`: sends each record to the output(s) whose predicate holds: the
/// first match (`mode: "first"`, default) or every match (`"all"`). A record
/// that matches none goes to the `default` output, or is filtered if there is
/// no default. A predicate that fails fails the record, with a message that
/// names the route (`route 'food': ...`).
class route_op final : public op {
public:
  /// `names[i]` is the name of the route `preds[i]` tests (for messages).
  route_op(std::vector<expr::expression> preds, std::vector<std::string> names, bool all,
           bool has_default)
    : preds_(std::move(preds)), names_(std::move(names)), all_(all),
      has_default_(has_default) {
  }

  void process(record&& rec, emitter& out) override {
    // Find matches first, so a failing predicate fails the record before any
    // copy of it went out.
    matches_.clear();
    for (size_t i = 0; i < preds_.size(); ++i) {
      auto hit = preds_[i].test(rec);
      if (!hit) {
        hit.err().message = "route '" + names_[i] + "': " + hit.err().message;
        out.fail(std::move(rec), std::move(hit.err()));
        return;
      }
      if (*hit) {
        matches_.push_back(static_cast<port_index>(i));
        if (!all_)
          break;
      }
    }
    if (matches_.empty()) {
      if (has_default_)
        out.emit(std::move(rec), static_cast<port_index>(preds_.size()));
      else
        out.discard(rec, disposition::filtered);
      return;
    }
    for (size_t i = 0; i + 1 < matches_.size(); ++i)
      out.emit(record{rec}, matches_[i]);
    out.emit(std::move(rec), matches_.back());
  }

private:
  std::vector<expr::expression> preds_;
  std::vector<std::string> names_;
  bool all_;
  bool has_default_;
  std::vector<port_index> matches_;
};

} // namespace

stage_kind describe_route() {
  stage_kind k;
  k.name = "route";
  k.role = stage_role::transform;
  k.summary = "sends records to named outputs by predicate (first or all matches)";
  k.make_op = [](const stage_spec&, params_reader& p) -> op_ptr {
    bool ok = true;
    std::vector<expr::expression> preds;
    std::vector<std::string> names;
    if (auto routes = p.string_map("routes", true)) {
      if (routes->empty()) {
        p.error("routes", "a route needs at least one named predicate");
        ok = false;
      }
      for (auto& [name, text] : *routes) {
        auto e = p.compile(text, p.path_of("routes", name));
        ok = ok && e.has_value();
        if (e)
          preds.push_back(std::move(*e));
        names.push_back(name);
      }
    } else {
      ok = false;
    }
    auto mode = p.choice("mode", false, {"first", "all"});
    auto def = p.string("default", false);
    if (def && std::find(names.begin(), names.end(), *def) != names.end()) {
      p.error("default", "the default output '" + *def + "' is also a route name");
      ok = false;
    }
    if (!p.finish() || !ok)
      return nullptr;
    return std::make_unique<route_op>(std::move(preds), std::move(names),
                                      mode && *mode == "all",
                                      def.has_value());
  };
  k.outputs = [](const stage_spec& spec) {
    std::vector<std::string> names;
    // The ordered view keeps routes in the order written: port i = route i.
    auto& routes = spec.params_ordered.contains("routes") ? spec.params_ordered["routes"]
                                                          : spec.params_ordered;
    if (routes.is_object())
      for (auto& [name, v] : routes.items()) {
        (void) v;
        names.push_back(name);
      }
    if (spec.params.contains("default") && spec.params["default"].is_string())
      names.push_back(spec.params["default"].get<std::string>());
    return names;
  };
  return k;
}

} // namespace sluice
