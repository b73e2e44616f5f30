#include "ops/decode.hpp"

#include <charconv>

namespace sluice {

namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// nlohmann's message is "[json.exception.parse_error.101] parse error at line
// 1, column 12: syntax error while parsing ..."; a line is one line, so the
// byte says where, and the tag says nothing to a user.
std::string parse_message(const json::parse_error& e) {
  std::string what = e.what();
  std::string detail = what;
  auto at = what.find("parse error");
  if (at != std::string::npos) {
    auto colon = what.find(": ", at);
    if (colon != std::string::npos)
      detail = what.substr(colon + 2);
  }
  if (e.byte == 0)
    return "parse error: " + detail;
  return "parse error at byte " + std::to_string(e.byte) + ": " + detail;
}

} // namespace

decode_op::decode_op(std::string source_id, std::vector<std::string> file_names,
                     std::optional<field_path> id_field)
  : names_(std::move(file_names)), id_field_(std::move(id_field)) {
  for (auto& n : names_)
    id_prefixes_.push_back(names_.size() == 1 ? source_id + ":"
                                              : source_id + ":" + base_name(n) + ":");
  if (names_.empty())
    id_prefixes_.push_back(source_id + ":");
}

std::string decode_op::where(const record& rec) const {
  auto& o = rec.trail().origin;
  auto& name = o.file < names_.size() ? names_[o.file] : std::string{"?"};
  return name + ":" + std::to_string(o.line);
}

std::string decode_op::origin_id(const record& rec) const {
  auto& o = rec.trail().origin;
  auto& prefix = o.file < id_prefixes_.size() ? id_prefixes_[o.file] : id_prefixes_[0];
  // Runs once per record: one string, written once (no temporaries).
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, o.line).ptr;
  std::string id;
  id.reserve(prefix.size() + static_cast<size_t>(end - digits));
  id.append(prefix).append(digits, end);
  return id;
}

void decode_op::process(record&& rec, emitter& out) {
  // A record that fails here has no content to take an id from; its origin
  // names it (in the dead-letter file, for one).
  auto fail = [&](std::string why) {
    if (rec.id().empty())
      rec.id(origin_id(rec));
    auto msg = where(rec) + ": " + why;
    out.fail(std::move(rec), error{errc::parse_error, std::move(msg)});
  };
  auto& meta = rec.meta();
  if (meta.is_object()) {
    auto e = meta.find("error");
    if (e != meta.end()) {
      auto why = e->is_string() ? e->get<std::string>() : e->dump();
      meta.erase(e);
      if (meta.empty())
        meta = nullptr;
      fail(std::move(why));
      return;
    }
  }
  if (rec.content().is_string()) {
    auto& text = rec.content().get_ref<const std::string&>();
    json parsed;
    try {
      parsed = parser_.parse(text);
    } catch (const json::parse_error& e) {
      fail(parse_message(e));
      return;
    } catch (const std::exception& e) {
      fail(e.what());
      return;
    }
    if (!parsed.is_object()) {
      fail(std::string{"line is a JSON "} + parsed.type_name() + ", expected an object");
      return;
    }
    rec.content(std::move(parsed));
  } else if (!rec.content().is_object()) {
    fail(std::string{"expected an object, got JSON "} + rec.content().type_name());
    return;
  }
  std::string id;
  if (id_field_) {
    if (auto v = rec.get(*id_field_)) {
      if (v->is_string())
        id = v->get<std::string>();
      else if (v->is_number_unsigned())
        id = std::to_string(v->get<uint64_t>());
      else if (v->is_number_integer())
        id = std::to_string(v->get<int64_t>());
    }
  }
  rec.id(id.empty() ? origin_id(rec) : std::move(id));
  out.emit(std::move(rec), 0);
}

bool read_id_field(params_reader& p, std::optional<field_path>& out) {
  auto raw = p.raw("id_field");
  if (raw == nullptr) {
    out = field_path{{std::string{"id"}}};
    return true;
  }
  if (raw->is_null() || (raw->is_string() && raw->get_ref<const std::string&>().empty())) {
    out.reset();
    return true;
  }
  auto path = p.path("id_field", false);
  if (!path)
    return false;
  out = std::move(*path);
  return true;
}

} // namespace sluice
