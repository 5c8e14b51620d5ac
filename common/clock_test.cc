#include "common/clock.h"

#include <catch2/catch.hpp>
#include <thread>

namespace qlir {

TEST_CASE("manual clock moves only when told, and a sleep advances it") {
  ManualClock c(1000);
  CHECK(c.MonotonicNowMs() == 1000);
  CHECK(c.WallNowMs() == 1000);
  c.Advance(5);
  CHECK(c.MonotonicNowMs() == 1005);
  CHECK(c.SleepMs(20));
  CHECK(c.WallNowMs() == 1025);
  CHECK(c.SleepMs(0));
  CHECK(c.sleeps() == std::vector<int64_t>{20, 0});
  c.Set(7);
  CHECK(c.MonotonicNowMs() == 7);
}

TEST_CASE("manual clock: a stop ends every sleep") {
  ManualClock c(0);
  c.RequestStop();
  CHECK(c.StopRequested());
  CHECK(!c.SleepMs(10));
  CHECK(c.WallNowMs() == 0);
}

TEST_CASE("real clock: a stop wakes a sleeper in another thread") {
  RealClock c;
  CHECK(c.WallNowMs() > 1'600'000'000'000);  // after 2020
  const int64_t m = c.MonotonicNowMs();
  CHECK(c.MonotonicNowMs() >= m);
  bool slept = true;
  std::thread t([&] { slept = c.SleepMs(3'600'000); });  // an hour, unless woken
  c.RequestStop();
  t.join();
  CHECK(!slept);
  CHECK(!c.SleepMs(1));
}

}  // namespace qlir
