// One line per event on stderr: "<UTC time> <LEVEL> planner: <message>", the slice key in the
// message ("key=...") where one is concerned; or, with --log-json, one JSON object per line:
// {"ts":"...Z","level":"INFO","process":"planner","msg":"...","key":"..."} (key only when the
// message names one). Thread-safe (tests run the planner in a thread).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace qlir::planner {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void Log(LogLevel level, std::string_view message);
inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(std::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

// Lines below `level` are dropped (default kInfo).
void SetLogLevel(LogLevel level);
void SetLogJson(bool json);
// Replaces the writer of whole lines (without newline); an empty function restores stderr.
void SetLogSink(std::function<void(std::string_view line)> sink);

}  // namespace qlir::planner
