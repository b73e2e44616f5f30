#include "config/params.hpp"

#include <algorithm>

namespace sluice {

namespace {

const char* type_name(const nlohmann::json& v) {
  if (v.is_number_integer())
    return "integer";
  if (v.is_number_float())
    return "number";
  return v.type_name();
}

} // namespace

params_reader::params_reader(const nlohmann::json& params, std::string base_path,
                             std::string kind, diagnostics& diags,
                             const nlohmann::ordered_json* ordered)
  : params_(params), ordered_(ordered), base_(std::move(base_path)), kind_(std::move(kind)), diags_(diags) {
}

bool params_reader::has(const std::string& key) const {
  return params_.is_object() && params_.contains(key);
}

std::string params_reader::path_of(const std::string& key) const {
  return key.empty() ? base_ : base_ + "/" + json_pointer_escape(key);
}

std::string params_reader::path_of(const std::string& key, const std::string& sub) const {
  return path_of(key) + "/" + json_pointer_escape(sub);
}

diagnostic& params_reader::error(const std::string& key, std::string message) {
  ++errors_;
  return diags_.error(path_of(key), std::move(message));
}

diagnostic& params_reader::error_at(const std::string& json_path, std::string message) {
  ++errors_;
  return diags_.error(json_path, std::move(message));
}

const nlohmann::json* params_reader::raw(const std::string& key) {
  seen_.insert(key);
  if (!params_.is_object())
    return nullptr;
  auto i = params_.find(key);
  return i == params_.end() ? nullptr : &*i;
}

namespace {

// Looks up `key`; reports a missing required param. Returns nullptr when
// absent (or null, which means "absent" for optional params).
template <class Reader>
const nlohmann::json* lookup(Reader& r, const std::string& key, bool required) {
  auto v = r.raw(key);
  if (v == nullptr || v->is_null()) {
    if (required)
      r.error(key, "missing required param '" + key + "' for stage type '" + r.kind() + "'");
    return nullptr;
  }
  return v;
}

} // namespace

std::optional<std::string> params_reader::string(const std::string& key, bool required) {
  auto v = lookup(*this, key, required);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_string()) {
    error(key, std::string{"expected a string, got "} + type_name(*v));
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<int64_t> params_reader::integer(const std::string& key, bool required,
                                              int64_t min, int64_t max) {
  auto v = lookup(*this, key, required);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_number_integer()) {
    error(key, std::string{"expected an integer, got "} + type_name(*v));
    return std::nullopt;
  }
  int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)
                ? INT64_MAX
                : v->get<int64_t>();
  if (x < min || x > max) {
    error(key, "expected an integer from " + std::to_string(min) + " to "
                 + std::to_string(max) + ", got " + std::to_string(x));
    return std::nullopt;
  }
  return x;
}

std::optional<double> params_reader::number(const std::string& key, bool required) {
  auto v = lookup(*this, key, required);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_number()) {
    error(key, std::string{"expected a number, got "} + type_name(*v));
    return std::nullopt;
  }
  return v->get<double>();
}

std::optional<bool> params_reader::boolean(const std::string& key, bool required) {
  auto v = lookup(*this, key, required);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_boolean()) {
    error(key, std::string{"expected true or false, got "} + type_name(*v));
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::string> params_reader::choice(const std::string& key, bool required,
                                                 const std::vector<std::string>& choices) {
  auto s = string(key, required);
  if (!s)
    return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) == choices.end()) {
    std::string list;
    for (auto& c : choices)
      list += (list.empty() ? "'" : ", '") + c + "'";
    error(key, "'" + *s + "' is not one of " + list);
    return std::nullopt;
  }
  return s;
}

std::optional<field_path> params_reader::path(const std::string& key, bool required) {
  auto s = string(key, required);
  if (!s)
    return std::nullopt;
  auto p = field_path::parse(*s);
  if (!p) {
    error(key, p.err().message);
    return std::nullopt;
  }
  return *p;
}

std::optional<expr::expression> params_reader::compile(const std::string& text,
                                                       const std::string& json_path) {
  auto e = expr::expression::compile(text, names_);
  if (!e) {
    ++errors_;
    diags_.error(json_path, e.err().message + " in '" + text + "'");
    return std::nullopt;
  }
  return std::move(*e);
}

std::optional<expr::expression> params_reader::expression(const std::string& key,
                                                          bool required) {
  auto s = string(key, required);
  if (!s)
    return std::nullopt;
  return compile(*s, path_of(key));
}

std::optional<std::vector<std::string>> params_reader::strings(const std::string& key,
                                                               bool required) {
  auto v = lookup(*this, key, required);
  if (v == nullptr)
    return std::nullopt;
  if (v->is_string())
    return std::vector<std::string>{v->get<std::string>()};
  if (!v->is_array()) {
    error(key, std::string{"expected a list of strings, got "} + type_name(*v));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < v->size(); ++i) {
    auto& item = (*v)[i];
    if (!item.is_string()) {
      ++errors_;
      diags_.error(path_of(key) + "/" + std::to_string(i),
                   std::string{"expected a string, got "} + type_name(item));
      ok = false;
      continue;
    }
    out.push_back(item.get<std::string>());
  }
  if (!ok)
    return std::nullopt;
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>>
params_reader::string_map(const std::string& key, bool required) {
  auto v = lookup(*this, key, required);
  if (v == nullptr)
    return std::nullopt;
  if (!v->is_object()) {
    error(key, std::string{"expected an object, got "} + type_name(*v));
    return std::nullopt;
  }
  // Keys in the order written when the ordered view has them, else sorted.
  std::vector<std::string> keys;
  if (ordered_ != nullptr && ordered_->contains(key) && (*ordered_)[key].is_object())
    for (auto& [k, item] : (*ordered_)[key].items()) {
      (void) item;
      keys.push_back(k);
    }
  else
    for (auto& [k, item] : v->items()) {
      (void) item;
      keys.push_back(k);
    }
  std::vector<std::pair<std::string, std::string>> out;
  bool ok = true;
  for (auto& k : keys) {
    auto& item = (*v)[k];
    if (!item.is_string()) {
      ++errors_;
      diags_.error(path_of(key) + "/" + json_pointer_escape(k),
                   std::string{"expected a string, got "} + type_name(item));
      ok = false;
      continue;
    }
    out.emplace_back(k, item.get<std::string>());
  }
  if (!ok)
    return std::nullopt;
  return out;
}

bool params_reader::finish() {
  if (params_.is_object()) {
    for (auto& [k, v] : params_.items()) {
      (void) v;
      if (seen_.count(k) == 0) {
        std::string known;
        for (auto& s : seen_)
          known += (known.empty() ? "" : ", ") + s;
        error(k, "unknown param '" + k + "' for stage type '" + kind_ + "'")
          .hint = known.empty() ? "this stage type takes no params"
                                : "known params: " + known;
      }
    }
  } else if (!params_.is_null()) {
    error("", std::string{"params must be an object, got "} + type_name(params_));
  }
  return errors_ == 0;
}

} // namespace sluice
