#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sluice {

/// Classes of failure the runtime distinguishes. The class decides what the
/// stage's retry policy (`retry.transient` lists the classes retried) and then
/// its error policy do with it. Values are stable: new classes are appended.
enum class errc : uint8_t {
  invalid_config = 1, ///< the pipeline config is wrong; refused before running
  parse_error,        ///< a line or value could not be parsed
  type_error,         ///< an expression met a value of the wrong type
  schema_violation,   ///< a record failed `validate`
  io_error,           ///< a file could not be opened, read or written
  runtime_error,      ///< anything else that fails one record
  transient,          ///< a failure expected to pass on retry: a service busy or unavailable, a timeout
  crash,              ///< an exception escaped an operator, or its actor died
};

/// The class's name as users write it ("io_error"); "unknown" for a value
/// outside the enum.
const char* to_string(errc code);

/// The inverse of to_string for every class: "io_error" -> errc::io_error;
/// nullopt for any other text (case-sensitive).
std::optional<errc> errc_from_string(std::string_view name);

/// Every class, in enum order: for messages listing the valid names.
const std::vector<errc>& all_errcs();

/// An expected failure, as a value: what went wrong, in words a user can act
/// on. Bugs are assertions, not errors.
struct error {
  errc code = errc::runtime_error;
  std::string message;
  /// A transient failure whose cause said when to try again (an HTTP
  /// Retry-After): the retry waits at least this long. -1: no hint.
  int64_t retry_after_ms = -1;

  error() = default;
  error(errc c, std::string msg) : code(c), message(std::move(msg)) {}
};

/// Either a T or an error. The project's one result type for fallible code
/// that does not cross a mailbox (`runtime/` links no actor code).
///
///   result<int> parse_port(std::string_view s);
///   auto port = parse_port(text);
///   if (!port) return port.error();
///   use(*port);
template <class T>
class result {
public:
  result(T value) : v_(std::move(value)) {}
  result(error err) : v_(std::move(err)) {}

  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool has_value() const noexcept { return v_.index() == 0; }

  T& operator*() & { assert(has_value()); return std::get<0>(v_); }
  const T& operator*() const& { assert(has_value()); return std::get<0>(v_); }
  T&& operator*() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &**this; }
  const T* operator->() const { return &**this; }

  const error& err() const { assert(!has_value()); return std::get<1>(v_); }
  error& err() { assert(!has_value()); return std::get<1>(v_); }

private:
  std::variant<T, error> v_;
};

/// A result without a value: success or an error.
class status {
public:
  status() = default;
  status(error err) : err_(std::move(err)), failed_(true) {}
  explicit operator bool() const noexcept { return !failed_; }
  const error& err() const { assert(failed_); return err_; }
  static status ok() { return {}; }

private:
  error err_;
  bool failed_ = false;
};

} // namespace sluice

/// Early return for fallible code: `SLUICE_TRY(x, compute());` declares `x`
/// from a result, or returns its error from the enclosing function.
#define SLUICE_TRY(var, expr)                                                  \
  auto var##_result_ = (expr);                                                 \
  if (!var##_result_)                                                          \
    return std::move(var##_result_.err());                                     \
  auto var = std::move(*var##_result_)
