#include "planner/progress.h"

#include <catch2/catch.hpp>

#include "planner/clock.h"

namespace qlir::planner {
namespace {

TEST_CASE("ProgressMeter: rate over the window and ETA") {
  ManualClock clock;
  ProgressMeter m(10000);
  CHECK(m.RatePerSec() == 0);
  CHECK(!m.EtaMs(10));
  m.Sample(clock.NowMs(), 0);
  clock.Advance(1000);
  m.Sample(clock.NowMs(), 10);
  CHECK(m.RatePerSec() == Approx(10.0));
  CHECK(m.EtaMs(50) == 5000);
  CHECK(m.EtaMs(0) == 0);
  // A later, slower stretch: the old fast second leaves the window.
  for (int i = 0; i < 20; ++i) {
    clock.Advance(1000);
    m.Sample(clock.NowMs(), 10 + 2 * (i + 1));
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

}  // namespace
}  // namespace qlir::planner
