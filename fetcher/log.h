// One line per event on stderr: UTC time, level, process, slice key (or "-"), message.
//   2026-01-01T00:00:00.123Z INFO fetcher[host:123] key=BTCUSDT:1m:0-59999999:1000 fetched ...
// Thread-safe: each line is written with a single call.
#pragma once

#include <string>
#include <string_view>

namespace qlir::fetcher {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// The process name printed on every line, e.g. "fetcher[host:123]". Set once at start.
void SetLogProcess(std::string name);
// Lines below this level are dropped (default kInfo).
void SetLogLevel(LogLevel level);

void Log(LogLevel level, std::string_view key, std::string_view message);

}  // namespace qlir::fetcher
