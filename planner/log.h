// The planner's log calls: common/log.h with the key inside the message text.
#pragma once

#include <string_view>

#include "common/log.h"

namespace qlir::planner {

using qlir::LogLevel;
using qlir::SetLogJson;
using qlir::SetLogLevel;
using qlir::SetLogSink;

inline void Log(LogLevel level, std::string_view message) { qlir::Log(level, {}, message); }
inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(std::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

}  // namespace qlir::planner
