#include "io/dlq_inspect.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>

#include "io/dlq_reader.hpp"

namespace sluice {

namespace {

// "data/orders.csv:15: 4 fields" -> "4 fields"; anything else as it is.
std::string without_origin(const std::string& msg) {
  auto sep = msg.find(": ");
  if (sep == std::string::npos || sep == 0)
    return msg;
  auto colon = msg.rfind(':', sep - 1);
  if (colon == std::string::npos || colon == 0 || colon + 1 == sep)
    return msg;
  for (auto i = colon + 1; i < sep; ++i)
    if (msg[i] < '0' || msg[i] > '9')
      return msg;
  for (size_t i = 0; i < colon; ++i)
    if (msg[i] == ' ' || msg[i] == '\t')
      return msg;
  return msg.substr(sep + 2);
}

struct stage_tally {
  uint64_t count = 0;
  std::map<std::string, uint64_t> classes;
  std::map<std::pair<std::string, std::string>, uint64_t> messages; ///< (class, message)
};

// Most frequent first, then by key.
template <class Map>
std::vector<typename Map::const_iterator> by_count(const Map& m) {
  std::vector<typename Map::const_iterator> out;
  for (auto i = m.begin(); i != m.end(); ++i)
    out.push_back(i);
  std::stable_sort(out.begin(), out.end(),
                   [](auto a, auto b) { return a->second > b->second; });
  return out;
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

std::string pad_left(const std::string& s, size_t width) {
  return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}

std::string plural(uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

} // namespace

json inspect_dead_letters(std::istream& in, const std::string& name,
                          const dlq_inspect_options& opts) {
  std::map<std::string, stage_tally> stages;
  uint64_t total = 0, retried = 0, malformed = 0;
  uint32_t max_attempts = 0;
  int64_t first = 0, last = 0;
  auto bad_lines = json::array();
  uint64_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos)
      continue;
    auto e = parse_dead_letter(line);
    if (!e) {
      if (++malformed <= opts.malformed_lines)
        bad_lines.push_back({{"line", line_no}, {"error", e.err().message}});
      continue;
    }
    auto& why = e->why;
    ++total;
    auto& t = stages[why.stage];
    ++t.count;
    ++t.classes[why.error_class];
    ++t.messages[{why.error_class, without_origin(why.message)}];
    if (why.attempts > 1)
      ++retried;
    max_attempts = std::max(max_attempts, why.attempts);
    if (why.first_failure_us != 0 && (first == 0 || why.first_failure_us < first))
      first = why.first_failure_us;
    if (why.last_failure_us != 0 && (last == 0 || why.last_failure_us > last))
      last = why.last_failure_us;
  }
  json out = json::object();
  out["file"] = name;
  out["total"] = total;
  out["first_failure"] = first != 0 ? json(iso8601_utc_ms(first)) : json(nullptr);
  out["last_failure"] = last != 0 ? json(iso8601_utc_ms(last)) : json(nullptr);
  out["retried"] = retried;
  out["max_attempts"] = max_attempts;
  out["malformed"] = {{"count", malformed}, {"lines", std::move(bad_lines)}};
  std::map<std::string, uint64_t> stage_counts;
  for (auto& [id, t] : stages)
    stage_counts[id] = t.count;
  auto list = json::array();
  for (auto s : by_count(stage_counts)) {
    auto& t = stages[s->first];
    json st = {{"stage", s->first}, {"count", t.count}};
    auto classes = json::array();
    for (auto c : by_count(t.classes))
      classes.push_back({{"class", c->first}, {"count", c->second}});
    st["classes"] = std::move(classes);
    auto messages = json::array();
    uint64_t more = 0, more_count = 0;
    for (auto m : by_count(t.messages)) {
      if (messages.size() < opts.top_messages) {
        messages.push_back(
          {{"class", m->first.first}, {"message", m->first.second}, {"count", m->second}});
      } else {
        ++more;
        more_count += m->second;
      }
    }
    st["messages"] = std::move(messages);
    st["more_messages"] = {{"distinct", more}, {"count", more_count}};
    list.push_back(std::move(st));
  }
  out["stages"] = std::move(list);
  return out;
}

result<json> inspect_dead_letter_file(const std::string& path, const dlq_inspect_options& opts) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return error{errc::io_error, "cannot read '" + path + "': " + std::strerror(errno)};
  auto summary = inspect_dead_letters(in, path, opts);
  if (in.bad())
    return error{errc::io_error, "cannot read '" + path + "': " + std::strerror(errno)};
  return summary;
}

