// bench_gen N OUT: writes N JSON-lines records, the benchmark's input.
//
// The output is a pure function of N: a fixed-seed splitmix64 drives every
// choice and no floating point or standard-library distribution is involved,
// so two machines (or two libstdc++ versions) produce byte-identical files.
//
// Record shape (one line, ~190 bytes on average):
//   {"id":"r00000001","ts":1700000000037,"user":"user_042","amount":73.25,
//    "category":"food","tags":["sale","gift"],"note":"..."}
// - amount: a number in [0, 200). 90% are written with two decimals ("73.20",
//   "7.05"), 10% as integers ("73"). Half the records draw from [0, 200), half
//   from [0, 100), so about 62.5% pass `.amount > 50`.
// - tags: 0 to 3 short words; note: words up to a random length, about one in
//   fifty with an escaped quote and one in a hundred with a non-ASCII letter, so
//   string escaping and UTF-8 pass through the parsers too.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

/// splitmix64 (Steele, Lea, Flood 2014): a tiny, fast, well-mixed generator
/// whose sequence is fixed by its seed alone.
class splitmix64 {
public:
  explicit splitmix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  /// A value in [0, n). The modulo bias (n is tiny against 2^64) is
  /// irrelevant here; what matters is that it is deterministic.
  uint64_t below(uint64_t n) { return next() % n; }

private:
  uint64_t state_;
};

constexpr const char* categories[] = {"food",   "books",  "electronics", "garden",
                                      "toys",   "travel", "health",      "sports"};
constexpr const char* tag_words[] = {"new",    "sale", "gift",  "bulk",   "promo", "repeat",
                                     "vip",    "online", "store", "mobile", "eu",   "us"};
constexpr const char* note_words[] = {
  "customer", "asked",    "for",     "express", "delivery", "please",  "leave",
  "at",       "the",      "door",    "invoice", "to",       "office",  "address",
  "wrap",     "as",       "gift",    "call",    "before",   "arrival", "second",
  "order",    "this",     "week",    "fragile", "handle",   "with",    "care"};

template <class T, size_t N>
constexpr size_t count_of(T (&)[N]) { return N; }

void append_uint(std::string& out, uint64_t v, int min_digits = 1) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < min_digits)
    digits[n++] = '0';
  while (n > 0)
    out.push_back(digits[--n]);
}

/// Appends record `i` (1-based) as one line, newline included.
void append_record(std::string& out, uint64_t i, splitmix64& rng) {
  out += "{\"id\":\"r";
  append_uint(out, i, 8);
  out += "\",\"ts\":";
  append_uint(out, 1700000000000ULL + i * 37 + rng.below(37));
  out += ",\"user\":\"user_";
  append_uint(out, rng.below(1000), 3);

  out += "\",\"amount\":";
  uint64_t range = (rng.next() & 1) != 0 ? 20000 : 10000; // in cents
  uint64_t cents = rng.below(range);
  if (rng.below(10) == 0) {
    append_uint(out, cents / 100);
  } else {
    append_uint(out, cents / 100);
    out.push_back('.');
    append_uint(out, cents % 100, 2);
  }

  out += ",\"category\":\"";
  out += categories[rng.below(count_of(categories))];
  out += "\",\"tags\":[";
  uint64_t tags = rng.below(4);
  for (uint64_t t = 0; t < tags; ++t) {
    if (t > 0)
      out.push_back(',');
    out.push_back('"');
    out += tag_words[rng.below(count_of(tag_words))];
    out.push_back('"');
  }

  out += "],\"note\":\"";
  // Note length tuned so the whole line averages ~190 bytes.
  size_t target = 36 + rng.below(61);
  size_t start = out.size();
  uint64_t flavour = rng.below(100);
  if (flavour < 2)
    out += "said \\\"urgent\\\" ";
  else if (flavour == 2)
    out += "caf\xc3\xa9 ";
  while (out.size() - start < target) {
    if (out.size() > start && out.back() != ' ')
      out.push_back(' ');
    out += note_words[rng.below(count_of(note_words))];
  }
  out += "\"}\n";
}

bool parse_count(const char* text, uint64_t& n) {
  if (*text == '\0' || *text == '-')
    return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || v > 99999999ULL)
    return false;
  n = v;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_gen N OUT   (OUT may be - for stdout)\n"
                         "writes N deterministic JSON-lines records (~190 bytes each)\n");
    return 2;
  }
  uint64_t n = 0;
  if (!parse_count(argv[1], n)) {
    std::fprintf(stderr, "bench_gen: N must be a whole number from 0 to 99999999, got '%s'\n",
                 argv[1]);
    return 2;
  }
  bool to_stdout = std::strcmp(argv[2], "-") == 0;
  std::FILE* out = to_stdout ? stdout : std::fopen(argv[2], "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "bench_gen: cannot open '%s' for writing: %s\n", argv[2],
                 std::strerror(errno));
    return 1;
  }
  splitmix64 rng{0x5eed5111ceULL};
  std::string buf;
  buf.reserve((1u << 20) + 1024);
  for (uint64_t i = 1; i <= n; ++i) {
    append_record(buf, i, rng);
    if (buf.size() >= (1u << 20) || i == n) {
      if (std::fwrite(buf.data(), 1, buf.size(), out) != buf.size())
        break;
      buf.clear();
    }
  }
  bool failed = std::ferror(out) != 0;
  if (!to_stdout)
    failed = std::fclose(out) != 0 || failed;
  else
    failed = std::fflush(out) != 0 || failed;
  if (failed) {
    std::fprintf(stderr, "bench_gen: writing '%s' failed: %s\n", argv[2], std::strerror(errno));
    return 1;
  }
  return 0;
}
