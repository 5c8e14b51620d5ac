#include "planner/plan.h"

#include <sys/statvfs.h>

#include <cstdio>

#include "planner/progress.h"

namespace qlir::planner {

Plan MakePlan(const PlanInput& in) {
  Plan p;
  p.series = static_cast<int64_t>(in.series.size());
  for (const PlanSeries& s : in.series) {
    p.slices += s.slices;
    p.to_fetch += s.to_fetch;
    p.disk_bytes += s.to_fetch * s.items_per_slice * in.bytes_per_item;
  }
  p.requests = p.to_fetch;
  p.weight = p.requests * in.request_weight;
  const int64_t per_minute = in.weight_per_minute > 0 ? in.weight_per_minute : 1;
  // Whole minutes of budget, rounded up: the exchange counts weight per minute window.
  p.duration_ms = (p.weight + per_minute - 1) / per_minute * 60000;
  p.exceeds_free_space = in.free_bytes && p.disk_bytes > *in.free_bytes;
  return p;
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 1000) return std::to_string(bytes < 0 ? 0 : bytes) + " B";
  static const char* const kUnits[] = {"KB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes) / 1000.0;
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

std::vector<std::string> PlanLines(const PlanInput& in, const Plan& p, size_t max_series_lines) {
  std::vector<std::string> lines;
  std::string head = "plan: " + std::to_string(p.series) + " series, " + std::to_string(p.slices) +
                     " slices in range, " + std::to_string(p.to_fetch) +
                     " to fetch: " + std::to_string(p.requests) + " requests (weight " +
                     std::to_string(p.weight) + "), about " + FormatDuration(p.duration_ms) +
                     " at " + std::to_string(in.weight_per_minute) + " weight/min, about " +
                     FormatBytes(p.disk_bytes) + " on disk";
  if (in.free_bytes) {
    head += " (" + FormatBytes(*in.free_bytes) + " free in " + in.data_root + ")";
  }
  lines.push_back(std::move(head));
  size_t shown = 0, more = 0;
  for (const PlanSeries& s : in.series) {
    if (s.to_fetch == 0) continue;
    if (shown == max_series_lines) {
      ++more;
      continue;
    }
    ++shown;
    lines.push_back("plan " + s.name + ": " + std::to_string(s.to_fetch) + " of " +
                    std::to_string(s.slices) + " slices to fetch, about " +
                    FormatBytes(s.to_fetch * s.items_per_slice * in.bytes_per_item));
  }
  if (more) lines.push_back("plan: and " + std::to_string(more) + " more series to fetch");
  return lines;
}

std::string PlanWarning(const PlanInput& in, const Plan& p) {
  if (!p.exceeds_free_space) return {};
  return "plan: about " + FormatBytes(p.disk_bytes) + " to store but only " +
         FormatBytes(*in.free_bytes) + " free in " + in.data_root +
         ": the data root will fill up before the run is complete";
}

std::optional<int64_t> FreeBytes(const std::string& dir) {
  if (dir.empty()) return std::nullopt;
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

}  // namespace qlir::planner
