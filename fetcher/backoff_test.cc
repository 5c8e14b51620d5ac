#include "fetcher/backoff.h"

#include <catch2/catch.hpp>
#include <set>

using namespace qlir::fetcher;

TEST_CASE("backoff doubles up to the cap, with jitter between d/2 and d", "[backoff]") {
  Backoff b(100, 1000, 42);
  CHECK(b.CeilingMs(1) == 100);
  CHECK(b.CeilingMs(2) == 200);
  CHECK(b.CeilingMs(4) == 800);
  CHECK(b.CeilingMs(5) == 1000);
  CHECK(b.CeilingMs(60) == 1000);  // no overflow
  for (int retry = 1; retry <= 10; ++retry) {
    std::set<int64_t> seen;
    for (int i = 0; i < 200; ++i) {
      int64_t d = b.DelayMs(retry);
      CHECK(d >= b.CeilingMs(retry) / 2);
      CHECK(d <= b.CeilingMs(retry));
      seen.insert(d);
    }
    CHECK(seen.size() > 10);  // jittered, not a constant
  }
}

TEST_CASE("zero backoff is allowed (tests)", "[backoff]") {
  Backoff b(0, 0, 1);
  CHECK(b.DelayMs(1) == 0);
  CHECK(b.DelayMs(9) == 0);
}
