#include "ops/sinks.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/trail_names.hpp"
#include "io/csv.hpp"

namespace sluice {

namespace {

// A batch's bytes are written at end_batch; a buffer past this is written
// early so memory stays bounded with very large batches.
constexpr size_t flush_bytes = size_t{1} << 20;

// What every writing sink does with one record: fail it once output has
// failed, else format it into `buf` and count it as written. Returns whether
// the buffer has grown past flush_bytes and should be written out now.
bool buffer_record(record&& rec, emitter& out, record_format& fmt, std::string& buf,
                   const std::optional<error>& failed) {
  if (failed) {
    out.fail(std::move(rec), *failed);
    return false;
  }
  if (auto ok = fmt.append(rec, buf); !ok) {
    out.fail(std::move(rec), ok.err());
    return false;
  }
  out.discard(rec, disposition::written);
  return buf.size() >= flush_bytes;
}

// Whether `path` is a non-empty file whose last byte is not a line break (an
// appended record must not glue onto its last line).
bool lacks_final_newline(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  struct stat st {};
  char last = '\n';
  if (::fstat(fd, &st) == 0 && st.st_size > 0)
    if (::pread(fd, &last, 1, st.st_size - 1) != 1)
      last = '\n';
  ::close(fd);
  return last != '\n';
}

// The format params shared by sink.file and sink.stdout: format, columns,
// delimiter, include_lineage. `implied` is the format to use when none is
// given; `spec` gives the names `_lineage` is rendered with.
std::optional<record_format> parse_format(const stage_spec& spec, params_reader& p,
                                          data_format implied) {
  auto format = p.choice("format", false, {"jsonl", "csv"});
  auto columns = p.strings("columns", false);
  auto delimiter = p.string("delimiter", false);
  auto include_lineage = p.boolean("include_lineage", false);
  auto fmt = format ? (*format == "csv" ? data_format::csv : data_format::jsonl) : implied;
  bool ok = true;
  if (fmt != data_format::csv) {
    for (auto key : {"columns", "delimiter"})
      if (p.has(key)) {
        p.error(key, std::string{"'"} + key + "' applies only to format \"csv\"");
        ok = false;
      }
  }
  char delim = ',';
  if (delimiter) {
    auto& d = *delimiter;
    if (d.size() != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r') {
      p.error("delimiter", "expected one character other than a quote or a line break, got '"
                             + d + "'");
      ok = false;
    } else {
      delim = d[0];
    }
  }
  std::vector<std::string> cols;
  if (columns) {
    if (columns->empty()) {
      p.error("columns", "expected at least one column name");
      ok = false;
    }
    for (size_t i = 0; i < columns->size(); ++i) {
      auto& c = (*columns)[i];
      if (c.empty()) {
        p.error("columns", "column " + std::to_string(i + 1) + " has an empty name");
        ok = false;
      } else if (std::count(columns->begin(), columns->end(), c) > 1) {
        p.error("columns", "'" + c + "' is listed twice; column names must be unique");
        ok = false;
      }
    }
    cols = std::move(*columns);
  }
  if (!ok || (p.has("include_lineage") && !include_lineage))
    return std::nullopt;
  std::shared_ptr<const trail_names> lineage;
  if (include_lineage && *include_lineage) {
    // A spec built by hand (a unit test) has no names: stages show as numbers.
    lineage = spec.names ? spec.names : std::make_shared<const trail_names>();
    if (!cols.empty() && std::find(cols.begin(), cols.end(), "_lineage") == cols.end())
      cols.push_back("_lineage");
  }
  return record_format{fmt, delim, std::move(cols), std::move(lineage)};
}

} // namespace

// -- record_format --------------------------------------------------------------

record_format::record_format(data_format fmt, char delimiter, std::vector<std::string> columns,
                             std::shared_ptr<const trail_names> lineage)
  : fmt_(fmt), delim_(delimiter), csv_(delimiter, std::move(columns)),
    lineage_(std::move(lineage)) {
}

status record_format::append(const record& rec, std::string& out) {
  if (lineage_)
    return append_with_lineage(rec, out);
  if (fmt_ == data_format::csv)
    return csv_.write(rec.content(), out);
  rec.serialize(out);
  out.push_back('\n');
  return {};
}

status record_format::append_with_lineage(const record& rec, std::string& out) {
  auto& content = rec.content();
  if (!content.is_object())
    return error{errc::type_error, std::string{"include_lineage: the record is "}
                                     + content.type_name() + ", not an object"};
  auto trail = lineage_->to_json(rec.trail());
  if (fmt_ == data_format::csv) {
    auto row = content; // a copy: the column holds the trail as JSON text
    row["_lineage"] = trail.dump(-1, ' ', false, json::error_handler_t::replace);
    return csv_.write(row, out);
  }
  if (content.contains("_lineage")) {
    auto copy = content; // the record's own `_lineage` is replaced
    copy["_lineage"] = std::move(trail);
    out += copy.dump(-1, ' ', false, json::error_handler_t::replace);
    out.push_back('\n');
    return {};
  }
  // Spliced into the serialised object: no copy of the content.
  auto start = out.size();
  rec.serialize(out);
  out.pop_back(); // the closing '}'
  if (out.size() - start > 1)
    out.push_back(',');
  out += "\"_lineage\":";
  out += trail.dump(-1, ' ', false, json::error_handler_t::replace);
  out += "}\n";
  return {};
}

void record_format::finish(std::string& out) {
  if (fmt_ == data_format::csv)
    csv_.finish(out);
}

// -- sink.file --------------------------------------------------------------------

file_sink_op::file_sink_op(output_file file, record_format fmt, output_file::mode m)
  : file_(std::move(file)), fmt_(std::move(fmt)), mode_(m) {
}

status file_sink_op::start() {
  if (!prepared_)
    prepare();
  if (failed_)
    return *failed_;
  return file_.open();
}

void file_sink_op::prepare() {
  prepared_ = true;
  if (mode_ != output_file::mode::append)
    return;
  if (lacks_final_newline(file_.path()))
    buf_.push_back('\n');
  if (fmt_.format() != data_format::csv)
    return;
  // Appending to a CSV file continues its columns and writes no second header.
  auto header = read_csv_header(file_.path(), fmt_.delimiter());
  if (!header) {
    failed_ = header.err();
    return;
  }
  if (header->empty())
    return;
  if (auto ok = fmt_.csv().continue_file(std::move(*header), file_.path()); !ok)
    failed_ = ok.err();
}

void file_sink_op::write_out(bool force) {
  if (failed_ || (buf_.empty() && !force))
    return;
  auto ok = file_.write(buf_.data(), buf_.size());
  buf_.clear();
  if (!ok)
    failed_ = ok.err();
}

void file_sink_op::process(record&& rec, emitter& out) {
  if (!prepared_)
    prepare();
  if (buffer_record(std::move(rec), out, fmt_, buf_, failed_))
    write_out(false);
}

void file_sink_op::end_batch(emitter&) {
  // Forced in place (a streaming run): the file exists as soon as data flows.
  write_out(file_.target() == file_.path());
}

void file_sink_op::finish(emitter&) {
  complete();
}

void file_sink_op::complete() {
  if (finished_)
    return;
  finished_ = true;
  if (!prepared_)
    prepare();
  fmt_.finish(buf_);
  write_out(false);
}

status file_sink_op::commit() {
  complete();
  if (failed_) {
    file_.abort();
    return *failed_;
  }
  return file_.commit();
}

std::string file_sink_op::abort() {
  // The run failed: what this sink fully received is kept aside, never
  // under the final name (a user can look at it, or discard it).
  if (!failed_) {
    write_out(true);
    if (!failed_) {
      if (auto kept = file_.keep_partial(); !kept.empty())
        return "kept what it received in '" + kept + "' (not under '" + file_.path()
               + "', since the run failed)";
      return {};
    }
  }
  file_.abort();
  return {};
}

// -- sink.stdout ------------------------------------------------------------------

stdout_sink_op::stdout_sink_op(record_format fmt, std::FILE* out)
  : fmt_(std::move(fmt)), stream_(out) {
}

void stdout_sink_op::write_out() {
  if (failed_)
    return;
  if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), stream_) != buf_.size())
    failed_ = error{errc::io_error, std::string{"cannot write to standard output: "}
                                      + std::strerror(errno)};
  buf_.clear();
  if (!failed_ && std::fflush(stream_) != 0)
    failed_ = error{errc::io_error, std::string{"cannot write to standard output: "}
                                      + std::strerror(errno)};
}

