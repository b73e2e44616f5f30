#include "ops/call.hpp"

#include <stdexcept>

namespace sluice {

std::string excerpt(const std::string& body, size_t max) {
  std::string out;
  out.reserve(std::min(body.size(), max) + 3);
  for (char ch : body) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out += (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
  }
  return out;
}

std::optional<error> status_failure(const net::http_response& res, const std::string& what) {
  if (res.status == 0) {
    error e{errc::transient, what + ": " + (res.error.empty() ? "no response" : res.error)};
    return e;
  }
  if (res.status >= 200 && res.status < 300)
    return std::nullopt;
  auto text = what + ": HTTP " + std::to_string(res.status);
  if (!res.body.empty())
    text += ": " + excerpt(res.body);
  if (res.status == 429 || res.status >= 500) {
    error e{errc::transient, std::move(text)};
    e.retry_after_ms = res.retry_after_ms;
    return e;
  }
  return error{errc::runtime_error, std::move(text)};
}

result<double> calling_op::cost_of(const record& rec) const {
  if (!cost_.valid())
    return 0.0;
  auto v = cost_.eval(rec);
  if (!v)
    return error{v.err().code, "cost: " + v.err().message};
  if (!v->is_number())
    return error{errc::type_error, "cost: expected a number, got " + v->dump()};
  auto n = v->get<double>();
  if (!(n >= 0))
    return error{errc::type_error, "cost: expected a number >= 0, got " + v->dump()};
  return n;
}

void calling_op::complete(record&& rec, size_t, call_answer& answer, emitter& out) {
  if (answer.failure)
    out.fail(std::move(rec), *answer.failure);
  else
    out.emit(std::move(rec));
}

void calling_op::process(record&&, emitter&) {
  throw std::logic_error("calling_op::process: a calling stage's records go through launch");
}

} // namespace sluice
