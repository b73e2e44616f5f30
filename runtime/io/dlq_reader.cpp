#include "io/dlq_reader.hpp"

#include <ctime>

namespace sluice {

namespace {

error bad_line(std::string what) {
  return error{errc::parse_error, "not a dead letter: " + std::move(what)};
}

// Strips nlohmann's "[json.exception.parse_error.101] " tag.
std::string clean(const std::string& what) {
  auto pos = what.find("] ");
  return pos == std::string::npos ? what : what.substr(pos + 2);
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size())
    return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// A time key: absent is fine (0), present must be an ISO-8601 UTC string.
result<int64_t> time_of(const json& obj, const char* key) {
  auto i = obj.find(key);
  if (i == obj.end() || i->is_null())
    return int64_t{0};
  if (!i->is_string())
    return bad_line(std::string{"'"} + key + "' is not a time string");
  auto t = parse_iso8601_utc(i->get_ref<const std::string&>());
  if (!t)
    return bad_line(std::string{"'"} + key + "' is not an ISO-8601 UTC time: '"
                    + i->get<std::string>() + "'");
  return *t;
}

} // namespace

std::optional<int64_t> parse_iso8601_utc(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.f+]Z
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo)
      || s[7] != '-' || !digits(s, 8, 2, d) || s[10] != 'T' || !digits(s, 11, 2, h)
      || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  size_t i = 19;
  int64_t frac_us = 0;
  if (s[i] == '.') {
    ++i;
    int64_t scale = 100'000;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      frac_us += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start)
      return std::nullopt;
  }
  if (i + 1 != s.size() || s[i] != 'Z')
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  auto secs = static_cast<int64_t>(::timegm(&tm));
  return secs * 1'000'000 + frac_us;
}

result<dead_letter_entry> parse_dead_letter(std::string_view line) {
  json j;
  try {
    j = json::parse(line.begin(), line.end());
  } catch (const std::exception& e) {
    return bad_line("not JSON: " + clean(e.what()));
  }
  if (!j.is_object())
    return bad_line(std::string{"a JSON "} + j.type_name() + ", expected an object");
  dead_letter_entry e;
  auto stage = j.find("stage");
  if (stage == j.end() || !stage->is_string())
    return bad_line("no 'stage' (a string)");
  e.why.stage = stage->get<std::string>();
  auto err = j.find("error");
  if (err == j.end() || !err->is_object() || !err->contains("class")
      || !(*err)["class"].is_string())
    return bad_line("no 'error' with a 'class' (a string)");
  e.why.error_class = (*err)["class"].get<std::string>();
  if (auto m = err->find("message"); m != err->end())
    e.why.message = m->is_string() ? m->get<std::string>() : m->dump();
  auto rec = j.find("record");
  if (rec == j.end() || !rec->is_object() || !rec->contains("content"))
    return bad_line("no 'record' with a 'content'");
  if (auto a = j.find("attempts"); a != j.end()) {
    if (!a->is_number_integer() || a->get<int64_t>() < 1)
      return bad_line("'attempts' is not a whole number >= 1");
    e.why.attempts = static_cast<uint32_t>(a->get<int64_t>());
  }
  SLUICE_TRY(time, time_of(j, "time"));
  SLUICE_TRY(first, time_of(j, "first_failure"));
  SLUICE_TRY(last, time_of(j, "last_failure"));
  e.why.last_failure_us = last != 0 ? last : time;
  e.why.first_failure_us = first != 0 ? first : e.why.last_failure_us;
  if (e.why.last_failure_us == 0)
    e.why.last_failure_us = e.why.first_failure_us;
  auto& r = *rec;
  if (auto id = r.find("id"); id != r.end()) {
    if (id->is_string())
      e.id = id->get<std::string>();
    else if (!id->is_null())
      e.id = id->dump();
  }
  e.content = std::move(r["content"]);
  if (auto o = r.find("origin"); o != r.end() && o->is_string())
    e.origin = o->get<std::string>();
  if (auto p = r.find("position"); p != r.end() && p->is_object())
    e.position = std::move(*p);
  e.lineage = json::array();
  if (auto l = r.find("lineage"); l != r.end() && l->is_array())
    e.lineage = std::move(*l);
  if (auto m = r.find("meta"); m != r.end() && m->is_object())
    e.meta = std::move(*m);
  return e;
}