void stdout_sink_op::process(record&& rec, emitter& out) {
  if (buffer_record(std::move(rec), out, fmt_, buf_, failed_))
    write_out();
}

void stdout_sink_op::end_batch(emitter&) {
  write_out();
}

void stdout_sink_op::finish(emitter&) {
  complete();
}

void stdout_sink_op::complete() {
  if (finished_)
    return;
  finished_ = true;
  fmt_.finish(buf_);
  write_out();
}

status stdout_sink_op::commit() {
  complete();
  if (failed_)
    return *failed_;
  return {};
}

// -- sink.null --------------------------------------------------------------------

namespace {

/// sink.null's operator: every record is written nowhere.
class null_sink_op final : public op {
public:
  void process(record&& rec, emitter& out) override {
    out.discard(rec, disposition::written);
  }
};

} // namespace

// -- kinds --------------------------------------------------------------------------

stage_kind describe_sink_file() {
  stage_kind k;
  k.name = "sink.file";
  k.role = stage_role::sink;
  k.summary = "writes JSON lines or CSV to a file (all-or-nothing in a bounded run)";
  k.allows_parallelism = false;
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    auto path = p.string("path", true);
    auto implied = path ? format_from_extension(*path) : std::nullopt;
    auto fmt = parse_format(spec, p, implied == data_format::csv ? data_format::csv
                                                                 : data_format::jsonl);
    auto mode = p.choice("mode", false, {"overwrite", "append"});
    bool ok = fmt.has_value();
    std::string resolved;
    if (path) {
      resolved = resolve_path(spec.base_dir, *path);
      struct stat st {};
      if (*path == "-") {
        p.error("path", "sink.file writes files; write to standard output with a sink.stdout"
                        " stage");
        ok = false;
      } else if (path->empty() || path->back() == '/'
                 || (::stat(resolved.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
        p.error("path", "'" + *path + "' is a directory; give the path of a file in it");
        ok = false;
      }
    }
    if (!p.finish() || !ok || !path)
      return nullptr;
    auto m = mode && *mode == "append" ? output_file::mode::append
                                       : output_file::mode::overwrite;
    return std::make_unique<file_sink_op>(output_file{resolved, m, spec.streaming},
                                          std::move(*fmt), m);
  };
  return k;
}

stage_kind describe_sink_stdout() {
  stage_kind k;
  k.name = "sink.stdout";
  k.role = stage_role::sink;
  k.summary = "writes JSON lines or CSV to standard output";
  k.allows_parallelism = false;
  k.make_op = [](const stage_spec& spec, params_reader& p) -> op_ptr {
    auto fmt = parse_format(spec, p, data_format::jsonl);
    if (!p.finish() || !fmt)
      return nullptr;
    return std::make_unique<stdout_sink_op>(std::move(*fmt));
  };
  return k;
}

stage_kind describe_sink_null() {
  stage_kind k;
  k.name = "sink.null";
  k.role = stage_role::sink;
  k.summary = "accepts every record and writes it nowhere (benchmarks, dry runs)";
  k.allows_parallelism = true;
  k.make_op = [](const stage_spec&, params_reader& p) -> op_ptr {
    if (!p.finish())
      return nullptr;
    return std::make_unique<null_sink_op>();
  };
  return k;
}

} // namespace sluice
