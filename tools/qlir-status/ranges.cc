#include "tools/qlir-status/ranges.h"

#include <algorithm>
#include <limits>

#include "common/endpoint.h"
#include "common/time_util.h"

namespace qlir::status_tool {

std::vector<TimeRange> MergeWindows(std::vector<TimeRange> windows) {
  std::sort(windows.begin(), windows.end(), [](const TimeRange& a, const TimeRange& b) {
    return a.start_ms != b.start_ms ? a.start_ms < b.start_ms : a.end_ms < b.end_ms;
  });
  std::vector<TimeRange> out;
  for (const TimeRange& w : windows) {
    if (!out.empty()) {
      TimeRange& last = out.back();
      // end_ms + 1 would overflow only at the very end of time; such a window touches nothing.
      const bool touches =
          last.end_ms == std::numeric_limits<int64_t>::max() || w.start_ms <= last.end_ms + 1;
      if (touches) {
        last.end_ms = std::max(last.end_ms, w.end_ms);
        last.slices += w.slices;
        continue;
      }
    }
    out.push_back(w);
  }
  return out;
}

std::string FormatWindow(int64_t start_ms, int64_t end_ms, bool ids) {
  if (ids) return "ids " + std::to_string(start_ms) + " .. " + std::to_string(end_ms);
  return FormatIsoUtc(start_ms) + " .. " + FormatIsoUtc(end_ms);
}

std::string FormatRange(const TimeRange& r, bool ids) {
  return FormatWindow(r.start_ms, r.end_ms, ids) + " (" + std::to_string(r.slices) +
         (r.slices == 1 ? " slice)" : " slices)");
}

std::string FormatPoint(int64_t v, bool ids) {
  return ids ? "id " + std::to_string(v) : FormatIsoUtc(v);
}

bool IsIdAxis(const std::string& endpoint) {
  const Endpoint* e = FindEndpoint(endpoint);
  return e && e->axis() == Endpoint::Axis::kId;
}

}  // namespace qlir::status_tool
