#include "ops/aggregate_functions.hpp"

#include <cctype>
#include <vector>

#include "ops/schema.hpp"

namespace sluice {

namespace {

struct fn_entry {
  const char* name;
  aggregate_fn fn;
};

constexpr fn_entry fn_table[] = {
  {"count", aggregate_fn::count}, {"sum", aggregate_fn::sum},
  {"min", aggregate_fn::min},     {"max", aggregate_fn::max},
  {"avg", aggregate_fn::avg},     {"first", aggregate_fn::first},
  {"last", aggregate_fn::last},   {"distinct_count", aggregate_fn::distinct_count},
};

error config_error(std::string_view text, size_t pos, const std::string& what) {
  return error{errc::invalid_config, "column " + std::to_string(pos + 1) + ": " + what + " in '"
                                       + std::string{text} + "'"};
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// The position of the first comma outside strings and brackets, or npos:
// an argument list with one means more than one argument.
size_t top_level_comma(std::string_view s) {
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote != 0) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Counts the arguments of an argument list with a comma at `first`.
size_t count_arguments(std::string_view s, size_t first) {
  size_t n = 1;
  while (first != std::string_view::npos) {
    ++n;
    s = s.substr(first + 1);
    first = top_level_comma(s);
  }
  return n;
}

// Moves every "column N" of an error in the inner text to the column of the
// whole aggregate text (the inner text starts at 0-based `offset`), so
// "column 4: expected ')' to close the '(' at column 1" points at the right
// characters of "sum((.x)".
std::string shift_columns(const std::string& message, size_t offset) {
  const std::string word = "column ";
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    auto at = message.find(word, i);
    if (at == std::string::npos)
      break;
    auto digits = at + word.size();
    auto end = digits;
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end])))
      ++end;
    out.append(message, i, digits - i);
    if (end > digits)
      out += std::to_string(std::stoull(message.substr(digits, end - digits)) + offset);
    i = end;
  }
  out.append(message, i, std::string::npos);
  return out;
}

const char* kind_name(const json& v) {
  if (v.is_number_integer())
    return "integer";
  if (v.is_number_float())
    return "number";
  return v.type_name();
}

error fold_error(const aggregate_spec& spec, const std::string& what) {
  return error{errc::type_error, "aggregate '" + spec.name + "' (" + spec.text + "): " + what};
}

} // namespace

const char* to_string(aggregate_fn fn) {
  for (auto& e : fn_table)
    if (e.fn == fn)
      return e.name;
  return "?";
}

result<aggregate_spec> aggregate_spec::parse(std::string name, std::string_view text) {
  size_t i = 0;
  while (i < text.size() && is_space(text[i]))
    ++i;
  auto name_start = i;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_'))
    ++i;
  auto fname = std::string{text.substr(name_start, i - name_start)};
  if (fname.empty())
    return config_error(text, name_start, "expected an aggregate function such as count() or "
                                          "sum(.amount)");
  const fn_entry* entry = nullptr;
  for (auto& e : fn_table)
    if (fname == e.name)
      entry = &e;
  if (entry == nullptr) {
    std::vector<std::string> names;
    for (auto& e : fn_table)
      names.emplace_back(e.name);
    auto msg = "unknown aggregate function '" + fname + "'";
    if (auto near = closest_name(fname, names); !near.empty())
      msg += " (did you mean '" + near + "'?)";
    msg += "; the functions are count, sum, min, max, avg, first, last, distinct_count";
    return config_error(text, name_start, msg);
  }
  while (i < text.size() && is_space(text[i]))
    ++i;
  if (i >= text.size() || text[i] != '(')
    return config_error(text, i, "expected '(' after '" + fname + "'");
  auto open = i;
  auto close = text.size();
  while (close > open + 1 && is_space(text[close - 1]))
    --close;
  if (close <= open + 1 || text[close - 1] != ')')
    return config_error(text, close, "expected ')' to close " + fname + "(");
  --close; // now the position of the final ')'
  auto inner = text.substr(open + 1, close - open - 1);
  size_t lead = 0;
  while (lead < inner.size() && is_space(inner[lead]))
    ++lead;
  bool empty = lead == inner.size();
  aggregate_spec spec;
  spec.name = std::move(name);
  spec.text = std::string{text};
  spec.fn = entry->fn;
  if (spec.fn == aggregate_fn::count) {
    if (!empty)
      return config_error(text, open + 1 + lead,
                          "count() takes no argument: it counts the records of each group");
    return spec;
  }
  if (empty)
    return config_error(text, open + 1, fname + "() needs one argument, e.g. " + fname
                                          + "(.amount)");
  if (auto comma = top_level_comma(inner); comma != std::string_view::npos)
    return config_error(text, open + 1 + comma,
                        fname + "() takes one argument, got "
                          + std::to_string(count_arguments(inner, comma)));
  auto compiled = expr::expression::compile(inner);
  if (!compiled)
    return error{errc::invalid_config, shift_columns(compiled.err().message, open + 1) + " in '"
                                         + std::string{text} + "'"};
  spec.arg = std::move(*compiled);
  return spec;
}

