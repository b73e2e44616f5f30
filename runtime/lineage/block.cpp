#include "lineage/block.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace sluice::lineage_block {

namespace {

// data = version byte, the earliest time (zigzag varint, microseconds),
// varint event count, varint string count, the strings
// (varint length, bytes), then per event:
//   flags byte: outcome in the low 4 bits; 0x10 source and file follow
//   (varints; else those of the previous event), 0x20 an attempt follows,
//   0x40 a detail follows, 0x80 a record id follows;
//   the line as a zigzag varint difference from the previous event's line;
//   the time as a varint difference from the block's earliest time;
//   then the optional attempt, detail (string index) and id (varint
//   length and bytes: ids are mostly distinct, details repeat).
// A block of a source stage's consecutive lines costs ~4 bytes per event.
constexpr uint8_t format_version = 1;
constexpr uint8_t has_key = 0x10, has_attempt = 0x20, has_detail = 0x40, has_id = 0x80;

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

class reader {
public:
  explicit reader(std::string_view d) : p_(d.data()), end_(d.data() + d.size()) {}
  bool varint(uint64_t& v) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (p_ == end_)
        return false;
      auto b = static_cast<uint8_t>(*p_++);
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80))
        return true;
    }
    return false;
  }
  bool byte(uint8_t& b) {
    if (p_ == end_)
      return false;
    b = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool bytes(size_t n, std::string_view& out) {
    if (static_cast<size_t>(end_ - p_) < n)
      return false;
    out = {p_, n};
    p_ += n;
    return true;
  }
  bool done() const { return p_ == end_; }

private:
  const char* p_;
  const char* end_;
};

// FNV-1a, then a 64-bit finaliser: stable across builds and machines (the
// filter is stored), unlike std::hash.
uint64_t id_hash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Bloom filter: 10 bits per id and 7 probes (~1% false positives), probes
// by double hashing.
constexpr unsigned probes = 7;
constexpr size_t bits_per_id = 10;

template <class F>
void for_each_probe(std::string_view id, uint64_t bits, F&& f) {
  auto h1 = id_hash(id);
  auto h2 = (h1 >> 32 | h1 << 32) | 1;
  for (unsigned i = 0; i < probes; ++i)
    f((h1 + i * h2) % bits);
}

