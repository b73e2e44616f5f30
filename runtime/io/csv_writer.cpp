#include "io/csv_writer.hpp"

#include <cstring>

#include "io/csv.hpp"

namespace sluice {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

} // namespace

csv_writer::csv_writer(char delimiter, std::vector<std::string> columns) : delim_(delimiter) {
  if (!columns.empty()) {
    given_ = true;
    set_columns(std::move(columns));
  }
}

void csv_writer::set_columns(std::vector<std::string> names) {
  columns_ = std::move(names);
  index_.clear();
  for (size_t i = 0; i < columns_.size(); ++i)
    index_.emplace(columns_[i], i);
}

status csv_writer::continue_file(std::vector<std::string> header, const std::string& where) {
  if (given_ && header != columns_)
    return error{errc::invalid_config,
                 "'" + where + "' already has the columns (" + join(header)
                   + ") but 'columns' lists (" + join(columns_)
                   + "); appending needs the same columns, in the same order"};
  set_columns(std::move(header));
  given_ = true;
  header_done_ = true;
  return {};
}

void csv_writer::append_text(const char* data, size_t size, bool force_quote,
                             std::string& out) const {
  bool quote = force_quote;
  for (size_t i = 0; i < size && !quote; ++i) {
    char c = data[i];
    quote = c == delim_ || c == '"' || c == '\n' || c == '\r';
  }
  if (!quote) {
    out.append(data, size);
    return;
  }
  out.push_back('"');
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '"')
      out.push_back('"');
    out.push_back(data[i]);
  }
  out.push_back('"');
}

void csv_writer::append_value(const json& v, std::string& out) const {
  switch (v.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return;
    case json::value_t::string: {
      auto& s = v.get_ref<const std::string&>();
      append_text(s.data(), s.size(), csv_looks_typed(s), out);
      return;
    }
    case json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    default: {
      auto text = v.dump(-1, ' ', false, json::error_handler_t::replace);
      append_text(text.data(), text.size(), false, out);
      return;
    }
  }
}

void csv_writer::write_header(std::string& out) {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i > 0)
      out.push_back(delim_);
    append_text(columns_[i].data(), columns_[i].size(), false, out);
  }
  out.push_back('\n');
  header_done_ = true;
}

status csv_writer::write(const json& content, std::string& out) {
  if (!content.is_object())
    return error{errc::type_error, std::string{"a CSV row needs an object, got "}
                                     + content.type_name()};
  if (columns_.empty()) {
    std::vector<std::string> names;
    for (auto& [key, value] : content.items()) {
      (void) value;
      names.push_back(key);
    }
    if (names.empty())
      return error{errc::schema_violation,
                   "the first record is empty, so it gives no CSV columns; list them in"
                   " 'columns'"};
    set_columns(std::move(names));
  }
  slots_.assign(columns_.size(), nullptr);
  for (auto i = content.begin(); i != content.end(); ++i) {
    auto at = index_.find(i.key());
    if (at == index_.end())
      return error{errc::schema_violation,
                   "field '" + i.key() + "' is not a column of this CSV output (columns: "
                     + join(columns_) + ", fixed by "
                     + (given_ ? "'columns'" : "the first record")
                     + "); add it to 'columns' or drop it before the sink"};
    slots_[at->second] = &i.value();
  }
  if (!header_done_)
    write_header(out);
  auto row_start = out.size();
  for (size_t c = 0; c < slots_.size(); ++c) {
    if (c > 0)
      out.push_back(delim_);
    if (slots_[c] != nullptr)
      append_value(*slots_[c], out);
  }
  // A one-column row with nothing in it would be a blank line, which readers
  // skip; an empty quoted field keeps the row (as in Python's csv module).
  if (out.size() == row_start)
    out += "\"\"";
  out.push_back('\n');
  return {};
}

void csv_writer::finish(std::string& out) {
  if (!header_done_ && !columns_.empty())
    write_header(out);
}

} // namespace sluice
