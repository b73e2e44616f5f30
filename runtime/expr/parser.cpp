#include "expr/parser.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "expr/functions.hpp"
#include "expr/hints.hpp"
#include "expr/lexer.hpp"

namespace sluice::expr {

namespace {

// Binding strength of the binary operators; higher binds tighter.
enum level : int {
  level_or = 1,
  level_and,
  level_in,
  level_equality,
  level_relational,
  level_additive,
  level_multiplicative,
};

struct binary_op {
  node_kind kind;
  int level;
};

std::optional<binary_op> binary_op_of(const token& t) {
  switch (t.kind) {
    case tok::or_or: return binary_op{node_kind::logical_or, level_or};
    case tok::and_and: return binary_op{node_kind::logical_and, level_and};
    case tok::equal: return binary_op{node_kind::equal, level_equality};
    case tok::not_equal: return binary_op{node_kind::not_equal, level_equality};
    case tok::less: return binary_op{node_kind::less, level_relational};
    case tok::less_equal: return binary_op{node_kind::less_equal, level_relational};
    case tok::greater: return binary_op{node_kind::greater, level_relational};
    case tok::greater_equal: return binary_op{node_kind::greater_equal, level_relational};
    case tok::plus: return binary_op{node_kind::add, level_additive};
    case tok::minus: return binary_op{node_kind::subtract, level_additive};
    case tok::star: return binary_op{node_kind::multiply, level_multiplicative};
    case tok::slash: return binary_op{node_kind::divide, level_multiplicative};
    case tok::percent: return binary_op{node_kind::modulo, level_multiplicative};
    case tok::name:
      if (t.text == "in")
        return binary_op{node_kind::in, level_in};
      return std::nullopt;
    default: return std::nullopt;
  }
}

const std::string too_deep_message =
  "the expression nests too deeply (the limit is " + std::to_string(max_depth) + " levels)";

// Counts one level of parser recursion for as long as it lives.
struct nesting {
  explicit nesting(uint32_t& depth) : depth_(depth) {
    ++depth_;
  }
  ~nesting() {
    --depth_;
  }
  nesting(const nesting&) = delete;
  nesting& operator=(const nesting&) = delete;
  bool too_deep() const noexcept {
    return depth_ > max_depth;
  }
  uint32_t& depth_;
};

// The parser passes nodes around on the heap, so its recursive frames hold
// pointers instead of whole nodes; the finished tree keeps children inline.
using node_ptr = std::unique_ptr<node>;

/// Recursive-descent parser (precedence climbing for the binary operators)
/// over a lexer with one token of lookahead. One instance parses one text.
///
/// Stack use matters here: the functions on the recursive path (binary,
/// unary, primary, group, array, name, call) keep few locals, and everything
/// else (lexing, literals, checks, messages) lives in functions that are not
/// inlined into them, so the depth limit bounds the stack to a few hundred KB
/// even in unoptimised builds.
class parser {
public:
  parser(std::string_view text, std::shared_ptr<const trail_names> names)
    : text_(text), lex_(text), names_(std::move(names)) {}

  result<std::shared_ptr<const node>> run();

private:
  // -- the recursive path -------------------------------------------------------
  result<node_ptr> parse_binary(int min_level);
  result<node_ptr> parse_unary();
  result<node_ptr> parse_primary();
  result<node_ptr> parse_group();
  result<node_ptr> parse_array();
  result<node_ptr> parse_name();
  result<node_ptr> parse_call(size_t name_pos, const builtin& fn);
  result<node_ptr> parse_lineage(size_t name_pos);

  // -- leaves and checks, kept out of the recursive frames ------------------------
  [[gnu::noinline]] status advance();
  [[gnu::noinline]] result<node_ptr> parse_literal();
  [[gnu::noinline]] result<node_ptr> negative_literal(size_t op_pos);
  [[gnu::noinline]] result<node_ptr> parse_postfix(node_ptr base);
  [[gnu::noinline]] status check_call(const builtin& fn, size_t name_pos, node& call,
                                      const std::vector<size_t>& arg_pos) const;
  [[gnu::noinline]] node_ptr constant_array(size_t open, std::vector<node>& elements) const;

  /// A node of `kind` over `children`, at `pos`; fails if it nests too deep.
  [[gnu::noinline]] result<node_ptr> parent(node_kind kind, size_t pos,
                                        std::vector<node> children) const;
  [[gnu::noinline]] result<node_ptr> unary_parent(node_kind kind, size_t pos, node_ptr operand) const;
  [[gnu::noinline]] result<node_ptr> binary_parent(node_kind kind, size_t pos, node_ptr lhs,
                                               node_ptr rhs) const;
  node_ptr literal(size_t pos, json v) const;

