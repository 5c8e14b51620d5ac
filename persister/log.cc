#include "persister/log.h"

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "common/time_util.h"

namespace qlir::persister {
namespace {

std::mutex mu;
std::string process_name = "persister";  // guarded by mu
LogLevel min_level = LogLevel::kInfo;    // guarded by mu

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "INFO";
}

// Keeps one event on one line whatever a peer put into an error text.
void AppendOneLine(std::string* out, std::string_view s) {
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      *out += ' ';
    } else {
      *out += c;
    }
  }
}

}  // namespace

void SetLogProcessName(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu);
  process_name = std::string(name);
}

void SetLogLevel(LogLevel level) {
  std::lock_guard<std::mutex> lock(mu);
  min_level = level;
}

void Log(LogLevel level, std::string_view key, std::string_view message) {
  std::string line = FormatIsoUtcMs(WallClockMs());
  line += ' ';
  line += LevelName(level);
  line += ' ';
  std::lock_guard<std::mutex> lock(mu);
  if (level < min_level) return;
  line += process_name;
  line += '[' + std::to_string(::getpid()) + "] ";
  if (!key.empty()) {
    line += "key=";
    AppendOneLine(&line, key);
    line += ' ';
  }
  AppendOneLine(&line, message);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace qlir::persister
