#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/csv_writer.hpp"
#include "io/data_format.hpp"
#include "io/output_file.hpp"
#include "ops/registry.hpp"

namespace sluice {

/// `sink.file`: writes JSON lines or CSV to a file, all-or-nothing in a
/// bounded run (docs/stages.md).
stage_kind describe_sink_file();

/// `sink.stdout`: writes JSON lines or CSV to standard output.
stage_kind describe_sink_stdout();

/// `sink.null`: accepts and discards records (benchmarks, dry runs).
stage_kind describe_sink_null();

/// How a sink turns records into bytes: one compact JSON object per line, or
/// CSV rows (io/csv_writer.hpp). With `lineage` (the sink's
/// `include_lineage`), each record gets a `_lineage` field rendered through
/// it (trail_names::to_json): an object in JSON lines, its compact JSON text
/// in a CSV column (added as the last of given `columns` if they lack it).
class record_format {
public:
  explicit record_format(data_format fmt = data_format::jsonl, char delimiter = ',',
                         std::vector<std::string> columns = {},
                         std::shared_ptr<const trail_names> lineage = nullptr);

  /// Appends `rec` to `out`; an error (a CSV row that does not fit the
  /// columns) appends nothing.
  status append(const record& rec, std::string& out);

  /// Appends what belongs at the end (a CSV header for an empty output).
  void finish(std::string& out);

  data_format format() const noexcept { return fmt_; }
  char delimiter() const noexcept { return delim_; }
  csv_writer& csv() noexcept { return csv_; }

private:
  status append_with_lineage(const record& rec, std::string& out);

  data_format fmt_;
  char delim_;
  csv_writer csv_;
  std::shared_ptr<const trail_names> lineage_; ///< null: no `_lineage`
};

/// sink.file's operator: buffers a batch, writes it with one write(2) in
/// end_batch (or when the buffer passes 1 MiB) to an output_file. After an
/// I/O error every later record fails with it and commit() returns it.
class file_sink_op final : public op {
public:
  file_sink_op(output_file file, record_format fmt, output_file::mode m);

  status start() override;
  void process(record&& rec, emitter& out) override;
  void end_batch(emitter& out) override;
  void finish(emitter& out) override;
  status commit() override;
  std::string abort() override;

private:
  void prepare();
  void complete(); ///< what finish() does; commit() calls it if finish() was not
  void write_out(bool force);

  output_file file_;
  record_format fmt_;
  output_file::mode mode_;
  bool prepared_ = false;
  bool finished_ = false;
  std::string buf_;
  std::optional<error> failed_;
};

/// sink.stdout's operator (writes to `out`, stdout unless a test gives
/// another stream): one fwrite and fflush per batch.
class stdout_sink_op final : public op {
public:
  explicit stdout_sink_op(record_format fmt, std::FILE* out = stdout);

  void process(record&& rec, emitter& out) override;
  void end_batch(emitter& out) override;
  void finish(emitter& out) override;
  status commit() override;

private:
  void complete();
  void write_out();

  record_format fmt_;
  std::FILE* stream_;
  bool finished_ = false;
  std::string buf_;
  std::optional<error> failed_;
};

} // namespace sluice
