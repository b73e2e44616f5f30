#include "ops/source_file.hpp"

#include <algorithm>

#include "ops/decode.hpp"

namespace sluice {

namespace {

// Checks a `columns` list: names must be non-empty and distinct.
bool check_columns(params_reader& p, const std::vector<std::string>& cols) {
  bool ok = true;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].empty()) {
      p.error("columns", "column " + std::to_string(i + 1) + " has an empty name");
      ok = false;
    } else if (std::find(cols.begin(), cols.begin() + static_cast<ptrdiff_t>(i), cols[i])
               != cols.begin() + static_cast<ptrdiff_t>(i)) {
      p.error("columns", "'" + cols[i] + "' is listed twice; column names must be unique");
      ok = false;
    }
  }
  return ok;
}

} // namespace

std::vector<std::string> source_file_settings::file_names() const {
  std::vector<std::string> names;
  for (auto& f : files)
    names.push_back(f.name);
  return names;
}

std::optional<source_file_settings> parse_source_file(const stage_spec& spec,
                                                      params_reader& p) {
  source_file_settings s;
  s.reader.source = spec.index;
  auto path = p.string("path", true);
  // A `format` that is there but wrong is reported by choice(); only an
  // absent (or null) one falls back to the extension.
  bool format_given = p.raw("format") != nullptr && !p.raw("format")->is_null();
  auto format = p.choice("format", false, {"jsonl", "csv"});
  bool id_ok = read_id_field(p, s.id_field);
  auto delimiter = p.string("delimiter", false);
  auto header = p.boolean("header", false);
  auto columns = p.strings("columns", false);
  auto max_line = p.integer("max_line_bytes", false, 1, int64_t{1} << 30);
  bool ok = id_ok;

  bool format_known = false;
  if (format) {
    s.reader.format = *format == "csv" ? data_format::csv : data_format::jsonl;
    format_known = true;
  } else if (path && !format_given) {
    if (auto f = format_from_extension(*path); f && *path != "-") {
      s.reader.format = *f;
      format_known = true;
    } else {
      p.error("format", *path == "-"
                          ? "reading stdin needs a 'format': \"jsonl\" or \"csv\""
                          : "cannot tell the format of '" + *path
                              + "' from its extension; set 'format' to \"jsonl\" or \"csv\"");
      ok = false;
    }
  }
  bool csv = s.reader.format == data_format::csv;
  auto csv_only = [&](const char* key) {
    if (p.has(key) && format_known && !csv) {
      p.error(key, std::string{"'"} + key + "' applies only to format \"csv\"");
      ok = false;
    }
  };
  csv_only("delimiter");
  csv_only("header");
  csv_only("columns");
  if (delimiter) {
    auto& d = *delimiter;
    if (d.size() != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r') {
      p.error("delimiter", "expected one character other than a quote or a line break, got '"
                             + d + "'");
      ok = false;
    } else {
      s.reader.delimiter = d[0];
    }
  }
  if (header)
    s.reader.header = *header;
  if (columns) {
    ok = check_columns(p, *columns) && ok;
    if (columns->empty()) {
      p.error("columns", "expected at least one column name");
      ok = false;
    }
    s.reader.columns = std::move(*columns);
  }
  if (csv && !s.reader.header && s.reader.columns.empty()) {
    p.error("columns", "a CSV file without a header ('header': false) needs its column"
                       " names in 'columns'");
    ok = false;
  }
  if (max_line)
    s.reader.max_line_bytes = static_cast<size_t>(*max_line);
  if (path) {
    auto files = expand_input(*path, resolve_path(spec.base_dir, *path));
    if (!files) {
      p.error("path", files.err().message);
      ok = false;
    } else {
      s.files = std::move(*files);
    }
  }
  if (!p.finish() || !ok || !path)
    return std::nullopt;
  return s;
}

stage_kind describe_source_file() {
  stage_kind k;
  k.name = "source.file";
  k.role = stage_role::source;
  k.summary = "reads JSON lines or CSV from a file, a glob of files or stdin";
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    auto s = parse_source_file(spec, p);
    if (!s)
      return nullptr;
    return std::make_unique<decode_op>(spec.id, s->file_names(), std::move(s->id_field));
  };
  k.make_reader = [](const stage_spec& spec, params_reader& p) -> reader_ptr {
    auto s = parse_source_file(spec, p);
    if (!s)
      return nullptr;
    return std::make_unique<file_reader>(std::move(s->reader), std::move(s->files));
  };
  return k;
}

} // namespace sluice
