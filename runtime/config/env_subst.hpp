#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/diagnostic.hpp"

namespace sluice {

/// Replaces `${VAR}` and `${VAR:-default}` in every string of `doc` (keys
/// stay as written) with the environment's value; `$${` stands for a literal
/// `${`. An unset variable without a default is an error at the string's JSON
/// path. A string that is exactly "${VAR}" whose value parses as a JSON
/// number or boolean stays a string: types never change behind the user's back.
void substitute_env(nlohmann::ordered_json& doc, const std::string& json_path,
                    diagnostics& diags);

/// The same for one string; errors are reported at `json_path`.
std::string substitute_env(const std::string& text, const std::string& json_path,
                           diagnostics& diags);

} // namespace sluice