// -- accumulator ----------------------------------------------------------------

status accumulator::check(const aggregate_spec& spec, const json& value) const {
  if (value.is_null())
    return {};
  switch (spec.fn) {
    case aggregate_fn::sum:
    case aggregate_fn::avg:
      if (!value.is_number())
        return fold_error(spec, std::string{"expected a number, got "} + kind_name(value) + " "
                                  + describe_value(value));
      return {};
    case aggregate_fn::min:
    case aggregate_fn::max:
      if (!value.is_number() && !value.is_string())
        return fold_error(spec, std::string{"expected a number or a string, got "}
                                  + kind_name(value) + " " + describe_value(value));
      if (!best_.is_null() && best_.is_number() != value.is_number())
        return fold_error(spec, "cannot compare " + std::string{kind_name(value)} + " "
                                  + describe_value(value) + " with the "
                                  + (best_.is_number() ? "numbers" : "strings")
                                  + " of this group; min and max need all numbers or all "
                                    "strings");
      return {};
    default:
      return {};
  }
}

void accumulator::add_to_sum(const json& v) {
  if (!is_float_ && v.is_number_integer()) {
    bool fits = !v.is_number_unsigned() || v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
    int64_t total = 0;
    if (fits && !__builtin_add_overflow(int_sum_, v.get<int64_t>(), &total)) {
      int_sum_ = total;
      return;
    }
  }
  // A float value, or the integer sum would leave int64: continue as float.
  if (!is_float_) {
    float_sum_ = static_cast<double>(int_sum_);
    is_float_ = true;
  }
  float_sum_ += v.get<double>();
}

void accumulator::fold(const aggregate_spec& spec, const json& value) {
  if (spec.fn == aggregate_fn::count) {
    ++n_;
    return;
  }
  if (value.is_null())
    return;
  ++n_;
  switch (spec.fn) {
    case aggregate_fn::sum:
      add_to_sum(value);
      break;
    case aggregate_fn::avg:
      float_sum_ += value.get<double>();
      break;
    case aggregate_fn::min:
    case aggregate_fn::max: {
      if (best_.is_null()) {
        best_ = value;
        break;
      }
      int order = value.is_string() ? value.get_ref<const std::string&>().compare(
                                        best_.get_ref<const std::string&>())
                                    : compare_numbers(value, best_);
      if (spec.fn == aggregate_fn::min ? order < 0 : order > 0)
        best_ = value;
      break;
    }
    case aggregate_fn::first:
      if (best_.is_null())
        best_ = value;
      break;
    case aggregate_fn::last:
      best_ = value;
      break;
    case aggregate_fn::distinct_count:
      if (!distinct_)
        distinct_ = std::make_unique<std::unordered_set<std::string>>();
      distinct_->insert(canonical_json(value));
      break;
    case aggregate_fn::count:
      break;
  }
}

json accumulator::value(const aggregate_spec& spec) const {
  switch (spec.fn) {
    case aggregate_fn::count:
      return n_;
    case aggregate_fn::sum:
      if (n_ == 0)
        return nullptr;
      return is_float_ ? json(float_sum_) : json(int_sum_);
    case aggregate_fn::avg:
      if (n_ == 0)
        return nullptr;
      return float_sum_ / static_cast<double>(n_);
    case aggregate_fn::min:
    case aggregate_fn::max:
    case aggregate_fn::first:
    case aggregate_fn::last:
      return best_;
    case aggregate_fn::distinct_count:
      return distinct_ ? static_cast<int64_t>(distinct_->size()) : int64_t{0};
  }
  return nullptr;
}

} // namespace sluice