  // -- messages -------------------------------------------------------------------
  [[gnu::noinline]] error fail(size_t pos, const std::string& what) const {
    return error_at(text_, pos, what);
  }
  [[gnu::noinline]] error expected_expression() const;
  [[gnu::noinline]] error unclosed(const char* expected, const std::string& where,
                                   size_t open) const;
  [[gnu::noinline]] error unknown_name(const std::string& name, size_t pos) const;
  [[gnu::noinline]] error unknown_function(const std::string& name, size_t pos) const;
  [[gnu::noinline]] error lineage_without_member(size_t pos) const;
  [[gnu::noinline]] error after_expression() const;
  [[gnu::noinline]] error bad_argument_list(const builtin& fn, size_t parsed) const;
  std::string snippet(size_t pos, size_t len) const;
  /// ", found 'x'" for the current token; empty at the end of the text.
  std::string found() const;
  uint32_t column(size_t pos) const {
    return static_cast<uint32_t>(column_of(text_, pos));
  }

  std::string_view text_;
  lexer lex_;
  token cur_;
  bool has_prev_ = false;
  size_t prev_pos_ = 0;
  size_t prev_len_ = 0;
  uint32_t depth_ = 0;
  std::shared_ptr<const trail_names> names_; ///< for lineage.*; may be null
};

#define SLUICE_EXPR_ADVANCE()                                                  \
  if (auto advanced_ = advance(); !advanced_)                                  \
  return advanced_.err()

status parser::advance() {
  has_prev_ = true;
  prev_pos_ = cur_.pos;
  prev_len_ = cur_.len;
  auto next = lex_.next();
  if (!next)
    return next.err();
  cur_ = std::move(*next);
  return {};
}

result<std::shared_ptr<const node>> parser::run() {
  SLUICE_EXPR_ADVANCE();
  has_prev_ = false;
  if (cur_.kind == tok::end)
    return fail(0, "expected an expression (the text is empty)");
  SLUICE_TRY(root, parse_binary(level_or));
  if (cur_.kind != tok::end)
    return after_expression();
  return std::shared_ptr<const node>(std::move(root));
}

result<node_ptr> parser::parse_binary(int min_level) {
  SLUICE_TRY(lhs, parse_unary());
  bool after_comparison = false;
  for (;;) {
    auto op = binary_op_of(cur_);
    if (!op || op->level < min_level)
      return lhs;
    auto op_pos = cur_.pos;
    if (op->level == level_relational && after_comparison)
      return fail(op_pos, "comparisons cannot be chained; write 'a < b && b < c'");
    SLUICE_EXPR_ADVANCE();
    SLUICE_TRY(rhs, parse_binary(op->level + 1));
    bool logical = op->kind == node_kind::logical_and || op->kind == node_kind::logical_or;
    if (logical && lhs->kind == op->kind) {
      // `a && b && c` is one node with three operands: chains of any
      // length stay shallow.
      lhs->depth = std::max(lhs->depth, rhs->depth + 1);
      if (lhs->depth > max_depth)
        return fail(op_pos, too_deep_message);
      lhs->args.push_back(std::move(*rhs));
    } else {
      SLUICE_TRY(joined, binary_parent(op->kind, op_pos, std::move(lhs), std::move(rhs)));
      lhs = std::move(joined);
    }
    after_comparison = op->level == level_relational;
  }
}

result<node_ptr> parser::parse_unary() {
  if (cur_.kind != tok::bang && cur_.kind != tok::minus)
    return parse_primary();
  auto op_pos = cur_.pos;
  bool minus = cur_.kind == tok::minus;
  nesting guard{depth_};
  if (guard.too_deep())
    return fail(op_pos, too_deep_message);
  SLUICE_EXPR_ADVANCE();
  if (minus && (cur_.kind == tok::integer || cur_.kind == tok::floating))
    return negative_literal(op_pos);
  SLUICE_TRY(operand, parse_unary());
  return unary_parent(minus ? node_kind::negate : node_kind::logical_not, op_pos,
                      std::move(operand));
}

result<node_ptr> parser::parse_primary() {
  switch (cur_.kind) {
    case tok::integer:
    case tok::floating:
    case tok::string:
    case tok::path: return parse_literal();
    case tok::lparen: return parse_group();
    case tok::lbracket: return parse_array();
    case tok::name: return parse_name();
    default: return expected_expression();
  }
}

result<node_ptr> parser::parse_group() {
  auto open = cur_.pos;
  nesting guard{depth_};
  if (guard.too_deep())
    return fail(open, too_deep_message);
  SLUICE_EXPR_ADVANCE();
  SLUICE_TRY(inner, parse_binary(level_or));
  if (cur_.kind != tok::rparen)
    return unclosed("')'", "to close the '('", open);
  SLUICE_EXPR_ADVANCE();
  return parse_postfix(std::move(inner));
}

result<node_ptr> parser::parse_array() {
  auto open = cur_.pos;
  nesting guard{depth_};
  if (guard.too_deep())
    return fail(open, too_deep_message);
  SLUICE_EXPR_ADVANCE();
  std::vector<node> elements;
  if (cur_.kind != tok::rbracket) {
    for (;;) {
      SLUICE_TRY(element, parse_binary(level_or));
      elements.push_back(std::move(*element));
      if (cur_.kind == tok::comma) {
        SLUICE_EXPR_ADVANCE();
        continue;
      }
      if (cur_.kind == tok::rbracket)
        break;
      return unclosed("',' or ']'", "in the array opened", open);
    }
  }
  SLUICE_EXPR_ADVANCE();
  bool constant = std::all_of(elements.begin(), elements.end(),
                              [](const node& e) { return e.kind == node_kind::literal; });
  if (constant)
    return parse_postfix(constant_array(open, elements));
  SLUICE_TRY(arr, parent(node_kind::array, open, std::move(elements)));
  return parse_postfix(std::move(arr));
}

result<node_ptr> parser::parse_name() {
  auto pos = cur_.pos;
  if (cur_.text == "in")
    return expected_expression();
  if (cur_.text == "true" || cur_.text == "false" || cur_.text == "null")
    return parse_literal();
  auto name = std::move(cur_.text);
  SLUICE_EXPR_ADVANCE();
  if (name == "lineage" && cur_.kind != tok::lparen)
    return parse_lineage(pos);
  if (cur_.kind != tok::lparen)
    return unknown_name(name, pos);
  auto* fn = find_builtin(name);
  if (fn == nullptr)
    return unknown_function(name, pos);
  return parse_call(pos, *fn);
}

result<node_ptr> parser::parse_call(size_t name_pos, const builtin& fn) {
  nesting guard{depth_};
  if (guard.too_deep())
    return fail(name_pos, too_deep_message);
  SLUICE_EXPR_ADVANCE();
  std::vector<node> args;
  std::vector<size_t> arg_pos;
  if (cur_.kind != tok::rparen) {
    for (;;) {
      arg_pos.push_back(cur_.pos);
      SLUICE_TRY(arg, parse_binary(level_or));
      args.push_back(std::move(*arg));
      if (cur_.kind == tok::comma) {
        SLUICE_EXPR_ADVANCE();
        continue;
      }
      if (cur_.kind == tok::rparen)
        break;
      return bad_argument_list(fn, args.size());
    }
  }
  SLUICE_EXPR_ADVANCE();
  SLUICE_TRY(call, parent(node_kind::call, name_pos, std::move(args)));
  call->fn = &fn;
  if (auto checked = check_call(fn, name_pos, *call, arg_pos); !checked)
    return checked.err();
  return parse_postfix(std::move(call));
}

// `lineage.<member>`: the lexer reads `.source` (and `.path[0]`) as one path
// token right after the name; its first key picks the member and any
// indexes after it index the member's value.
result<node_ptr> parser::parse_lineage(size_t name_pos) {
  constexpr size_t name_len = 7; // "lineage"
  if (cur_.kind != tok::path || cur_.pos != name_pos + name_len || cur_.path.empty()
      || !std::holds_alternative<std::string>(cur_.path.segments()[0]))
    return lineage_without_member(name_pos);
  auto member_pos = cur_.pos + 1;
  auto& key = std::get<std::string>(cur_.path.segments()[0]);
  auto found = std::find_if(std::begin(lineage_members), std::end(lineage_members),
                            [&](const char* m) { return key == m; });
  if (found == std::end(lineage_members)) {
    std::string msg = "unknown lineage member '" + key + "'";
    if (auto hint = suggest_lineage_member(key); !hint.empty())
      msg += " (did you mean 'lineage." + hint + "'?)";
    return fail(member_pos, msg + "; " + lineage_members_text());
  }
  if (names_ == nullptr)
    return fail(name_pos, "lineage." + key
                            + " is not available here: it needs the pipeline's stage names, "
                              "which expressions get in stage params (filter, map, route, "
                              "dedupe, aggregate keys) but not in partition_by, aggregate "
                              "function arguments or an expression compiled on its own");
  auto n = std::make_unique<node>();
  n->kind = node_kind::lineage;
  n->column = column(name_pos);
  n->member = static_cast<lineage_member>(found - std::begin(lineage_members));
  n->names = names_;
  auto& segs = cur_.path.segments();
  for (size_t i = 1; i < segs.size(); ++i) {
    if (!std::holds_alternative<int64_t>(segs[i]))
      return fail(member_pos, "lineage." + key + " has no member '"
                                + std::get<std::string>(segs[i]) + "'");
    SLUICE_TRY(indexed, unary_parent(node_kind::index, name_pos, std::move(n)));
    indexed->index = std::get<int64_t>(segs[i]);
    n = std::move(indexed);
  }
  SLUICE_EXPR_ADVANCE();
  return parse_postfix(std::move(n));
}

result<node_ptr> parser::parse_literal() {
  auto pos = cur_.pos;
  node_ptr n;
  switch (cur_.kind) {
    case tok::integer:
      if (cur_.too_big || cur_.integer > static_cast<uint64_t>(INT64_MAX))
        return fail(pos, "integer " + snippet(pos, cur_.len)
                           + " is out of the 64-bit range; add '.0' to make it a float");
      n = literal(pos, json(static_cast<int64_t>(cur_.integer)));
      break;
    case tok::floating: n = literal(pos, json(cur_.floating)); break;
    case tok::string: n = literal(pos, json(std::move(cur_.text))); break;
    case tok::path:
      n = std::make_unique<node>();
      n->kind = node_kind::path;
      n->column = column(pos);
      n->path = std::move(cur_.path);
      break;
    default: // a name: true, false or null
      n = literal(pos, cur_.text == "null" ? json(nullptr) : json(cur_.text == "true"));
      break;
  }
  SLUICE_EXPR_ADVANCE();
  return n;
}

result<node_ptr> parser::negative_literal(size_t op_pos) {
  // A negative number literal, so -9223372036854775808 can be written.
  json v;
  if (cur_.kind == tok::floating) {
    v = -cur_.floating;
  } else {
    constexpr uint64_t limit = uint64_t{1} << 63;
    if (cur_.too_big || cur_.integer > limit)
      return fail(op_pos, "integer -" + snippet(cur_.pos, cur_.len)
                            + " is out of the 64-bit range; add '.0' to make it a float");
    v = cur_.integer == limit ? std::numeric_limits<int64_t>::min()
                              : -static_cast<int64_t>(cur_.integer);
  }
  SLUICE_EXPR_ADVANCE();
  return literal(op_pos, std::move(v));
}

status parser::check_call(const builtin& fn, size_t name_pos, node& call,
                          const std::vector<size_t>& arg_pos) const {
  auto& args = call.args;
  auto name = std::string{fn.name};
  if (args.size() < fn.min_args || args.size() > fn.max_args)
    return fail(name_pos, arity_message(fn, args.size()));
  if (fn.rule == arg_rule::field_path && args[0].kind != node_kind::path)
    return fail(arg_pos[0], name + "() takes a field path like .a.b, not a computed value");
  if (fn.rule == arg_rule::regex) {
    auto& pattern = args[1];
    if (pattern.kind != node_kind::literal || !pattern.literal.is_string())
      return fail(arg_pos[1], "the pattern of " + name
                                + "() must be a string literal (it is compiled once, "
                                  "when the pipeline loads)");
    try {
      call.regex = std::make_shared<const std::regex>(pattern.literal.get<std::string>(),
                                                      std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return fail(arg_pos[1], "invalid regular expression in " + name + "(): " + e.what());
    }
  }
  return {};
}

node_ptr parser::constant_array(size_t open, std::vector<node>& elements) const {
  // Folded once here, so `.x in ["a", "b"]` builds nothing per record.
  json arr = json::array();
  for (auto& e : elements)
    arr.push_back(std::move(e.literal));
  return literal(open, std::move(arr));
}

result<node_ptr> parser::parse_postfix(node_ptr base) {
  while (cur_.kind == tok::lbracket) {
    auto open = cur_.pos;
    SLUICE_EXPR_ADVANCE();
    bool negative = cur_.kind == tok::minus;
    if (negative) {
      SLUICE_EXPR_ADVANCE();
    }
    if (cur_.kind != tok::integer || cur_.too_big
        || cur_.integer > static_cast<uint64_t>(INT64_MAX))
      return fail(open, "expected an index like [0] or [-1]");
    auto idx = static_cast<int64_t>(cur_.integer);
    SLUICE_EXPR_ADVANCE();
    if (cur_.kind != tok::rbracket)
      return fail(open, "expected an index like [0] or [-1]");
    SLUICE_EXPR_ADVANCE();
    SLUICE_TRY(indexed, unary_parent(node_kind::index, open, std::move(base)));
    indexed->index = negative ? -idx : idx;
    base = std::move(indexed);
  }
  return base;
}

result<node_ptr> parser::parent(node_kind kind, size_t pos, std::vector<node> children) const {
  uint32_t deepest = 0;
  for (auto& c : children)
    deepest = std::max(deepest, c.depth);
  if (deepest + 1 > max_depth)
    return fail(pos, too_deep_message);
  auto n = std::make_unique<node>();
  n->kind = kind;
  n->column = column(pos);
  n->depth = deepest + 1;
  n->args = std::move(children);
  return n;
}

result<node_ptr> parser::unary_parent(node_kind kind, size_t pos, node_ptr operand) const {
  std::vector<node> operands;
  operands.push_back(std::move(*operand));
  return parent(kind, pos, std::move(operands));
}

result<node_ptr> parser::binary_parent(node_kind kind, size_t pos, node_ptr lhs, node_ptr rhs) const {
  std::vector<node> operands;
  operands.reserve(2);
  operands.push_back(std::move(*lhs));
  operands.push_back(std::move(*rhs));
  return parent(kind, pos, std::move(operands));
}

node_ptr parser::literal(size_t pos, json v) const {
  auto n = std::make_unique<node>();
  n->kind = node_kind::literal;
  n->column = column(pos);
  n->literal = std::move(v);
  return n;
}

error parser::expected_expression() const {
  std::string msg = "expected an expression";
  if (has_prev_)
    msg += " after '" + snippet(prev_pos_, prev_len_) + "'";
  return fail(cur_.pos, msg + found());
}

error parser::unclosed(const char* expected, const std::string& where, size_t open) const {
  std::string msg = std::string{"expected "} + expected + " " + where;
  if (open != std::string::npos)
    msg += " at column " + std::to_string(column(open));
  return fail(cur_.pos, msg + found());
}

error parser::bad_argument_list(const builtin& fn, size_t parsed) const {
  return unclosed("',' or ')'",
                  "after argument " + std::to_string(parsed) + " of " + std::string{fn.name}
                    + "()",
                  std::string::npos);
}

error parser::after_expression() const {
  if (cur_.kind == tok::rparen)
    return fail(cur_.pos, "unexpected ')' without a matching '('");
  return fail(cur_.pos, "expected an operator or the end of the expression" + found());
}

error parser::unknown_function(const std::string& name, size_t pos) const {
  std::string msg = "unknown function '" + name + "'";
  auto hint = suggest_function(name);
  if (!hint.empty())
    msg += " (did you mean '" + hint + "'?)";
  return fail(pos, msg);
}

error parser::lineage_without_member(size_t pos) const {
  return fail(pos, "'lineage' is the record's lineage trail, read through a member: "
                     + lineage_members_text());
}

error parser::unknown_name(const std::string& name, size_t pos) const {
  if (auto* fn = find_builtin(name))
    return fail(pos, "'" + name + "' is a function; call it as " + std::string{fn->signature});
  if (name == "and" || name == "or" || name == "not")
    return fail(pos, "'" + name + "' is not an operator; write '"
                       + (name == "and" ? "&&" : name == "or" ? "||" : "!") + "'");
  std::string msg = "unknown name '" + name + "'";
  if (pos >= 2 && text_[pos - 1] == '-' && is_name_char(text_[pos - 2]))
    return fail(pos, msg + ": a key containing '-' must be quoted, as in .\"user-id\" "
                           "(or put spaces around '-' to subtract)");
  auto hint = suggest_keyword(name);
  if (!hint.empty())
    return fail(pos, msg + " (did you mean '" + hint + "'?)");
  return fail(pos, msg + "; a field is written with a leading dot: ." + name);
}

std::string parser::snippet(size_t pos, size_t len) const {
  constexpr size_t limit = 30;
  auto s = std::string{text_.substr(pos, len)};
  if (s.size() > limit) {
    size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
      --cut;
    s.resize(cut);
    s += "...";
  }
  return s;
}

std::string parser::found() const {
  if (cur_.kind == tok::end)
    return {};
  std::string out = ", found '" + snippet(cur_.pos, cur_.len) + "'";
  if (cur_.kind == tok::name && (cur_.text == "and" || cur_.text == "or"))
    out += std::string{" (write '"} + (cur_.text == "and" ? "&&" : "||") + "')";
  return out;
}

#undef SLUICE_EXPR_ADVANCE

} // namespace

result<std::shared_ptr<const node>> parse(std::string_view text,
                                          std::shared_ptr<const trail_names> names) {
  return parser{text, std::move(names)}.run();
}

} // namespace sluice::expr
