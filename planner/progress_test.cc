#include "planner/progress.h"

#include <catch2/catch.hpp>

#include "common/clock.h"

namespace qlir::planner {
namespace {

TEST_CASE("ProgressMeter: rate over the window and ETA") {
  ManualClock clock;
  ProgressMeter m(10000);
  CHECK(m.RatePerSec() == 0);
  CHECK(!m.EtaMs(10));
  m.Sample(clock.MonotonicNowMs(), 0);
  clock.Advance(1000);
  m.Sample(clock.MonotonicNowMs(), 10);
  CHECK(m.RatePerSec() == Approx(10.0));
  CHECK(m.EtaMs(50) == 5000);
  CHECK(m.EtaMs(0) == 0);
  // A later, slower stretch: the old fast second leaves the window.
  for (int i = 0; i < 20; ++i) {
    clock.Advance(1000);
    m.Sample(clock.MonotonicNowMs(), 10 + 2 * (i + 1));
  }
  CHECK(m.RatePerSec() == Approx(2.0));
}

TEST_CASE("ProgressMeter: no progress means no ETA") {
  ProgressMeter m(10000);
  m.Sample(0, 5);
  m.Sample(5000, 5);
  CHECK(m.RatePerSec() == 0);
  CHECK(!m.EtaMs(3));
}

TEST_CASE("Progress line and durations") {
  CHECK(FormatDuration(0) == "0s");
  CHECK(FormatDuration(42000) == "42s");
  CHECK(FormatDuration(185000) == "3m05s");
  CHECK(FormatDuration(3720000) == "1h02m");
  CHECK(FormatDuration(183600000) == "2d03h");
  ProgressFigures f{"BTCUSDT/1m", 1200, 1500, 2, 4, 12.34, 24000};
  CHECK(FormatProgressLine(f) ==
        "progress BTCUSDT/1m 1200/1500 (80.0%) failed=2 leased=4 rate=12.3/s eta=24s");
  f.eta_ms.reset();
  CHECK(FormatProgressLine(f).find("eta=?") != std::string::npos);
  f.done = 1500;
  CHECK(FormatProgressLine(f).find("eta=0s") != std::string::npos);
}

TEST_CASE("RunProgress: one line for the run, a line per series only when it changed") {
  RunProgress p(2, 60000);
  std::vector<SeriesProgress> s = {{"A/1m", false, 0, 100, 0, 0}, {"B/1m", false, 0, 50, 0, 0}};
  auto lines = p.Lines(0, s);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] ==
        "progress all 0/150 (0.0%) failed=0 leased=0 rate=0.0/s eta=? series=0/2 complete, 2 "
        "waiting for the persister's statuses");
  CHECK(lines[1] == "progress A/1m waiting for the persister's statuses");
  // Nothing changed: only the run's line.
  CHECK(p.Lines(1000, s).size() == 1);
  // A resume: A had 80 slices stored, B none. They count as done, never in the rate.
  s[0].ready = s[1].ready = true;
  s[0].done = 80;
  p.OnSnapshot(0, 2000, 80);
  p.OnSnapshot(1, 2000, 0);
  lines = p.Lines(2000, s);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("progress all 80/150 (53.3%)") == 0);
  CHECK(lines[0].find("rate=0.0/s eta=?") != std::string::npos);
  // 10 s later 10 more of B are done: 1/s, 60 left, so 60 s (not the 80 already stored).
  s[1].done = 10;
  lines = p.Lines(12000, s);
  REQUIRE(lines.size() == 2);  // A did not change
  CHECK(lines[0].find("progress all 90/150 (60.0%)") == 0);
  CHECK(lines[0].find("rate=1.0/s eta=1m00s series=0/2 complete") != std::string::npos);
  CHECK(lines[1].find("progress B/1m 10/50 (20.0%)") == 0);
  // A series failed for good counts as complete; the run's ETA leaves its slices out.
  s[0].done = 99;
  s[0].failed = 1;
  s[1].done = 50;
  lines = p.Lines(22000, s);
  CHECK(lines[0].find("series=2/2 complete") != std::string::npos);
  CHECK(lines[0].find("eta=0s") != std::string::npos);
}

}  // namespace
}  // namespace qlir::planner
