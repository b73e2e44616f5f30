#include "io/json_parser.hpp"

#include <simdjson.h>

namespace sluice {

namespace {

using json = nlohmann::json;
namespace dom = simdjson::dom;

// Copies simdjson's tree into nlohmann's. Recursion depth is bounded by
// simdjson's own nesting limit (1024 by default), checked while parsing.
void copy_into(dom::element e, json& out, bool& saw_zero) {
  switch (e.type()) {
    case dom::element_type::OBJECT: {
      out = json::object();
      auto& members = out.get_ref<json::object_t&>();
      for (auto field : dom::object(e)) {
        // operator[] then assignment: a repeated key keeps its last value,
        // as nlohmann's parser does.
        copy_into(field.value, members[std::string(field.key)], saw_zero);
      }
      return;
    }
    case dom::element_type::ARRAY: {
      out = json::array();
      auto& items = out.get_ref<json::array_t&>();
      for (auto item : dom::array(e)) {
        items.emplace_back();
        copy_into(item, items.back(), saw_zero);
      }
      return;
    }
    case dom::element_type::STRING:
      out = std::string(std::string_view(e));
      return;
    case dom::element_type::INT64: {
      // nlohmann keeps an integer written without a sign as unsigned. A
      // zero may have been written "-0" (signed for nlohmann): see parse.
      auto v = int64_t(e);
      if (v >= 0)
        out = static_cast<uint64_t>(v);
      else
        out = v;
      saw_zero = saw_zero || v == 0;
      return;
    }
    case dom::element_type::UINT64:
      out = uint64_t(e);
      return;
    case dom::element_type::DOUBLE:
      out = double(e);
      return;
    case dom::element_type::BOOL:
      out = bool(e);
      return;
    case dom::element_type::NULL_VALUE:
      out = nullptr;
      return;
  }
}

} // namespace

struct json_parser::state {
  dom::parser parser;
};

json_parser::json_parser() : state_(std::make_unique<state>()) {}
json_parser::~json_parser() = default;
json_parser::json_parser(json_parser&&) noexcept = default;
json_parser& json_parser::operator=(json_parser&&) noexcept = default;

nlohmann::json json_parser::parse(std::string_view text) {
  // realloc_if_needed: simdjson reads up to 64 bytes past the end, so it
  // copies the text into its own padded buffer (reused between calls).
  auto doc = state_->parser.parse(text.data(), text.size(), true);
  if (doc.error() != simdjson::SUCCESS) {
    ++fallbacks_;
    return json::parse(text);
  }
  json out;
  bool saw_zero = false;
  copy_into(doc.value_unsafe(), out, saw_zero);
  // simdjson reads "-0" as the integer 0, which cannot tell it from "0";
  // nlohmann keeps it signed. Rare: such a text takes nlohmann's parser.
  if (saw_zero && text.find("-0") != std::string_view::npos) {
    ++fallbacks_;
    return json::parse(text);
  }
  return out;
}

} // namespace sluice
