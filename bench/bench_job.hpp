#pragma once

// The benchmark job, written once so that both baselines do exactly the same
// work per record as bench/pipeline.json asks of sluice:
//   filter .amount > 50
//   map    amount_cents = round(.amount * 100), rename user -> customer
//   write  compact JSON, one record per line, keys in nlohmann's sorted order.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::bench {

using json = nlohmann::json;

/// What happened to one input line.
enum class line_outcome : uint8_t {
  written,   ///< passed the filter; appended to the output
  filtered,  ///< .amount missing, not a number, or not above 50
  malformed, ///< not a JSON object; skipped (sluice would route it to on_error)
};

/// Per-run tallies, printed to stderr at the end so a run can be checked.
struct job_counts {
  uint64_t in = 0;
  uint64_t out = 0;
  uint64_t malformed = 0;

  void add(line_outcome o) {
    ++in;
    if (o == line_outcome::written)
      ++out;
    else if (o == line_outcome::malformed)
      ++malformed;
  }
  void add(const job_counts& other) {
    in += other.in;
    out += other.out;
    malformed += other.malformed;
  }
  void print(const char* program) const {
    std::fprintf(stderr, "%s: %llu records in, %llu out, %llu malformed\n", program,
                 static_cast<unsigned long long>(in), static_cast<unsigned long long>(out),
                 static_cast<unsigned long long>(malformed));
  }
};

/// Runs the job on one line and, if the record passes the filter, appends it
/// with a trailing '\n' to `out`. Never throws for bad data.
///
/// Semantics match sluice's: `round` is half away from zero (std::llround) and
/// yields an integer; a missing `user` leaves the record as it is. The record
/// is serialised straight into `out` (no temporary string per record), as
/// sluice's record::serialize does, with invalid UTF-8 replaced.
inline line_outcome run_job(std::string_view line, std::string& out) {
  // The non-throwing overload: a parse error yields a `discarded` value.
  json doc = json::parse(line.begin(), line.end(), nullptr, false);
  if (!doc.is_object())
    return line_outcome::malformed;
  auto amount = doc.find("amount");
  if (amount == doc.end() || !amount->is_number())
    return line_outcome::filtered;
  double value = amount->get<double>();
  if (!(value > 50))
    return line_outcome::filtered;
  doc["amount_cents"] = static_cast<int64_t>(std::llround(value * 100));
  auto user = doc.find("user");
  if (user != doc.end()) {
    json moved = std::move(*user);
    doc.erase(user);
    doc["customer"] = std::move(moved);
  }
  nlohmann::detail::serializer<json> s{nlohmann::detail::output_adapter<char>(out), ' ',
                                       nlohmann::detail::error_handler_t::replace};
  s.dump(doc, false, false, 0);
  out.push_back('\n');
  return line_outcome::written;
}

/// Reads a file in 1 MiB chunks and hands out its lines as views into the
/// chunk buffer, without copying them. Lines may be longer than a chunk (the
/// buffer grows). A trailing '\r' is dropped and blank lines are skipped, as
/// sluice's JSON-lines reader does. Use: `while (r.next(line)) ...`, then
/// check `r.failed()`.
class line_reader {
public:
  explicit line_reader(std::FILE* file, size_t chunk_bytes = 1u << 20)
    : file_(file), buf_(chunk_bytes) {}

  /// The next non-blank line, valid until the following call; false at the
  /// end of the input or on a read error.
  bool next(std::string_view& line) {
    for (;;) {
      const char* first = buf_.data() + begin_;
      size_t avail = end_ - begin_;
      const void* nl = std::memchr(first, '\n', avail);
      size_t len = 0;
      if (nl != nullptr) {
        len = static_cast<size_t>(static_cast<const char*>(nl) - first);
        begin_ += len + 1;
      } else if (eof_) {
        if (avail == 0)
          return false;
        len = avail; // last line without a newline
        begin_ = end_;
      } else {
        refill();
        continue;
      }
      if (len > 0 && first[len - 1] == '\r')
        --len;
      if (len == 0)
        continue;
      line = std::string_view{first, len};
      return true;
    }
  }

  bool failed() const noexcept { return error_; }

private:
  void refill() {
    size_t kept = end_ - begin_;
    std::memmove(buf_.data(), buf_.data() + begin_, kept);
    begin_ = 0;
    end_ = kept;
    if (end_ == buf_.size())
      buf_.resize(buf_.size() * 2);
    size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - end_, file_);
    end_ += got;
    if (got == 0) {
      eof_ = true;
      error_ = std::ferror(file_) != 0;
    }
  }

  std::FILE* file_;
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool error_ = false;
};

/// Writes `data` fully to `file`; false on a write error.
inline bool write_all(std::FILE* file, const std::string& data) {
  return std::fwrite(data.data(), 1, data.size(), file) == data.size();
}

} // namespace sluice::bench
