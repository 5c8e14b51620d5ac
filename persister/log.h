// Event log of the persister: one line per event on stderr,
//   <UTC time with ms> <LEVEL> <process>[<pid>] [key=<composite key>] <message>
// Thread-safe (tests run the server loop in a thread while the test itself logs).
#pragma once

#include <string_view>

namespace qlir::persister {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Name written in every line ("persister" unless main sets another).
void SetLogProcessName(std::string_view name);
// Lines below this level are not written (default kInfo).
void SetLogLevel(LogLevel level);

// `key` is the composite key the event is about, or empty.
void Log(LogLevel level, std::string_view key, std::string_view message);

inline void LogInfo(std::string_view message) { Log(LogLevel::kInfo, {}, message); }
inline void LogWarning(std::string_view message) { Log(LogLevel::kWarning, {}, message); }
inline void LogError(std::string_view message) { Log(LogLevel::kError, {}, message); }

}  // namespace qlir::persister
