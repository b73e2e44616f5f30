#include "core/record.hpp"

#include <chrono>

namespace sluice {

namespace {

// Resolves an array index; negative indexes count from the end.
const json* at_index(const json& arr, int64_t idx) {
  auto size = static_cast<int64_t>(arr.size());
  if (idx < 0)
    idx += size;
  if (idx < 0 || idx >= size)
    return nullptr;
  return &arr[static_cast<size_t>(idx)];
}

const json* step(const json& node, const field_path::segment& seg) {
  if (auto key = std::get_if<std::string>(&seg)) {
    if (!node.is_object())
      return nullptr;
    auto i = node.find(*key);
    return i == node.end() ? nullptr : &*i;
  }
  if (!node.is_array())
    return nullptr;
  return at_index(node, std::get<int64_t>(seg));
}

json* step_mut(json& node, const field_path::segment& seg) {
  return const_cast<json*>(step(node, seg));
}

} // namespace

const json* record::get(const field_path& path) const {
  const json* node = &content_;
  for (auto& seg : path.segments()) {
    node = step(*node, seg);
    if (node == nullptr)
      return nullptr;
  }
  return node;
}

status record::set(const field_path& path, json value) {
  if (path.empty()) {
    if (!value.is_object())
      return error{errc::type_error, "the whole record can only be set to an object"};
    content_ = std::move(value);
    return {};
  }
  json* node = &content_;
  auto& segs = path.segments();
  for (size_t i = 0; i < segs.size(); ++i) {
    bool last = i + 1 == segs.size();
    if (auto key = std::get_if<std::string>(&segs[i])) {
      if (node->is_null())
        *node = json::object();
      if (!node->is_object())
        return error{errc::type_error, "cannot set " + path.str() + ": a step before '"
                                         + *key + "' is not an object"};
      if (last) {
        (*node)[*key] = std::move(value);
        return {};
      }
      node = &(*node)[*key];
    } else {
      auto idx = std::get<int64_t>(segs[i]);
      json* next = node->is_array() ? const_cast<json*>(at_index(*node, idx)) : nullptr;
      if (next == nullptr)
        return error{errc::type_error, "cannot set " + path.str() + ": index "
                                         + std::to_string(idx) + " does not exist"};
      if (last) {
        *next = std::move(value);
        return {};
      }
      node = next;
    }
  }
  return {};
}

result<bool> record::rename(const field_path& from, const field_path& to) {
  if (from.empty() || to.empty())
    return error{errc::invalid_config, "rename needs two field paths, not the whole record"};
  // Find the parent of `from` and take the value out.
  json* parent = &content_;
  auto& segs = from.segments();
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    parent = step_mut(*parent, segs[i]);
    if (parent == nullptr)
      return false;
  }
  auto& last = segs.back();
  json value;
  if (auto key = std::get_if<std::string>(&last)) {
    if (!parent->is_object())
      return false;
    auto it = parent->find(*key);
    if (it == parent->end())
      return false;
    value = std::move(*it);
    parent->erase(it);
  } else {
    auto* slot = step_mut(*parent, last);
    if (slot == nullptr)
      return false;
    value = std::move(*slot);
    *slot = nullptr;
  }
  if (auto st = set(to, std::move(value)); !st)
    return st.err();
  return true;
}

bool record::drop(const field_path& path) {
  if (path.empty())
    return false;
  json* parent = &content_;
  auto& segs = path.segments();
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    parent = step_mut(*parent, segs[i]);
    if (parent == nullptr)
      return false;
  }
  auto& last = segs.back();
  if (auto key = std::get_if<std::string>(&last))
    return parent->is_object() && parent->erase(*key) > 0;
  if (!parent->is_array())
    return false;
  auto idx = std::get<int64_t>(last);
  auto size = static_cast<int64_t>(parent->size());
  if (idx < 0)
    idx += size;
  if (idx < 0 || idx >= size)
    return false;
  parent->erase(static_cast<size_t>(idx));
  return true;
}

void record::keep(const std::vector<field_path>& paths) {
  json kept = json::object();
  record out;
  out.content_ = std::move(kept);
  for (auto& p : paths)
    if (auto* v = get(p))
      (void) out.set(p, *v);
  content_ = std::move(out.content_);
}

void record::serialize(std::string& out) const {
  // dump() into a temporary costs one allocation; the output adapter appends
  // straight into `out`.
  nlohmann::detail::serializer<json> s{
    nlohmann::detail::output_adapter<char>(out), ' ',
    nlohmann::detail::error_handler_t::replace};
  s.dump(content_, false, false, 0);
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace sluice
