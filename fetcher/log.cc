#include "fetcher/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/time_util.h"

namespace qlir::fetcher {
namespace {

std::mutex g_mu;
std::string g_process = "fetcher";  // guarded by g_mu
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

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

void SetLogProcess(std::string name) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_process = std::move(name);
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

void Log(LogLevel level, std::string_view key, std::string_view message) {
  if (static_cast<int>(level) < g_level.load()) return;
  std::string line = FormatIsoUtcMs(WallClockMs());
  line += ' ';
  line += LevelName(level);
  line += ' ';
  {
    std::lock_guard<std::mutex> lock(g_mu);
    line += g_process;
  }
  line += " key=";
  line += key.empty() ? std::string_view("-") : key;
  line += ' ';
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace qlir::fetcher