std::string render_dead_letter_summary(const json& s) {
  std::string out;
  auto total = s["total"].get<uint64_t>();
  auto malformed = s["malformed"]["count"].get<uint64_t>();
  out += s["file"].get<std::string>() + ": " + plural(total, "dead letter");
  if (malformed > 0)
    out += ", " + plural(malformed, "malformed line");
  out += "\n";
  if (s["first_failure"].is_string())
    out += "failures from " + s["first_failure"].get<std::string>() + " to "
           + s["last_failure"].get<std::string>() + "\n";
  if (auto retried = s["retried"].get<uint64_t>(); retried > 0)
    out += plural(retried, "dead letter") + " failed after more than one attempt (at most "
           + std::to_string(s["max_attempts"].get<uint32_t>()) + ")\n";
  if (total > 0) {
    // stage | dead letters | class | count
    size_t w_stage = 5, w_class = 5;
    for (auto& st : s["stages"]) {
      w_stage = std::max(w_stage, st["stage"].get<std::string>().size());
      for (auto& c : st["classes"])
        w_class = std::max(w_class, c["class"].get<std::string>().size());
    }
    const size_t w_count = 12; // "dead letters"
    out += "\n" + pad("stage", w_stage) + "  dead letters  " + pad("class", w_class) + "  count\n";
    for (auto& st : s["stages"]) {
      bool first_row = true;
      for (auto& c : st["classes"]) {
        out += pad(first_row ? st["stage"].get<std::string>() : "", w_stage) + "  "
               + pad_left(first_row ? std::to_string(st["count"].get<uint64_t>()) : "", w_count)
               + "  " + pad(c["class"].get<std::string>(), w_class) + "  "
               + pad_left(std::to_string(c["count"].get<uint64_t>()), 5) + "\n";
        first_row = false;
      }
    }
    out += pad("total", w_stage) + "  " + pad_left(std::to_string(total), w_count) + "\n";
    out += "\ntop messages per stage (a leading 'file:line: ' left out):\n";
    for (auto& st : s["stages"]) {
      out += st["stage"].get<std::string>() + ":\n";
      size_t w_cls = 0, w_n = 0;
      for (auto& m : st["messages"]) {
        w_cls = std::max(w_cls, m["class"].get<std::string>().size());
        w_n = std::max(w_n, std::to_string(m["count"].get<uint64_t>()).size());
      }
      for (auto& m : st["messages"])
        out += "  " + pad_left(std::to_string(m["count"].get<uint64_t>()), w_n) + "  "
               + pad(m["class"].get<std::string>(), w_cls) + "  "
               + m["message"].get<std::string>() + "\n";
      auto& more = st["more_messages"];
      if (auto d = more["distinct"].get<uint64_t>(); d > 0)
        out += "  ... and " + plural(d, "more message") + " ("
               + plural(more["count"].get<uint64_t>(), "dead letter") + ")\n";
    }
  }
  if (malformed > 0) {
    out += "\nmalformed lines (not counted above):\n";
    for (auto& l : s["malformed"]["lines"])
      out += "  line " + std::to_string(l["line"].get<uint64_t>()) + ": "
             + l["error"].get<std::string>() + "\n";
    auto listed = s["malformed"]["lines"].size();
    if (malformed > listed)
      out += "  ... and " + std::to_string(malformed - listed) + " more\n";
  }
  return out;
}

} // namespace sluice
