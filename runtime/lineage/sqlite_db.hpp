#pragma once

// A thin RAII layer over the SQLite C API, shared by the lineage store
// (sqlite_store.cpp, writing) and its queries (query.cpp, reading). Not a
// general wrapper: just what those two need, errors as `error` values that
// name the store file.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace sluice::lineage_db {

/// `PRAGMA application_id` of a sluice lineage store ("SLLN"), and the
/// schema version in `PRAGMA user_version`. A file without both is not one.
constexpr int32_t application_id = 0x534c4c4e;
constexpr int32_t schema_version = 2;

/// One prepared statement, reset and rebound for each use.
class statement {
public:
  statement() = default;
  statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  statement(statement&& other) noexcept;
  statement& operator=(statement&& other) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement();

  /// Resets the statement and clears its bindings.
  statement& reset();
  /// Binds parameter `i` (1-based). Text is bound without a copy: it must
  /// outlive the next step().
  statement& bind(int i, int64_t v);
  statement& bind(int i, double v);
  statement& bind(int i, std::string_view v);
  /// Binds a blob, without a copy (as text above).
  statement& bind_blob(int i, std::string_view v);
  statement& bind_null(int i);

  /// One step: true while a row is available, false when done; an error
  /// (constraint, I/O) is reported through `ok()` and `message()`.
  bool step();
  bool ok() const { return ok_; }
  std::string message() const;

  int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  /// A blob column: valid until the next step(), reset() or blob() of it.
  std::string_view blob(int col) const;
  bool is_null(int col) const;

private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = true;
};

/// An open database connection.
class connection {
public:
  enum class mode { read_write_create, read_only };

  connection() = default;
  connection(connection&& other) noexcept;
  connection& operator=(connection&& other) noexcept;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// Opens `path`; the error names the file.
  static result<connection> open(const std::string& path, mode m);

  /// Runs SQL without results (several statements allowed).
  status exec(const std::string& sql);
  /// Prepares one statement, kept for reuse.
  result<statement> prepare(const std::string& sql);
  /// The value of a one-row, one-column integer query (e.g. a pragma).
  result<int64_t> scalar(const std::string& sql);
  /// Rows changed by the last statement.
  int changes() const;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }
  /// "lineage store 'path': <what>".
  error fail(const std::string& what) const;

private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

/// Whether `c` is a sluice lineage store this build can read: the file is a
/// SQLite database with our application id and a schema version not newer
/// than ours. The error says which and what to do.
status verify_store(connection& c);

} // namespace sluice::lineage_db