// Writes varints and bytes into a buffer sized beforehand (no per-byte
// capacity checks: this runs for every event of a full-mode run).
class writer {
public:
  explicit writer(char* p) : p_(p) {}
  void byte(uint8_t b) { *p_++ = static_cast<char>(b); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void bytes(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  char* at() const { return p_; }

private:
  char* p_;
};

} // namespace

encoded encode(stage_index stage, const std::vector<const lineage_event*>& events) {
  auto n = events.size();
  encoded out;
  out.events = n;
  if (n == 0)
    return out;
  out.first_us = events[0]->time_us;
  out.last_us = events[0]->time_us;
  size_t id_bytes = 0;
  for (auto* ev : events) {
    out.first_us = std::min(out.first_us, ev->time_us);
    out.last_us = std::max(out.last_us, ev->time_us);
    if (ev->key.source == stage)
      id_bytes += ev->record_id.size();
  }
  // Details repeat (a map's change list, a route's name): each distinct
  // one is stored once. The previous event's is checked first.
  std::vector<std::string_view> strings;
  std::unordered_map<std::string_view, uint64_t> string_at;
  std::string_view last_detail;
  uint64_t last_index = 0;
  auto intern = [&](std::string_view d) {
    if (!strings.empty() && d == last_detail)
      return last_index;
    auto [it, fresh] = string_at.emplace(d, strings.size());
    if (fresh)
      strings.push_back(d);
    last_detail = d;
    last_index = it->second;
    return last_index;
  };
  std::vector<std::string_view> ids;
  // Worst case per event: flags, source, file, line, time, attempt,
  // detail index (varints of at most 10 bytes) and an id's length.
  std::string body(n * 71 + id_bytes, '\0');
  writer w{body.data()};
  stage_index src = 0;
  uint32_t file = 0;
  uint64_t line = 0;
  bool first = true;
  for (auto* evp : events) {
    auto& ev = *evp;
    out.outcomes |= 1u << static_cast<unsigned>(ev.outcome);
    bool key_changes = first || ev.key.source != src || ev.key.file != file;
    bool keep_id = ev.key.source == stage && !ev.record_id.empty();
    uint8_t flags = static_cast<uint8_t>(ev.outcome) & 0x0f;
    if (key_changes)
      flags |= has_key;
    if (ev.attempt != 0)
      flags |= has_attempt;
    if (!ev.detail.empty())
      flags |= has_detail;
    if (keep_id)
      flags |= has_id;
    w.byte(flags);
    if (key_changes) {
      w.varint(ev.key.source);
      w.varint(ev.key.file);
      src = ev.key.source;
      file = ev.key.file;
    }
    w.varint(zigzag(static_cast<int64_t>(ev.key.line - line)));
    line = ev.key.line;
    // In unsigned arithmetic: defined for any two times.
    w.varint(static_cast<uint64_t>(ev.time_us) - static_cast<uint64_t>(out.first_us));
    if (ev.attempt != 0)
      w.varint(ev.attempt);
    if (!ev.detail.empty())
      w.varint(intern(ev.detail));
    if (keep_id) {
      // Ids are mostly distinct: written in place, not interned.
      w.varint(ev.record_id.size());
      w.bytes(ev.record_id);
      ids.push_back(ev.record_id);
    }
    bucket b{ev.key.source, ev.key.file, bucket_of(ev.key.line)};
    if (first || !(out.buckets.back() == b))
      out.buckets.push_back(b);
    first = false;
  }
  body.resize(static_cast<size_t>(w.at() - body.data()));
  std::sort(out.buckets.begin(), out.buckets.end());
  out.buckets.erase(std::unique(out.buckets.begin(), out.buckets.end()), out.buckets.end());

  // The header (version, three varints) and the string table, then the body.
  size_t head_bytes = 1 + 3 * 10;
  for (auto s : strings)
    head_bytes += 10 + s.size();
  out.data.assign(head_bytes + body.size(), '\0');
  writer h{out.data.data()};
  h.byte(format_version);
  h.varint(zigzag(out.first_us));
  h.varint(n);
  h.varint(strings.size());
  for (auto s : strings) {
    h.varint(s.size());
    h.bytes(s);
  }
  h.bytes(body);
  out.data.resize(static_cast<size_t>(h.at() - out.data.data()));

  if (!ids.empty()) {
    // A repeated id sets the same bits again: no need to make them unique.
    uint64_t bits = std::max<uint64_t>(64, ids.size() * bits_per_id);
    bits = (bits + 7) / 8 * 8;
    out.ids.assign(bits / 8, '\0');
    for (auto id : ids)
      for_each_probe(id, bits, [&](uint64_t bit) {
        out.ids[bit / 8] = static_cast<char>(out.ids[bit / 8] | (1 << (bit % 8)));
      });
  }
  return out;
}

result<std::vector<lineage_event>> decode(std::string_view data, stage_index stage,
                                          uint32_t replica) {
  auto damaged = [](const char* what) {
    return error{errc::io_error, std::string{"a lineage block is damaged ("} + what + ")"};
  };
  reader in{data};
  uint8_t version = 0;
  if (!in.byte(version))
    return damaged("empty");
  if (version != format_version)
    return error{errc::io_error, "a lineage block has format " + std::to_string(version)
                                   + ", which this sluice does not read"};
  uint64_t first = 0, n = 0, n_strings = 0;
  // Every event takes at least 3 bytes (flags, line, time): a count the
  // data cannot hold is damage, found before anything is allocated for it.
  if (!in.varint(first) || !in.varint(n) || !in.varint(n_strings) || n_strings > data.size()
      || n > data.size() / 3)
    return damaged("header");
  auto first_us = unzigzag(first);
  std::vector<std::string_view> strings(n_strings);
  for (auto& s : strings) {
    uint64_t len = 0;
    if (!in.varint(len) || !in.bytes(len, s))
      return damaged("strings");
  }
  auto string_at = [&](uint64_t i, std::string& out) {
    if (i >= strings.size())
      return false;
    out.assign(strings[i]);
    return true;
  };
  std::vector<lineage_event> out(n);
  uint64_t src = 0, file = 0, line = 0;
  for (auto& ev : out) {
    uint8_t flags = 0;
    uint64_t v = 0;
    if (!in.byte(flags))
      return damaged("truncated");
    auto outcome = flags & 0x0f;
    if (outcome < static_cast<int>(lineage_outcome::read)
        || outcome > static_cast<int>(lineage_outcome::retried))
      return damaged("unknown outcome");
    ev.outcome = static_cast<lineage_outcome>(outcome);
    if (flags & has_key) {
      if (!in.varint(src) || !in.varint(file))
        return damaged("truncated");
    }
    if (!in.varint(v))
      return damaged("truncated");
    line += static_cast<uint64_t>(unzigzag(v));
    ev.key = lineage_key{static_cast<stage_index>(src), static_cast<uint32_t>(file), line};
    if (!in.varint(v))
      return damaged("truncated");
    ev.time_us = static_cast<int64_t>(static_cast<uint64_t>(first_us) + v);
    if (flags & has_attempt) {
      if (!in.varint(v))
        return damaged("truncated");
      ev.attempt = static_cast<uint32_t>(v);
    }
    if ((flags & has_detail) && (!in.varint(v) || !string_at(v, ev.detail)))
      return damaged("detail");
    if (flags & has_id) {
      std::string_view id;
      if (!in.varint(v) || !in.bytes(v, id))
        return damaged("record id");
      ev.record_id.assign(id);
    }
    ev.stage = stage;
    ev.replica = replica;
  }
  if (!in.done())
    return damaged("trailing bytes");
  return out;
}

bool may_name(std::string_view ids, std::string_view record_id) {
  if (ids.empty())
    return false;
  uint64_t bits = ids.size() * 8;
  bool all = true;
  for_each_probe(record_id, bits, [&](uint64_t bit) {
    if (!(static_cast<uint8_t>(ids[bit / 8]) & (1 << (bit % 8))))
      all = false;
  });
  return all;
}

} // namespace sluice::lineage_block
