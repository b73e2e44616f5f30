#include "core/record.hpp"

#include <cassert>
#include <chrono>

namespace sluice {

namespace {

// Resolves an array index (negative ones count from the end); -1 if it is
// out of range.
int64_t resolve_index(const json& arr, int64_t idx) {
  auto size = static_cast<int64_t>(arr.size());
  if (idx < 0)
    idx += size;
  return idx < 0 || idx >= size ? -1 : idx;
}

const json* at_index(const json& arr, int64_t idx) {
  idx = resolve_index(arr, idx);
  return idx < 0 ? nullptr : &arr[static_cast<size_t>(idx)];
}

json* at_index(json& arr, int64_t idx) {
  return const_cast<json*>(at_index(static_cast<const json&>(arr), idx));
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

// The node at the first `depth` segments, or nullptr if it does not exist.
json* walk(json& root, const std::vector<field_path::segment>& segs, size_t depth) {
  const json* node = &root;
  for (size_t i = 0; i < depth && node != nullptr; ++i)
    node = step(*node, segs[i]);
  return const_cast<json*>(node);
}

error not_an_object(const field_path& path, const std::string& key) {
  return error{errc::type_error,
               "cannot set " + path.str() + ": a step before '" + key + "' is not an object"};
}

error no_such_index(const field_path& path, int64_t idx) {
  return error{errc::type_error, "cannot set " + path.str() + ": index "
                                   + std::to_string(idx) + " does not exist"};
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
  return set_impl(path, std::move(value), nullptr);
}

status record::set(const field_path& path, json value, change& undo) {
  undo = change{};
  return set_impl(path, std::move(value), &undo);
}

// Moves from `value` only when it succeeds: rename puts the value back on
// failure.
status record::set_impl(const field_path& path, json&& value, change* undo) {
  if (path.empty()) {
    if (!value.is_object())
      return error{errc::type_error, "the whole record can only be set to an object"};
    if (undo != nullptr) {
      undo->target = &path;
      undo->applied = true;
      undo->depth = 0;
      undo->existed = true;
      undo->old = std::move(content_);
    }
    content_ = std::move(value);
    return {};
  }
  auto& segs = path.segments();
  auto n = segs.size();
  // First walk what exists, creating nothing. It stops at the first step
  // that has to be created: a missing key, or a null that becomes an object.
  json* node = &content_;
  size_t i = 0;
  for (; i < n; ++i) {
    if (auto key = std::get_if<std::string>(&segs[i])) {
      if (node->is_null())
        break;
      if (!node->is_object())
        return not_an_object(path, *key);
      auto it = node->find(*key);
      if (it == node->end())
        break;
      node = &*it;
    } else {
      auto idx = std::get<int64_t>(segs[i]);
      json* next = node->is_array() ? at_index(*node, idx) : nullptr;
      if (next == nullptr)
        return no_such_index(path, idx);
      node = next;
    }
  }
  // What is left would be created, and only objects are created: an index
  // among the rest cannot exist.
  for (size_t j = i; j < n; ++j)
    if (auto idx = std::get_if<int64_t>(&segs[j]))
      return no_such_index(path, *idx);
  // The set cannot fail from here on.
  if (undo != nullptr) {
    undo->target = &path;
    undo->applied = true;
    if (i == n) { // replaces a value
      undo->depth = n;
      undo->existed = true;
      undo->old = std::move(*node);
    } else if (node->is_null()) { // turns a null into an object
      undo->depth = i;
      undo->existed = true;
      undo->old = nullptr;
    } else { // adds key segs[i] to an object
      undo->depth = i + 1;
      undo->existed = false;
    }
  }
  if (i == n) {
    *node = std::move(value);
    return {};
  }
  // operator[] turns a null into an object and adds missing keys.
  for (; i + 1 < n; ++i)
    node = &(*node)[std::get<std::string>(segs[i])];
  (*node)[std::get<std::string>(segs[n - 1])] = std::move(value);
  return {};
}

result<bool> record::rename(const field_path& from, const field_path& to) {
  return rename_impl(from, to, nullptr);
}

result<bool> record::rename(const field_path& from, const field_path& to, change& undo) {
  undo = change{};
  return rename_impl(from, to, &undo);
}

result<bool> record::rename_impl(const field_path& from, const field_path& to,
                                 change* undo) {
  if (from.empty() || to.empty())
    return error{errc::invalid_config, "rename needs two field paths, not the whole record"};
  auto& segs = from.segments();
  json* parent = walk(content_, segs, segs.size() - 1);
  if (parent == nullptr)
    return false;
  auto& last = segs.back();
  if (auto key = std::get_if<std::string>(&last)) {
    if (!parent->is_object())
      return false;
    auto it = parent->find(*key);
    if (it == parent->end())
      return false;
    if (from == to)
      return true;
    json value = std::move(*it);
    parent->erase(it);
    // A failed set changes nothing and leaves `value` alone, so `parent` is
    // still valid and the value goes back where it was.
    if (auto st = set_impl(to, std::move(value), undo); !st) {
      parent->emplace(*key, std::move(value));
      return st.err();
    }
  } else {
    if (!parent->is_array())
      return false;
    auto idx = resolve_index(*parent, std::get<int64_t>(last));
    if (idx < 0)
      return false;
    if (from == to)
      return true;
    auto pos = static_cast<size_t>(idx);
    json value = std::move((*parent)[pos]);
    parent->erase(pos);
    if (auto st = set_impl(to, std::move(value), undo); !st) {
      parent->insert(parent->begin() + idx, std::move(value));
      return st.err();
    }
    if (undo != nullptr)
      undo->from_index = idx;
  }
  if (undo != nullptr)
    undo->from = &from;
  return true;
}

void record::undo(change&& c) {
  if (!c.applied)
    return;
  c.applied = false;
  // A rename: take the moved value back out of its target first.
  json value;
  if (c.from != nullptr) {
    auto& to = c.target->segments();
    json* at = walk(content_, to, to.size());
    assert(at != nullptr && "undo: changes undone out of order");
    if (at == nullptr)
      return;
    value = std::move(*at);
  }
  // Revert the set.
  auto& segs = c.target->segments();
  if (c.existed) {
    json* node = walk(content_, segs, c.depth);
    assert(node != nullptr && "undo: changes undone out of order");
    if (node != nullptr)
      *node = std::move(c.old);
  } else {
    json* parent = walk(content_, segs, c.depth - 1);
    assert(parent != nullptr && parent->is_object() && "undo: changes undone out of order");
    if (parent != nullptr && parent->is_object())
      parent->erase(std::get<std::string>(segs[c.depth - 1]));
  }
  if (c.from == nullptr)
    return;
  // Put the value back where the rename took it from.
  auto& from = c.from->segments();
  json* parent = walk(content_, from, from.size() - 1);
  assert(parent != nullptr && "undo: changes undone out of order");
  if (parent == nullptr)
    return;
  if (auto key = std::get_if<std::string>(&from.back()))
    parent->emplace(*key, std::move(value));
  else
    parent->insert(parent->begin() + c.from_index, std::move(value));
}

bool record::drop(const field_path& path) {
  if (path.empty())
    return false;
  auto& segs = path.segments();
  json* parent = walk(content_, segs, segs.size() - 1);
  if (parent == nullptr)
    return false;
  auto& last = segs.back();
  if (auto key = std::get_if<std::string>(&last))
    return parent->is_object() && parent->erase(*key) > 0;
  if (!parent->is_array())
    return false;
  auto idx = resolve_index(*parent, std::get<int64_t>(last));
  if (idx < 0)
    return false;
  parent->erase(static_cast<size_t>(idx));
  return true;
}

void record::keep(const std::vector<field_path>& paths) {
  json out = json::object();
  for (auto& p : paths) {
    const json* src = get(p);
    if (src == nullptr)
      continue;
    // Walk the record and `out` side by side, building in `out` the
    // containers the record has on the way. A node of `out` is either still
    // null or of the same type as the record's (a parent kept whole first).
    src = &content_;
    json* dst = &out;
    for (auto& seg : p.segments()) {
      if (auto key = std::get_if<std::string>(&seg)) {
        src = step(*src, seg);
        if (!dst->is_object())
          *dst = json::object();
        dst = &(*dst)[*key];
      } else {
        // The index as the record's array resolves it (get() found it, so
        // it is in range).
        auto idx = static_cast<size_t>(resolve_index(*src, std::get<int64_t>(seg)));
        src = step(*src, seg);
        if (!dst->is_array())
          *dst = json::array();
        while (dst->size() <= idx)
          dst->push_back(nullptr);
        dst = &(*dst)[idx];
      }
    }
    *dst = *src;
  }
  content_ = std::move(out);
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
