#pragma once

// The compiled schema tree, shared by schema.cpp (compiling) and
// schema_validate.cpp (validating). Private to those two files.

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "ops/schema.hpp"

namespace sluice {

namespace schema_detail {

// Instance type bits; a node's `types` is a mask of them (0: any type).
enum type_bit : unsigned {
  t_null = 1,
  t_boolean = 2,
  t_integer = 4,
  t_number = 8,
  t_string = 16,
  t_array = 32,
  t_object = 64,
};

using node_ptr = std::unique_ptr<node>;

/// One compiled (sub)schema. Every keyword became a field at compile time,
/// so validation never looks a keyword up.
struct node {
  bool reject_all = false; // the schema `false`
  unsigned types = 0;
  std::vector<std::string> type_names; // as written, for messages
  bool has_enum = false;
  json enum_values; // an array
  bool has_const = false;
  json const_value;
  // numbers: bounds as JSON numbers, compared exactly where both are integers
  std::optional<json> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  // strings
  std::optional<uint64_t> min_length, max_length;
  bool has_pattern = false;
  std::regex pattern;
  std::string pattern_text;
  // arrays
  node_ptr items;
  std::optional<uint64_t> min_items, max_items;
  bool unique_items = false;
  // objects; `properties` is sorted by name, like nlohmann's objects
  std::vector<std::string> required;
  std::vector<std::pair<std::string, node_ptr>> properties;
  node_ptr additional; // nullptr: any additional property is fine
  std::optional<uint64_t> min_properties, max_properties;
  // combinators
  std::vector<node_ptr> any_of, all_of, one_of;
  node_ptr negated;
};

} // namespace schema_detail

} // namespace sluice
