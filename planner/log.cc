#include "planner/log.h"

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/time_util.h"

namespace qlir::planner {
namespace {

std::mutex mu;
LogLevel min_level = LogLevel::kInfo;        // guarded by mu
bool json_lines = false;                     // guarded by mu
std::function<void(std::string_view)> sink;  // guarded by mu

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void Log(LogLevel level, std::string_view message) {
  std::lock_guard<std::mutex> lock(mu);
  if (level < min_level) return;
  std::string line;
  if (json_lines) {
    nlohmann::json j = {{"ts", FormatIsoUtcMs(WallClockMs())},
                        {"level", LevelName(level)},
                        {"process", "planner"},
                        {"msg", std::string(message)}};
    if (size_t k = message.find("key="); k != std::string_view::npos) {
      std::string_view key = message.substr(k + 4);
      key = key.substr(0, key.find(' '));
      j["key"] = std::string(key);
    }
    // Invalid UTF-8 (a symbol is bytes) is replaced rather than thrown on.
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = FormatIsoUtcMs(WallClockMs());
    line += ' ';
    line += LevelName(level);
    line += " planner: ";
    line += message;
  }
  if (sink) {
    sink(line);
    return;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void SetLogLevel(LogLevel level) {
  std::lock_guard<std::mutex> lock(mu);
  min_level = level;
}

void SetLogJson(bool json) {
  std::lock_guard<std::mutex> lock(mu);
  json_lines = json;
}

void SetLogSink(std::function<void(std::string_view)> s) {
  std::lock_guard<std::mutex> lock(mu);
  sink = std::move(s);
}

}  // namespace qlir::planner
