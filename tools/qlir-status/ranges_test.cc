#include "tools/qlir-status/ranges.h"

#include <catch2/catch.hpp>

namespace qlir::status_tool {
namespace {

constexpr int64_t kSpan = 60000000;  // one 1m slice
TimeRange Slice(int64_t k) { return {k * kSpan, (k + 1) * kSpan - 1, 1}; }

TEST_CASE("MergeWindows merges adjacent windows and keeps gaps", "[ranges]") {
  // Out of order on purpose: the caller's order does not matter.
  auto merged = MergeWindows({Slice(5), Slice(1), Slice(2), Slice(3), Slice(7)});
  REQUIRE(merged.size() == 3);
  CHECK(merged[0] == TimeRange{1 * kSpan, 4 * kSpan - 1, 3});
  CHECK(merged[1] == TimeRange{5 * kSpan, 6 * kSpan - 1, 1});
  CHECK(merged[2] == TimeRange{7 * kSpan, 8 * kSpan - 1, 1});
}

TEST_CASE("MergeWindows sums counts of multi-slice windows and absorbs overlaps", "[ranges]") {
  auto merged = MergeWindows({{0, 3 * kSpan - 1, 3}, Slice(3), {10, 20, 1}});
  REQUIRE(merged.size() == 1);
  CHECK(merged[0] == TimeRange{0, 4 * kSpan - 1, 5});
  CHECK(MergeWindows({}).empty());
}

TEST_CASE("FormatRange prints inclusive UTC ends and the slice count", "[ranges]") {
  // 1609459200000 = 2021-01-01T00:00:00Z.
  CHECK(FormatRange({1609459200000, 1609459200000 + 2 * kSpan - 1, 2}) ==
        "2021-01-01T00:00:00Z .. 2021-01-02T09:19:59Z (2 slices)");
  CHECK(FormatRange({1609459200000, 1609459200000 + kSpan - 1, 1}) ==
        "2021-01-01T00:00:00Z .. 2021-01-01T16:39:59Z (1 slice)");
}

}  // namespace
}  // namespace qlir::status_tool
