#include "ops/kinds.hpp"

namespace sluice {

namespace {

/// `filter`: keeps records for which `when` is true; the rest are filtered.
/// A `when` that fails (type error) fails the record through on_error, with
/// the message prefixed `when: `.
class filter_op final : public op {
public:
  explicit filter_op(expr::expression when) : when_(std::move(when)) {
  }

  void process(record&& rec, emitter& out) override {
    auto keep = when_.test(rec);
    if (!keep) {
      keep.err().message = "when: " + keep.err().message;
      out.fail(std::move(rec), std::move(keep.err()));
    } else if (*keep) {
      out.emit(std::move(rec));
    } else {
      out.discard(rec, disposition::filtered);
    }
  }

private:
  expr::expression when_;
};

} // namespace

stage_kind describe_filter() {
  stage_kind k;
  k.name = "filter";
  k.role = stage_role::transform;
  k.summary = "keeps the records for which an expression is true";
  k.make_op = [](const stage_spec&, params_reader& p) -> op_ptr {
    auto when = p.expression("when", true);
    if (!p.finish() || !when)
      return nullptr;
    return std::make_unique<filter_op>(std::move(*when));
  };
  return k;
}

} // namespace sluice
