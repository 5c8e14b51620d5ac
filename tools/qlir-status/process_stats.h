// The processes' counters, read from the stats files they rewrite every 2 s (common/stats.h):
// `qlir-status --stats-dir DIR` (scripts/start-data-server writes them to <run-dir>/stats).
// The planner's file also carries the counters of every fetcher that talks to it, remote ones
// included; a fetcher with its own file in DIR is shown once, from its own file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace qlir::status_tool {

struct ProcessStats {
  std::string process;  // planner, persister, fetcher
  std::string id;
  std::string source;  // the file it came from; for a fetcher known via the planner, "planner"
  int64_t pid = 0;     // 0 when unknown
  std::string host;
  int64_t updated_at_ms = 0;
  nlohmann::json counters = nlohmann::json::object();
};

struct ProcessStatsReport {
  std::filesystem::path dir;
  std::vector<ProcessStats> processes;  // planner, persister, then fetchers by id
  std::vector<std::string> errors;      // unreadable files, each naming its file
};

// Reads every *.json in `dir`. A missing or unreadable directory is an error; a bad file is
// listed in `errors` and skipped.
Result<ProcessStatsReport> ReadProcessStats(const std::filesystem::path& dir);

// A section for the status text: one block per process, its counters as name=value (bytes
// human-readable), "stale" when not updated for 30 s (stopped or hung).
std::string RenderProcessStatsText(const ProcessStatsReport& report, int64_t now_ms);
nlohmann::ordered_json ProcessStatsJson(const ProcessStatsReport& report, int64_t now_ms);

inline constexpr int64_t kStaleAfterMs = 30000;

}  // namespace qlir::status_tool
