#include "io/generator_reader.hpp"

#include <thread>

namespace sluice {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

const char* categories[] = {"food", "toys", "books", "garden", "tools", "music"};
const char* tag_names[] = {"new", "gift", "sale", "bulk", "promo", "repeat"};
// Notes make the records about as long as the benchmark's (~190 bytes).
const char* notes[] = {
  "leave the parcel at the door and ring the bell twice, the customer works nights",
  "call before delivery; the entrance is at the back of the building, second floor",
  "fragile contents, keep upright and do not stack other parcels on top of this one",
  "second attempt after a failed delivery yesterday, customer asked for the afternoon",
  "customer asked for a paper invoice with the company name and the VAT number on it",
  "no special instructions were given for this order at checkout by the customer"};

} // namespace

generator_reader::generator_reader(stage_index source, std::optional<uint64_t> count,
                                   std::optional<double> rate, uint64_t seed)
  : source_(source), count_(count), rate_(rate), seed_(seed) {
}

status generator_reader::open() {
  start_ = std::chrono::steady_clock::now();
  return {};
}

std::string generator_reader::line(uint64_t seed, uint64_t n) {
  auto r = splitmix64(seed * 0x100000001b3ULL + n);
  auto user = r % 500;
  auto cents = (r >> 9) % 20000;
  bool whole = ((r >> 25) % 10) == 0;
  auto cat = categories[(r >> 29) % 6];
  auto ntags = (r >> 33) % 3;
  std::string out;
  out.reserve(200);
  out += "{\"id\":\"g" + std::to_string(n) + "\",\"ts\":" + std::to_string(1700000000000ULL + 10 * n);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%03llu", static_cast<unsigned long long>(user));
  out += ",\"user\":\"user_";
  out += buf;
  out += "\",\"amount\":";
  if (whole) {
    out += std::to_string(cents / 100);
  } else {
    std::snprintf(buf, sizeof buf, "%llu.%02llu", static_cast<unsigned long long>(cents / 100),
                  static_cast<unsigned long long>(cents % 100));
    out += buf;
  }
  out += ",\"category\":\"";
  out += cat;
  out += "\",\"tags\":[";
  for (uint64_t i = 0; i < ntags; ++i) {
    if (i > 0)
      out += ',';
    out += '"';
    out += tag_names[(r >> (36 + 3 * i)) % 6];
    out += '"';
  }
  out += "],\"note\":\"";
  out += notes[(r >> 45) % 6];
  out += "\"}";
  return out;
}

result<source_reader::state> generator_reader::read(std::vector<record>& out, size_t max,
                                                    int64_t max_wait_us) {
  if (count_ && next_ >= *count_)
    return state::end;
  uint64_t n = max;
  if (count_)
    n = std::min<uint64_t>(n, *count_ - next_);
  if (rate_) {
    // Records allowed by now at `rate` per second since open().
    using namespace std::chrono;
    auto allowed = [&] {
      auto secs = duration<double>(steady_clock::now() - start_).count();
      auto budget = static_cast<uint64_t>(secs * *rate_) + 1;
      return budget > next_ ? budget - next_ : 0;
    };
    auto room = allowed();
    if (room == 0) {
      auto until_next = static_cast<int64_t>(1e6 / *rate_);
      std::this_thread::sleep_for(microseconds(std::min(until_next, max_wait_us)));
      room = allowed();
      if (room == 0)
        return state::wait;
    }
    n = std::min(n, room);
  }
  for (uint64_t i = 0; i < n; ++i) {
    auto seq = next_++;
    auto text = line(seed_, seq);
    bytes_ += text.size() + 1;
    lineage_trail trail;
    trail.origin = source_position{source_, 0, seq + 1};
    out.emplace_back(std::string{}, json(std::move(text)), std::move(trail));
  }
  if (count_ && next_ >= *count_)
    return state::end;
  return rate_ ? state::wait : state::more;
}

} // namespace sluice
