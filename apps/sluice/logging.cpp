#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include "cli.hpp"

namespace sluice::cli {

namespace {

/// A run event is logged as `event {"event": KIND, "pipeline": ..., "stage":
/// ..., "message": ...}` (actors/coordinator.cpp). Returns those fields, or
/// a discarded value for any other message.
nlohmann::ordered_json event_fields(std::string_view payload) {
  constexpr std::string_view prefix = "event {";
  if (payload.substr(0, prefix.size()) != prefix)
    return nlohmann::ordered_json(nlohmann::ordered_json::value_t::discarded);
  return nlohmann::ordered_json::parse(payload.substr(prefix.size() - 1), nullptr, false);
}

/// An event as people read it: `pipeline_started orders: 9 actors, 8 stages`,
/// `stage_finished orders/check: 15 in, 11 out`.
std::string event_text(const nlohmann::ordered_json& e) {
  std::string out = e.value("event", std::string{}) + " " + e.value("pipeline", std::string{});
  if (e.contains("stage"))
    out += "/" + e.value("stage", std::string{});
  if (e.contains("message"))
    out += ": " + e.value("message", std::string{});
  return out;
}

/// The text format: spdlog's pattern, with events made readable.
class text_formatter final : public spdlog::formatter {
public:
  text_formatter() : pattern_("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v") {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto e = event_fields(std::string_view(msg.payload.data(), msg.payload.size()));
    if (e.is_discarded()) {
      pattern_.format(msg, dest);
      return;
    }
    auto text = "event " + event_text(e);
    auto copy = msg;
    copy.payload = spdlog::string_view_t(text.data(), text.size());
    pattern_.format(copy, dest);
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<text_formatter>();
  }

private:
  spdlog::pattern_formatter pattern_;
};

/// Formats each log message as one JSON object per line:
/// {"time":"2026-11-22T03:04:05.123Z","level":"info","logger":"sluice","msg":"..."}
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[40];
    auto n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(ms % 1000));
    nlohmann::ordered_json line = {
      {"time", ts},
      {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                            spdlog::level::to_string_view(msg.level).size())},
      {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
    };
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (auto e = event_fields(payload); !e.is_discarded()) {
      // A run event: its fields at the top level, for log pipelines.
      line["msg"] = event_text(e);
      for (auto& [key, value] : e.items())
        line[key] = value;
    } else {
      line["msg"] = std::string(payload);
    }
    auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

} // namespace

std::string setup_logging(const std::string& level, const std::string& format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return "unknown log level '" + level + "' (use trace, debug, info, warn, error or off)";
  if (format != "text" && format != "json")
    return "unknown log format '" + format + "' (use text or json)";
  auto logger = spdlog::stderr_color_mt("sluice");
  if (format == "json")
    logger->set_formatter(std::make_unique<json_formatter>());
  else
    logger->set_formatter(std::make_unique<text_formatter>());
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return {};
}

} // namespace sluice::cli
