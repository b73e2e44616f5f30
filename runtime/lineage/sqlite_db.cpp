#include "lineage/sqlite_db.hpp"

#include <sqlite3.h>

#include <utility>

namespace sluice::lineage_db {

// -- statement ----------------------------------------------------------------

statement::statement(statement&& other) noexcept
  : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), ok_(other.ok_) {}

statement& statement::operator=(statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    ok_ = other.ok_;
  }
  return *this;
}

statement::~statement() {
  sqlite3_finalize(stmt_);
}

statement& statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  ok_ = true;
  return *this;
}

statement& statement::bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

statement& statement::bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}

statement& statement::bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  return *this;
}

statement& statement::bind_blob(int i, std::string_view v) {
  sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  return *this;
}

statement& statement::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

bool statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  ok_ = rc == SQLITE_DONE;
  return false;
}

std::string statement::message() const {
  return sqlite3_errmsg(db_);
}

int64_t statement::int64(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

double statement::real(int col) const {
  return sqlite3_column_double(stmt_, col);
}

std::string statement::text(int col) const {
  auto p = sqlite3_column_text(stmt_, col);
  auto n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string{reinterpret_cast<const char*>(p), static_cast<size_t>(n)} : std::string{};
}

std::string_view statement::blob(int col) const {
  auto p = sqlite3_column_blob(stmt_, col);
  auto n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string_view{static_cast<const char*>(p), static_cast<size_t>(n)}
           : std::string_view{};
}

bool statement::is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

// -- connection ---------------------------------------------------------------

connection::connection(connection&& other) noexcept
  : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

connection::~connection() {
  sqlite3_close_v2(db_);
}

result<connection> connection::open(const std::string& path, mode m) {
  connection c;
  c.path_ = path;
  int flags = m == mode::read_only ? SQLITE_OPEN_READONLY
                                   : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  // One connection per thread of use: SQLite's own mutexes are not needed.
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &c.db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = c.db_ ? sqlite3_errmsg(c.db_) : sqlite3_errstr(rc);
    return error{errc::io_error, "lineage store '" + path + "': cannot open: " + why};
  }
  sqlite3_busy_timeout(c.db_, 5000);
  sqlite3_extended_result_codes(c.db_, 1);
  return c;
}

status connection::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string what = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return fail(what);
  }
  return status::ok();
}

result<statement> connection::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt, nullptr)
      != SQLITE_OK)
    return fail(sqlite3_errmsg(db_));
  return statement{db_, stmt};
}

result<int64_t> connection::scalar(const std::string& sql) {
  SLUICE_TRY(stmt, prepare(sql));
  if (!stmt.step())
    return fail(stmt.ok() ? "no result for " + sql : stmt.message());
  return stmt.int64(0);
}

int connection::changes() const {
  return sqlite3_changes(db_);
}

error connection::fail(const std::string& what) const {
  return error{errc::io_error, "lineage store '" + path_ + "': " + what};
}

status verify_store(connection& c) {
  auto app = c.scalar("PRAGMA application_id");
  if (!app) {
    // SQLite says "file is not a database" for any file without its header.
    return error{errc::io_error, "'" + c.path() + "' is not a sluice lineage store ("
                                   + app.err().message.substr(app.err().message.rfind(": ") + 2)
                                   + "); pass the file named by the pipeline's lineage.path"};
  }
  if (*app != application_id)
    return error{errc::io_error, "'" + c.path() + "' is not a sluice lineage store (a SQLite "
                                   "database of another application); pass the file named by "
                                   "the pipeline's lineage.path"};
  auto version = c.scalar("PRAGMA user_version");
  if (!version)
    return version.err();
  if (*version > schema_version)
    return error{errc::io_error, "lineage store '" + c.path() + "' has schema version "
                                   + std::to_string(*version) + ", newer than this sluice reads ("
                                   + std::to_string(schema_version) + "); use a newer sluice"};
  // Version 1 stored a row per event; version 2 stores blocks of events
  // (docs/lineage.md). The old tables are not converted.
  if (*version < schema_version)
    return error{errc::io_error, "lineage store '" + c.path() + "' has schema version "
                                   + std::to_string(*version) + ", written by an older sluice ("
                                   + "this one reads and writes " + std::to_string(schema_version)
                                   + "); query it with the sluice that wrote it, or move it "
                                     "aside and let the next run create a new store"};
  return status::ok();
}

} // namespace sluice::lineage_db
