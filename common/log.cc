#include "common/log.h"

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "common/json.h"
#include "common/time_util.h"

namespace qlir {
namespace {

std::mutex mu;
std::string process = "qlir";                // guarded by mu
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
  return "INFO";
}

void AppendOneLine(std::string* out, std::string_view s) {
  for (char c : s) *out += (c == '\n' || c == '\r') ? ' ' : c;
}

}  // namespace

void SetLogProcess(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu);
  process = std::string(name);
}

void SetLogProcessWithPid(std::string_view name) {
  SetLogProcess(std::string(name) + "[" + std::to_string(::getpid()) + "]");
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

void Log(LogLevel level, std::string_view key, std::string_view message) {
  const std::string ts = FormatIsoUtcMs(WallClockMs());
  std::lock_guard<std::mutex> lock(mu);
  if (level < min_level) return;
  std::string line;
  if (json_lines) {
    nlohmann::json j = {{"ts", ts},
                        {"level", LevelName(level)},
                        {"process", process},
                        {"msg", std::string(message)}};
    if (key.empty()) {
      if (size_t k = message.find("key="); k != std::string_view::npos) {
        key = message.substr(k + 4);
        key = key.substr(0, key.find(' '));
      }
    }
    if (!key.empty()) j["key"] = std::string(key);
    // Invalid UTF-8 (a symbol is bytes) is replaced rather than thrown on.
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = ts;
    line += ' ';
    line += LevelName(level);
    line += ' ';
    line += process;
    line += ": ";
    if (!key.empty()) {
      line += "key=";
      AppendOneLine(&line, key);
      line += ' ';
    }
    AppendOneLine(&line, message);
  }
  if (sink) {
    sink(line);
    return;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace qlir
