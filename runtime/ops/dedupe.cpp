#include "ops/dedupe.hpp"

#include <algorithm>
#include <limits>

#include "ops/kinds.hpp"
#include "ops/schema.hpp"

namespace sluice {

std::optional<dedupe_config> dedupe_config::parse(params_reader& p) {
  dedupe_config cfg;
  bool ok = true;
  auto key = p.expression("key", true);
  if (key)
    cfg.key = std::move(*key);
  auto window = p.raw("window");
  if (window == nullptr || window->is_null()) {
    p.error("window", "missing required param 'window': dedupe keeps keys only within a "
                      "bounded window, e.g. {\"count\": 100000} or {\"ms\": 60000}");
  } else if (!window->is_object()) {
    p.error("window", "expected an object with 'count' and/or 'ms', got "
                        + describe_value(*window));
  } else {
    params_reader w{*window, p.path_of("window"), p.kind(), p.diags()};
    auto count = w.integer("count", false, 1, std::numeric_limits<int64_t>::max());
    auto ms = w.integer("ms", false, 1, std::numeric_limits<int64_t>::max() / 1000);
    if (count)
      cfg.window_count = static_cast<uint64_t>(*count);
    cfg.window_ms = ms;
    bool window_ok = w.finish();
    if (window_ok && !count && !ms) {
      p.error("window", "give 'count' (keep the last N distinct keys), 'ms' (block repeats "
                        "for N milliseconds) or both");
    }
    ok = window_ok;
  }
  auto max_keys = p.integer("max_keys", false, 1, std::numeric_limits<int64_t>::max());
  if (max_keys)
    cfg.max_keys = static_cast<uint64_t>(*max_keys);
  if (!p.finish() || !ok || !key)
    return std::nullopt;
  return cfg;
}

dedupe_op::dedupe_op(dedupe_config cfg, std::function<int64_t()> clock)
  : cfg_(std::move(cfg)), clock_(std::move(clock)),
    capacity_(std::min(cfg_.max_keys, cfg_.window_count.value_or(cfg_.max_keys))) {
}

void dedupe_op::expire(int64_t now) {
  if (!cfg_.window_ms)
    return;
  auto horizon = now - *cfg_.window_ms * 1000;
  // Entries are in pass order and the clock is kept monotonic, so expired
  // ones are all at the front.
  while (!order_.empty() && order_.front().passed_us <= horizon) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
}

void dedupe_op::process(record&& rec, emitter& out) {
  auto value = cfg_.key.eval(rec);
  if (!value) {
    value.err().message = "dedupe key '" + cfg_.key.text() + "': " + value.err().message;
    out.fail(std::move(rec), std::move(value.err()));
    return;
  }
  if (value->is_null()) {
    out.fail(std::move(rec),
             error{errc::runtime_error,
                   "dedupe key '" + cfg_.key.text() + "' is null (is the field missing?); "
                   "a record without a key cannot be deduplicated"});
    return;
  }
  int64_t now = 0;
  if (cfg_.window_ms) {
    // A clock that steps back (NTP) must not reorder the FIFO.
    last_now_ = std::max(last_now_, clock_());
    now = last_now_;
    expire(now);
  }
  auto key = canonical_json(*value);
  if (index_.count(key) > 0) {
    out.discard(rec, disposition::filtered);
    return;
  }
  order_.push_back(entry{std::move(key), now});
  auto last = std::prev(order_.end());
  index_.emplace(std::string_view{last->key}, last);
  while (order_.size() > capacity_) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  out.emit(std::move(rec));
}

stage_kind describe_dedupe() {
  stage_kind k;
  k.name = "dedupe";
  k.role = stage_role::transform;
  k.summary = "passes the first record of each key within a bounded window, filters repeats";
  k.make_op = [](const stage_spec&, params_reader& p) -> op_ptr {
    auto cfg = dedupe_config::parse(p);
    if (!cfg)
      return nullptr;
    return std::make_unique<dedupe_op>(std::move(*cfg));
  };
  k.allows_parallelism = true;
  // The same key must always reach the same replica, or two replicas would
  // each pass it once.
  k.default_partition = [](const stage_spec& spec) -> std::string {
    auto i = spec.params.find("key");
    if (i == spec.params.end() || !i->is_string())
      return {};
    return i->get<std::string>();
  };
  return k;
}

} // namespace sluice
