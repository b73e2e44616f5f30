#include "ops/kinds.hpp"

namespace sluice {

namespace {

/// `map`: reshapes each record, in this order: `set` (in the order written;
/// each expression sees the fields set before it), `rename`, `drop`, `keep`.
/// An expression or a set/rename that fails fails the record (on_error
/// decides), and the record goes to `fail` exactly as it entered the stage:
/// a dead letter shows the input, never a half-changed record.
///
/// Only set and rename can fail, and only after earlier ones changed the
/// record, so the op logs what each of them changed (the old value moved
/// out, not copied) and undoes the log newest first on failure. The log is a
/// member so its storage is reused from record to record: no allocation and
/// no copy of the record on the hot path.
class map_op final : public op {
public:
  struct assignment {
    field_path target;
    expr::expression value;
  };

  map_op(std::vector<assignment> set, std::vector<std::pair<field_path, field_path>> rename,
         std::vector<field_path> drop, std::vector<field_path> keep)
    : set_(std::move(set)), rename_(std::move(rename)), drop_(std::move(drop)),
      keep_(std::move(keep)) {
    // Only changes before the last fallible step can need undoing.
    log_.reserve(set_.size() + rename_.size());
  }

  void process(record&& rec, emitter& out) override {
    log_.clear();
    for (auto& a : set_) {
      auto v = a.value.eval(rec);
      if (!v) {
        v.err().message = "set " + a.target.str() + ": " + v.err().message;
        fail(std::move(rec), std::move(v.err()), out);
        return;
      }
      log_.emplace_back();
      if (auto st = rec.set(a.target, std::move(*v), log_.back()); !st) {
        fail(std::move(rec), st.err(), out);
        return;
      }
    }
    for (auto& [from, to] : rename_) {
      log_.emplace_back();
      if (auto r = rec.rename(from, to, log_.back()); !r) {
        fail(std::move(rec), std::move(r.err()), out);
        return;
      }
    }
    log_.clear(); // drops the replaced values now, not with the next record
    for (auto& p : drop_)
      rec.drop(p);
    if (!keep_.empty())
      rec.keep(keep_);
    out.emit(std::move(rec));
  }

private:
  std::vector<assignment> set_;
  std::vector<std::pair<field_path, field_path>> rename_;
  std::vector<field_path> drop_;
  std::vector<field_path> keep_;
  std::vector<record::change> log_; // what this record's sets and renames changed

  // Undoes the log (a failed step logged nothing) and fails the record.
  void fail(record&& rec, error err, emitter& out) {
    for (auto i = log_.rbegin(); i != log_.rend(); ++i)
      rec.undo(std::move(*i));
    log_.clear();
    out.fail(std::move(rec), std::move(err));
  }
};

std::optional<std::vector<field_path>> read_paths(params_reader& p, const std::string& key) {
  auto names = p.strings(key, false);
  if (!names)
    return std::vector<field_path>{};
  std::vector<field_path> out;
  for (size_t i = 0; i < names->size(); ++i) {
    auto fp = field_path::parse((*names)[i]);
    if (!fp) {
      p.diags().error(p.path_of(key) + "/" + std::to_string(i), fp.err().message);
      return std::nullopt;
    }
    out.push_back(*fp);
  }
  return out;
}

} // namespace

stage_kind describe_map() {
  stage_kind k;
  k.name = "map";
  k.role = stage_role::transform;
  k.summary = "sets, renames, drops or keeps fields of each record";
  k.make_op = [](const stage_spec&, params_reader& p) -> op_ptr {
    bool ok = true;
    std::vector<map_op::assignment> set;
    if (auto entries = p.string_map("set", false)) {
      for (auto& [target, text] : *entries) {
        auto fp = field_path::parse(target);
        auto at = p.path_of("set", target);
        if (!fp) {
          p.diags().error(at, fp.err().message);
          ok = false;
          continue;
        }
        auto e = p.compile(text, at);
        if (!e) {
          ok = false;
          continue;
        }
        set.push_back({*fp, std::move(*e)});
      }
    }
    std::vector<std::pair<field_path, field_path>> rename;
    if (auto entries = p.string_map("rename", false)) {
      for (auto& [from, to] : *entries) {
        auto a = field_path::parse(from);
        auto b = field_path::parse(to);
        auto at = p.path_of("rename", from);
        if (!a || a->empty() || !b || b->empty()) {
          p.diags().error(at, !a ? a.err().message : !b ? b.err().message
                                                          : "rename takes field names, not '.'");
          ok = false;
          continue;
        }
        rename.emplace_back(*a, *b);
      }
    }
    auto drop = read_paths(p, "drop");
    auto keep = read_paths(p, "keep");
    if (!p.finish() || !ok || !drop || !keep)
      return nullptr;
    if (set.empty() && rename.empty() && drop->empty() && keep->empty()) {
      p.error("", "a map needs at least one of set, rename, drop, keep");
      return nullptr;
    }
    return std::make_unique<map_op>(std::move(set), std::move(rename), std::move(*drop),
                                    std::move(*keep));
  };
  return k;
}

} // namespace sluice
