// Merging slice windows into time ranges for qlir-status (tools/qlir-status/README.md).
// A window is a slice's [start_ms, end_ms], both inclusive open times, as in a composite key
// (docs/on-disk-format.md, "Slice keys"). Adjacent windows (next.start == prev.end + 1) and
// overlapping ones merge into one range, which counts the slices it holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qlir::status_tool {

struct TimeRange {
  int64_t start_ms = 0;  // inclusive
  int64_t end_ms = 0;    // inclusive
  int64_t slices = 1;    // how many slice windows the range holds
  friend bool operator==(const TimeRange&, const TimeRange&) = default;
};

// Sorts `windows` by start and merges adjacent or overlapping ones, summing their slice counts.
// REQUIRES: start_ms <= end_ms in every window.
std::vector<TimeRange> MergeWindows(std::vector<TimeRange> windows);

// "2021-01-01T00:00:00Z .. 2021-01-01T16:39:59Z (3 slices)": UTC, second precision, both ends
// inclusive. With `ids` (an endpoint on the id axis, Endpoint::Axis::kId: aggTrades), the
// numbers are item ids: "ids 26000 .. 28999 (3 slices)".
std::string FormatRange(const TimeRange& r, bool ids = false);

// "2021-01-01T00:00:00Z .. 2021-01-01T16:39:59Z" (or "ids 26000 .. 26999") without the count.
std::string FormatWindow(int64_t start_ms, int64_t end_ms, bool ids = false);

// One point of a series' axis: "2021-01-01T00:00:00Z", or "id 26000" with `ids`.
std::string FormatPoint(int64_t v, bool ids);

// True when the series of endpoint `endpoint` counts ids, not time (Endpoint::axis()).
bool IsIdAxis(const std::string& endpoint);

}  // namespace qlir::status_tool
