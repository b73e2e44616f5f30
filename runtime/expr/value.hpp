#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice::expr {

/// What evaluating one node yields: either a borrowed JSON value that outlives
/// the evaluation (a field of the record, a literal of the compiled tree) or a
/// value of its own. Borrowing lets `.category in ["a", "b"]` compare a field
/// without copying it. A default-constructed value is null.
class value {
public:
  value() = default;
  explicit value(json owned) : owned_(std::move(owned)) {}

  /// Borrows `j`; the caller guarantees it outlives this value.
  static value ref(const json& j) {
    value v;
    v.ref_ = &j;
    return v;
  }

  const json& get() const noexcept { return ref_ != nullptr ? *ref_ : owned_; }
  const json& operator*() const noexcept { return get(); }
  const json* operator->() const noexcept { return &get(); }

  /// True if the value is borrowed (then `owned()` must not be used).
  bool borrowed() const noexcept { return ref_ != nullptr; }
  json& owned() noexcept { return owned_; }

  /// The value as an independent json: moves an owned value, copies a
  /// borrowed one.
  json take() && { return ref_ != nullptr ? *ref_ : std::move(owned_); }

private:
  const json* ref_ = nullptr;
  json owned_;
};

/// A JSON number read for arithmetic. Integers that fit int64 stay integers;
/// an unsigned integer above INT64_MAX is carried as a float.
struct number {
  bool is_int = true;
  int64_t i = 0;
  double d = 0.0;

  double as_double() const noexcept { return is_int ? static_cast<double>(i) : d; }
};

/// The language's name for the type of `v`: null, boolean, integer, float,
/// string, array or object.
const char* type_name(const json& v) noexcept;

/// Reads `v` as a number; false if it is not one.
bool to_number(const json& v, number& out) noexcept;

/// Compares two numbers exactly, also across int64 and double (no rounding
/// of large integers through double). Returns -1, 0 or 1; 2 if unordered
/// (a NaN, which JSON cannot carry but a computation might).
int compare_numbers(const number& a, const number& b) noexcept;

/// Deep JSON equality in which numbers compare by value (1 == 1.0).
bool deep_equal(const json& a, const json& b) noexcept;

/// A short rendering of `v` for messages: compact JSON, cut after ~40 bytes.
std::string preview(const json& v);

/// Compact JSON that never throws (invalid UTF-8 is replaced).
std::string dump_compact(const json& v);

/// Number of UTF-8 code points in `s` (bytes that do not continue a sequence).
size_t count_code_points(std::string_view s) noexcept;

/// The type_error every run-time failure of the language is reported as.
inline error type_error(std::string message) {
  return error{errc::type_error, std::move(message)};
}

} // namespace sluice::expr
