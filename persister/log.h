// The persister's log calls: common/log.h.
#pragma once

#include <string_view>

#include "common/log.h"

namespace qlir::persister {

using qlir::Log;
using qlir::LogLevel;
using qlir::SetLogJson;
using qlir::SetLogLevel;

void SetLogProcessName(std::string_view name);  // adds "[pid]"
inline void LogInfo(std::string_view message) { Log(LogLevel::kInfo, {}, message); }
inline void LogWarning(std::string_view message) { Log(LogLevel::kWarning, {}, message); }
inline void LogError(std::string_view message) { Log(LogLevel::kError, {}, message); }

}  // namespace qlir::persister
