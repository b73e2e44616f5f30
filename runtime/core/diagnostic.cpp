#include "core/diagnostic.hpp"

#include <algorithm>

namespace sluice {

std::string json_pointer_escape(const std::string& key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string diagnostic::render() const {
  std::string out;
  if (!file.empty())
    out += file + ": ";
  if (!json_path.empty())
    out += json_path + ": ";
  if (severity == level::warning)
    out += "warning: ";
  out += message;
  if (!hint.empty())
    out += " (hint: " + hint + ")";
  return out;
}

diagnostic& diagnostics::add(diagnostic::level lvl, std::string path, std::string msg) {
  auto same = [&](const diagnostic& d) {
    return d.severity == lvl && d.json_path == path && d.message == msg;
  };
  if (auto i = std::find_if(items_.begin(), items_.end(), same); i != items_.end())
    return *i;
  items_.push_back(diagnostic{lvl, file_, std::move(path), std::move(msg), {}});
  return items_.back();
}

diagnostic& diagnostics::error(std::string json_path, std::string message) {
  return add(diagnostic::level::error, std::move(json_path), std::move(message));
}

diagnostic& diagnostics::warning(std::string json_path, std::string message) {
  return add(diagnostic::level::warning, std::move(json_path), std::move(message));
}

bool diagnostics::has_errors() const {
  return std::any_of(items_.begin(), items_.end(), [](const diagnostic& d) {
    return d.severity == diagnostic::level::error;
  });
}

std::string diagnostics::render() const {
  std::string out;
  for (auto& d : items_)
    out += d.render() + '\n';
  return out;
}

} // namespace sluice
