// Logging shared by every process: one line per event on stderr with UTC time, level, process and
// (where one is involved) the slice key:
//   2026-11-28T01:49:44.780Z WARN planner: key=BTCUSDT:1m:0-59999999:1000 re-handing job 7
// or, after SetLogJson(true), one JSON object per line:
//   {"ts":"...Z","level":"WARN","process":"planner","key":"BTCUSDT:...","msg":"..."}
// Thread-safe. Line breaks inside a message are replaced so that an event stays on one line.
#pragma once

#include <functional>
#include <string_view>

namespace qlir {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogProcess(std::string_view name);  // default "qlir"
// The process name followed by "[pid]", e.g. "persister[4242]".
void SetLogProcessWithPid(std::string_view name);
void SetLogLevel(LogLevel level);  // default kInfo
void SetLogJson(bool json);        // default text
// Tests: receive each line (without '\n') instead of stderr; an empty function restores stderr.
void SetLogSink(std::function<void(std::string_view line)> sink);

// `key` may be empty; in JSON mode a "key=..." inside the message is used when it is.
void Log(LogLevel level, std::string_view key, std::string_view message);

// The same without a key (a "key=..." inside the message still fills JSON's "key").
inline void LogDebug(std::string_view message) { Log(LogLevel::kDebug, {}, message); }
inline void LogInfo(std::string_view message) { Log(LogLevel::kInfo, {}, message); }
inline void LogWarn(std::string_view message) { Log(LogLevel::kWarn, {}, message); }
inline void LogError(std::string_view message) { Log(LogLevel::kError, {}, message); }

}  // namespace qlir
