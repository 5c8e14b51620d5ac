// Process counters, and the stats file through which an operator sees them (README, "Process
// counters"). Each process keeps named counters (jobs, retries, 429s, bytes, queue depths) and,
// given --stats-file, rewrites one JSON document there every couple of seconds:
//
//   {"process": "fetcher", "id": "f1", "pid": 123, "host": "h", "started_at": "…Z",
//    "updated_at": "…Z", "counters": {"jobs_done": 10, …}, "fetchers": {…}}
//
// ("fetchers" only from the planner: the counters each fetcher, local or remote, sent in its
// HEARTBEATs). The file is replaced atomically but not fsynced: it is advisory, read by
// `qlir-status --stats-dir`, never by the pipeline itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "common/json.h"
#include "common/status.h"

namespace qlir {

using Counters = std::map<std::string, int64_t>;

class StatsFile {
 public:
  // An empty path disables the file: Maybe() and Write() then do nothing.
  StatsFile(std::filesystem::path path, std::string process, std::string id, int64_t started_ms,
            int64_t every_ms = 2000);
  StatsFile(const StatsFile&) = delete;
  StatsFile& operator=(const StatsFile&) = delete;

  bool enabled() const { return !path_.empty(); }
  // True when a write is due (every_ms since the last one).
  bool Due(int64_t now_ms) const { return enabled() && now_ms - last_write_ms_ >= every_ms_; }
  // Writes {process, id, pid, host, started_at, updated_at, counters} plus `extra`'s members.
  // A failure is logged once per kind of error and otherwise ignored: stats never stop work.
  void Write(int64_t now_ms, const Counters& counters,
             const nlohmann::json& extra = nlohmann::json::object());

 private:
  std::filesystem::path path_;
  std::string process_;
  std::string id_;
  int64_t started_ms_;
  int64_t every_ms_;
  int64_t last_write_ms_;
  std::string last_error_;
};

// Reads a stats file written by StatsFile; an error names the file (missing, not JSON, or not
// an object with "process" and "counters").
Result<nlohmann::json> ReadStatsFile(const std::filesystem::path& path);

}  // namespace qlir
