// The plan printed before a run: what the planner is about to do, in figures a user can weigh
// before spending hours of the IP's budget and gigabytes of disk. Made once every series'
// stored statuses are known (slices already ok are not counted), logged as "plan" lines, and
// the whole output of `planner --plan-only`.
// Plain functions fed figures (no sockets, no clock): see plan_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qlir::planner {

// Raw klines rows are about 160 bytes of JSON each (a 1000-row slice file is ~160 KB).
inline constexpr int64_t kEstimatedBytesPerItem = 160;
// The exchange's default per-IP budget for the spot REST API (weight per minute).
inline constexpr int64_t kDefaultWeightPerMinute = 6000;

struct PlanSeries {
  std::string name;      // BTCUSDT/1m
  int64_t slices = 0;    // in the range
  int64_t to_fetch = 0;  // not stored ok yet
  int64_t items_per_slice = 0;
};

struct PlanInput {
  std::vector<PlanSeries> series;
  int64_t request_weight = 1;                           // per slice request
  int64_t weight_per_minute = kDefaultWeightPerMinute;  // the budget the time estimate assumes
  int64_t bytes_per_item = kEstimatedBytesPerItem;
  std::string data_root;              // empty: unknown (no free-space check)
  std::optional<int64_t> free_bytes;  // of data_root's file system
};

struct Plan {
  int64_t series = 0;
  int64_t slices = 0;
  int64_t to_fetch = 0;
  int64_t requests = 0;  // one per slice to fetch (retries come on top)
  int64_t weight = 0;
  int64_t duration_ms = 0;  // at weight_per_minute, the whole budget
  int64_t disk_bytes = 0;   // of the slices to fetch
  bool exceeds_free_space = false;
};

Plan MakePlan(const PlanInput& in);
// "plan: ..." (INFO) lines: the totals, then one line per series with something to fetch (at
// most `max_series_lines`, then "and N more").
std::vector<std::string> PlanLines(const PlanInput& in, const Plan& plan,
                                   size_t max_series_lines = 20);
// The WARN line when the estimate exceeds the data root's free space, else empty.
std::string PlanWarning(const PlanInput& in, const Plan& plan);

// Free bytes for an unprivileged writer on the file system holding `dir`; nullopt if unknown.
std::optional<int64_t> FreeBytes(const std::string& dir);
// "95.3 GB", "160.0 KB", "12 B" (powers of 1000, as disks are sold).
std::string FormatBytes(int64_t bytes);

}  // namespace qlir::planner