record replay_record(dead_letter_entry&& entry, const std::string& file_name, uint64_t line,
                     stage_index source) {
  json from = {{"file", file_name},
               {"line", line},
               {"stage", entry.why.stage},
               {"class", entry.why.error_class},
               {"attempts", entry.why.attempts},
               {"first_failure", iso8601_utc_ms(entry.why.first_failure_us)},
               {"last_failure", iso8601_utc_ms(entry.why.last_failure_us)},
               {"origin", entry.origin},
               {"lineage", std::move(entry.lineage)}};
  if (!entry.position.is_null())
    from["position"] = std::move(entry.position);
  json meta = entry.meta.is_object() ? std::move(entry.meta) : json::object();
  if (auto prev = meta.find("replayed_from"); prev != meta.end())
    from["replayed_from"] = std::move(*prev);
  meta["replayed_from"] = std::move(from);
  lineage_trail trail;
  trail.origin.source = source;
  trail.origin.file = 0;
  trail.origin.line = line;
  record rec{std::move(entry.id), std::move(entry.content), std::move(trail)};
  rec.meta() = std::move(meta);
  return rec;
}

// -- dlq_reader -----------------------------------------------------------------

namespace {

file_reader_options line_options(stage_index source, size_t max_line_bytes, size_t chunk) {
  file_reader_options o;
  o.format = data_format::jsonl;
  o.source = source;
  o.max_line_bytes = max_line_bytes;
  o.chunk_bytes = chunk;
  return o;
}

} // namespace

dlq_reader::dlq_reader(input_file file, stage_index source, dlq_filter filter,
                       size_t max_line_bytes, size_t chunk_bytes)
  : lines_(line_options(source, max_line_bytes, chunk_bytes), {file}),
    name_(file.name),
    source_(source),
    filter_(std::move(filter)) {
}

result<source_reader::state> dlq_reader::read(std::vector<record>& out, size_t max,
                                              int64_t max_wait_us) {
  raw_.clear();
  auto st = lines_.read(raw_, max, max_wait_us);
  for (auto& raw : raw_)
    convert(std::move(raw), out);
  raw_.clear();
  return st;
}

void dlq_reader::convert(record&& raw, std::vector<record>& out) {
  // An overlong line comes with its reason already.
  if (!raw.meta().is_null() || !raw.content().is_string()) {
    out.push_back(std::move(raw));
    return;
  }
  auto line = raw.trail().origin.line;
  auto fail = [&](std::string why) {
    raw.meta() = json::object({{"error", std::move(why)}});
    out.push_back(std::move(raw));
  };
  auto parsed = parse_dead_letter(raw.content().get_ref<const std::string&>());
  if (!parsed) {
    fail(parsed.err().message);
    return;
  }
  if (!filter_.matches(parsed->why)) {
    ++skipped_;
    return;
  }
  if (!parsed->content.is_object()) {
    // Kept as it was (id, raw text, history), so failing again loses nothing.
    auto why = "the dead letter of record '" + parsed->id + "' (stage '" + parsed->why.stage
               + "', " + parsed->why.error_class + ") holds raw text that never parsed, not a"
               " record; only its source can read it again: fix the input and rerun the"
               " pipeline";
    auto rec = replay_record(std::move(*parsed), name_, line, source_);
    rec.meta()["error"] = std::move(why);
    out.push_back(std::move(rec));
    return;
  }
  out.push_back(replay_record(std::move(*parsed), name_, line, source_));
}

} // namespace sluice
