#include "planner/plan.h"

#include <catch2/catch.hpp>

namespace qlir::planner {
namespace {

TEST_CASE("Plan: the README's first command in figures") {
  // BTCUSDT and ETHUSDT, 1m and 1s, from their listings (2017-08-17) to late 2026: the figures
  // the issue reported (595,870 slices, ~3.3 h of the whole budget, ~95 GB).
  PlanInput in;
  in.series = {{"BTCUSDT/1m", 4885, 4885, 1000},
               {"BTCUSDT/1s", 293100, 293100, 1000},
               {"ETHUSDT/1m", 4885, 4885, 1000},
               {"ETHUSDT/1s", 293000, 293000, 1000}};
  in.request_weight = 2;
  in.data_root = "/data";
  in.free_bytes = 50'000'000'000;
  const Plan p = MakePlan(in);
  CHECK(p.series == 4);
  CHECK(p.slices == 595870);
  CHECK(p.requests == 595870);
  CHECK(p.weight == 1191740);
  CHECK(p.duration_ms == 199 * 60000);  // 198.6 minutes of 6000 weight
  CHECK(p.disk_bytes == 595870LL * 1000 * 160);
  CHECK(p.exceeds_free_space);
  auto lines = PlanLines(in, p);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] ==
        "plan: 4 series, 595870 slices in range, 595870 to fetch: 595870 requests (weight "
        "1191740), about 3h19m at 6000 weight/min, about 95.3 GB on disk (50.0 GB free in /data)");
  CHECK(lines[1] == "plan BTCUSDT/1m: 4885 of 4885 slices to fetch, about 781.6 MB");
  CHECK(PlanWarning(in, p) ==
        "plan: about 95.3 GB to store but only 50.0 GB free in /data: the data root will fill up "
        "before the run is complete");
}

TEST_CASE("Plan: a resume counts only what is missing and series lines are capped") {
  PlanInput in;
  for (int i = 0; i < 30; ++i) in.series.push_back({"S" + std::to_string(i) + "/1d", 10, 0, 1000});
  in.series[3].to_fetch = 4;
  in.series[7].to_fetch = 1;
  in.weight_per_minute = 3;
  const Plan p = MakePlan(in);
  CHECK(p.slices == 300);
  CHECK(p.to_fetch == 5);
  CHECK(p.duration_ms == 2 * 60000);
  CHECK(!p.exceeds_free_space);  // free space unknown: no warning
  CHECK(PlanWarning(in, p).empty());
  auto lines = PlanLines(in, p, 1);
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].find("plan S3/1d: 4 of 10") == 0);
  CHECK(lines[2] == "plan: and 1 more series to fetch");
  CHECK(FormatBytes(999) == "999 B");
  CHECK(FormatBytes(1500) == "1.5 KB");
  CHECK(FreeBytes("/").has_value());
  CHECK(!FreeBytes("/no/such/dir").has_value());
}

}  // namespace
}  // namespace qlir::planner
