#include "ops/call_templates.hpp"

#include "net/url.hpp"

namespace sluice {

std::optional<text_template> text_template::compile(const std::string& text,
                                                    const std::string& json_path,
                                                    params_reader& p) {
  text_template t;
  t.text_ = text;
  std::string lit;
  bool ok = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      lit += '{';
      ++i;
    } else if (ch == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      lit += '}';
      ++i;
    } else if (ch == '{') {
      auto close = text.find('}', i + 1);
      if (close == std::string::npos) {
        p.diags().error(json_path, "'{' at column " + std::to_string(i + 1)
                                     + " opens an expression that is never closed")
          .hint = "write {.field} for a value, or {{ for a literal '{'";
        return std::nullopt;
      }
      auto inner = text.substr(i + 1, close - i - 1);
      auto e = p.compile(inner, json_path);
      if (!e) {
        ok = false;
      } else {
        t.parts_.push_back(piece{std::move(lit), std::move(*e)});
        lit.clear();
        ++t.holes_;
      }
      i = close;
    } else if (ch == '}') {
      p.diags().error(json_path, "'}' at column " + std::to_string(i + 1) + " closes nothing")
        .hint = "write }} for a literal '}'";
      return std::nullopt;
    } else {
      lit += ch;
    }
  }
  if (!lit.empty())
    t.parts_.push_back(piece{std::move(lit), std::nullopt});
  if (!ok)
    return std::nullopt;
  return t;
}

result<std::string> text_template::render(const record& rec) const {
  std::string out;
  for (auto& part : parts_) {
    out += part.literal;
    if (!part.hole)
      continue;
    auto v = part.hole->eval(rec);
    if (!v)
      return error{v.err().code, "{" + part.hole->text() + "}: " + v.err().message};
    if (v->is_null())
      return error{errc::type_error, "{" + part.hole->text() + "} is null or missing"};
    std::string text = v->is_string() ? v->get<std::string>() : v->dump();
    out += net::percent_encode(text);
  }
  return out;
}

bool json_template::compile_node(const nlohmann::json& v, const std::string& at, params_reader& p,
                                 node& out) {
  if (v.is_string()) {
    auto e = p.compile(v.get<std::string>(), at);
    if (!e)
      return false;
    out.kind = node::kind_t::expression;
    out.expr = std::move(*e);
    return true;
  }
  if (v.is_object() || v.is_array()) {
    out.kind = v.is_object() ? node::kind_t::object : node::kind_t::array;
    bool ok = true;
    size_t i = 0;
    for (auto& [key, child] : v.items()) {
      node n;
      auto sub = at + "/" + (v.is_object() ? json_pointer_escape(key) : std::to_string(i));
      ok = compile_node(child, sub, p, n) && ok;
      out.members.emplace_back(v.is_object() ? key : std::string{}, std::move(n));
      ++i;
    }
    return ok;
  }
  out.kind = node::kind_t::literal;
  out.literal = v;
  return true;
}

std::optional<json_template> json_template::compile(const nlohmann::json& value,
                                                    const std::string& json_path,
                                                    params_reader& p) {
  json_template t;
  if (!compile_node(value, json_path, p, t.root_))
    return std::nullopt;
  return t;
}

result<nlohmann::json> json_template::render_node(const node& n, const record& rec) {
  switch (n.kind) {
    case node::kind_t::literal:
      return n.literal;
    case node::kind_t::expression: {
      auto v = n.expr->eval(rec);
      if (!v)
        return error{v.err().code, n.expr->text() + ": " + v.err().message};
      return std::move(*v);
    }
    case node::kind_t::object:
    case node::kind_t::array: {
      auto out = n.kind == node::kind_t::object ? nlohmann::json::object()
                                                : nlohmann::json::array();
      for (auto& [key, child] : n.members) {
        auto v = render_node(child, rec);
        if (!v)
          return v.err();
        if (n.kind == node::kind_t::object)
          out[key] = std::move(*v);
        else
          out.push_back(std::move(*v));
      }
      return out;
    }
  }
  return nlohmann::json{};
}

result<nlohmann::json> json_template::render(const record& rec) const {
  return render_node(root_, rec);
}

} // namespace sluice
