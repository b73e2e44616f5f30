#include "config/env_subst.hpp"

#include <cstdlib>

namespace sluice {

std::string substitute_env(const std::string& text, const std::string& json_path,
                           diagnostics& diags) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.push_back(text[i++]);
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string::npos) {
      diags.error(json_path, "unterminated '${' in \"" + text + "\"")
        .hint = "write ${NAME}, or $${ for a literal '${'";
      return text;
    }
    auto body = text.substr(i + 2, close - i - 2);
    std::string name = body;
    std::string fallback;
    bool has_fallback = false;
    if (auto sep = body.find(":-"); sep != std::string::npos) {
      name = body.substr(0, sep);
      fallback = body.substr(sep + 2);
      has_fallback = true;
    }
    if (name.empty()) {
      diags.error(json_path, "empty variable name in \"" + text + "\"");
      return text;
    }
    if (auto v = std::getenv(name.c_str()); v != nullptr && (*v != '\0' || !has_fallback))
      out += v;
    else if (has_fallback)
      out += fallback;
    else
      diags.error(json_path, "environment variable '" + name + "' is not set")
        .hint = "export " + name + "=... or write ${" + name + ":-default}";
    i = close + 1;
  }
  return out;
}

void substitute_env(nlohmann::ordered_json& doc, const std::string& json_path,
                    diagnostics& diags) {
  if (doc.is_string()) {
    auto& s = doc.get_ref<std::string&>();
    if (s.find('$') != std::string::npos)
      s = substitute_env(s, json_path.empty() ? "/" : json_path, diags);
  } else if (doc.is_array()) {
    for (size_t i = 0; i < doc.size(); ++i)
      substitute_env(doc[i], json_path + "/" + std::to_string(i), diags);
  } else if (doc.is_object()) {
    for (auto& [k, v] : doc.items())
      substitute_env(v, json_path + "/" + json_pointer_escape(k), diags);
  }
}

} // namespace sluice
