#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "expr/functions.hpp"

namespace sluice::expr {

/// The built-in a user probably meant by the unknown function `name` (a
/// near spelling, or the name another language uses, like `length` for
/// `len`); empty if nothing is close.
std::string suggest_function(std::string_view name);

/// `true`, `false`, `null` or `lineage` if `name` looks like a typo of one;
/// else empty.
std::string suggest_keyword(std::string_view name);

/// The member of `lineage` a user probably meant by `name` ("sorce" ->
/// "source"); empty if nothing is close.
std::string suggest_lineage_member(std::string_view name);

/// "the members are lineage.source, lineage.file, lineage.line and lineage.path".
std::string lineage_members_text();

/// "round() takes 1 argument (round(number)), got 2".
std::string arity_message(const builtin& fn, size_t got);

} // namespace sluice::expr
