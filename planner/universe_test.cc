#include "planner/universe.h"

#include <catch2/catch.hpp>

namespace qlir::planner {
namespace {

constexpr int64_t kMinuteSpan = 60000LL * 1000;  // one 1m slice

TEST_CASE("Universe covers the grid slices of start to end") {
  Universe u;
  // 2021-01-01T00:00Z = 1609459200000; grid slice 26824 starts there for 1m.
  auto s = u.AddSeries("BTCUSDT", "1m", 1609459200000, 1609459200000 + 3 * kMinuteSpan);
  REQUIRE(s.ok());
  CHECK(u.size(*s) == 4);
  CHECK(u.first_index(*s) == 1609459200000 / kMinuteSpan);
  CHECK(u.counts(*s).pending == 4);
  const SliceRef first{*s, u.first_index(*s)};
  CHECK(u.Key(first) == "BTCUSDT:1m:" + std::to_string(first.index * kMinuteSpan) + "-" +
                            std::to_string((first.index + 1) * kMinuteSpan - 1) + ":1000");
  CHECK(u.Find(u.Key(first)) == first);
}

TEST_CASE("Universe rejects bad series and names them") {
  Universe u;
  CHECK(!u.AddSeries("BTCUSDT", "1M", 0, 1).ok());
  auto r = u.AddSeries("BTCUSDT", "1m", 5, 1);
  REQUIRE(!r.ok());
  CHECK(r.error().find("BTCUSDT/1m") != std::string::npos);
  REQUIRE(u.AddSeries("BTCUSDT", "1m", 0, 1).ok());
  CHECK(!u.AddSeries("BTCUSDT", "1m", 0, 1).ok());
}

TEST_CASE("Universe::Find refuses keys that are not ours") {
  Universe u;
  auto s = u.AddSeries("BTCUSDT", "1m", kMinuteSpan * 10, kMinuteSpan * 12);
  REQUIRE(s.ok());
  CHECK(!u.Find("garbage"));
  CHECK(!u.Find("ETHUSDT:1m:600000000-659999999:1000"));  // other series
  CHECK(!u.Find("BTCUSDT:1m:0-59999999:1000"));           // before the range
  CHECK(!u.Find("BTCUSDT:1m:600000001-660000000:1000"));  // off the grid
  CHECK(!u.Find("BTCUSDT:1m:600000000-659999999:999"));   // other limit
  CHECK(u.Find("BTCUSDT:1m:600000000-659999999:1000") == SliceRef{*s, 10});
}

TEST_CASE("Universe diff: statuses from the persister - counts - compact cells") {
  Universe u;
  auto s = u.AddSeries("BTCUSDT", "1m", 0, 9 * kMinuteSpan);
  REQUIRE(s.ok());
  std::vector<wire::SliceState> known = {
      {u.Key({*s, 0}), "ok"},    {u.Key({*s, 1}), "failed"},           {u.Key({*s, 2}), "partial"},
      {u.Key({*s, 3}), "ok"},    {"ETHUSDT:1m:0-59999999:1000", "ok"},  // other series: skipped
      {u.Key({*s, 4}), "bogus"},                                        // bad status: skipped
  };
  int64_t skipped = 0;
  u.ApplyStatuses(*s, known, &skipped);
  CHECK(skipped == 2);
  CHECK(u.counts(*s).ok == 2);
  CHECK(u.counts(*s).failed == 1);
  CHECK(u.counts(*s).partial == 1);
  CHECK(u.counts(*s).pending == 6);
  CHECK(u.status({*s, 1}) == SliceStatus::kFailed);
  CHECK(u.status({*s, 4}) == SliceStatus::kPending);
  // State bits are independent of status bits.
  u.set_state({*s, 1}, SliceState::kDelayed);
  CHECK(u.status({*s, 1}) == SliceStatus::kFailed);
  u.set_status({*s, 1}, SliceStatus::kOk);
  CHECK(u.state({*s, 1}) == SliceState::kDelayed);
  CHECK(u.counts(*s).ok == 3);
  CHECK(u.counts(*s).failed == 0);
}

TEST_CASE("Universe grows at the tail as time passes") {
  Universe u;
  auto s = u.AddSeries("BTCUSDT", "1s", 0, 999);  // one 1s slice: 1000 s
  REQUIRE(s.ok());
  CHECK(u.size(*s) == 1);
  auto [first, added] = u.ExtendTo(*s, 1000 * 1000 - 1);
  CHECK(added == 0);
  std::tie(first, added) = u.ExtendTo(*s, 3 * 1000 * 1000);
  CHECK(first == 1);
  CHECK(added == 3);
  CHECK(u.size(*s) == 4);
  CHECK(u.counts(*s).pending == 4);
  CHECK(u.IsOpen({*s, 3}, 3 * 1000 * 1000 + 5));
  CHECK(!u.IsOpen({*s, 2}, 3 * 1000 * 1000));
}

TEST_CASE("Universe of 10 symbols x 1s since 2022 stays compact") {
  Universe u;
  const int64_t start = 1640995200000;  // 2022-01-01
  const int64_t end = 1795000000000;    // late 2026
  for (int i = 0; i < 10; ++i) {
    REQUIRE(u.AddSeries("SYM" + std::to_string(i) + "USDT", "1s", start, end).ok());
  }
  CHECK(u.total_size() > 1500000);
  auto r = u.Find(u.Key({7, u.first_index(7) + 12345}));
  REQUIRE(r);
  CHECK(r->index == u.first_index(7) + 12345);
}

}  // namespace
}  // namespace qlir::planner
