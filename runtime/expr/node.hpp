#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <vector>

#include "core/field_path.hpp"
#include "core/record.hpp"

namespace sluice {
struct trail_names; // core/trail_names.hpp
}

namespace sluice::expr {

struct builtin;

/// What a node of the compiled tree does when evaluated.
enum class node_kind : uint8_t {
  literal,       ///< `literal` (numbers, strings, true/false/null, constant arrays)
  path,          ///< `path` looked up in the record; missing gives null
  array,         ///< array literal with computed elements: `args`
  index,         ///< `args[0][index]` on a computed value (`split(...)[0]`)
  call,          ///< `fn` applied to `args`
  negate,        ///< `-args[0]`
  logical_not,   ///< `!args[0]`
  multiply,      ///< `args[0] * args[1]`, and so on for the binary kinds
  divide,
  modulo,
  add,
  subtract,
  less,
  less_equal,
  greater,
  greater_equal,
  equal,
  not_equal,
  in,
  logical_and,   ///< `args[0] && args[1] && ...` (a chain is one node)
  logical_or,    ///< `args[0] || args[1] || ...`
  lineage,       ///< `lineage.<member>`: the record's trail, named through `names`
};

/// What `lineage.<member>` reads from the record's trail.
enum class lineage_member : uint8_t {
  source, ///< the id of the stage the record entered at (a source, or an aggregate)
  file,   ///< its input file; "" for stdin, generators, aggregates
  line,   ///< its line (record number) in that input
  path,   ///< the ids of the stages it passed so far, in order
};

/// The member names, in the order of lineage_member, for messages and hints.
const char* const lineage_members[] = {"source", "file", "line", "path"};

/// The operator's spelling in source, for messages ("'*': ...").
const char* symbol(node_kind kind) noexcept;

/// One node of a compiled expression. Built once by the parser, then only
/// read: evaluation takes `const node&`, so one tree may be evaluated from
/// several threads at once. Every field a kind does not use stays empty.
struct node {
  node_kind kind = node_kind::literal;
  uint32_t column = 0;  ///< 1-based column where the construct starts
  uint32_t depth = 1;   ///< height of the subtree (the parser bounds it)
  json literal;         ///< literal
  field_path path;      ///< path
  int64_t index = 0;    ///< index (negative counts from the end)
  const builtin* fn = nullptr;             ///< call
  std::shared_ptr<const std::regex> regex; ///< call of matches(): the pattern
  std::vector<node> args;                  ///< operands, elements, arguments
  lineage_member member = lineage_member::source;   ///< lineage
  std::shared_ptr<const trail_names> names;         ///< lineage
};

} // namespace sluice::expr
