#include "tools/exchange-sim/candles.h"

#include <catch2/catch.hpp>

#include "common/json.h"
#include "common/time_util.h"

namespace qlir::sim {
namespace {

constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 86'400'000;

int64_t T(const char* iso) { return *ParseTimeUtc(iso); }

SymbolSpec Spec() {
  SymbolSpec s;
  s.symbol = "BTCUSDT";
  s.base_asset = "BTC";
  s.quote_asset = "USDT";
  s.listing_ms = T("2020-01-01T04:00:00Z");
  s.delisting_ms = T("2021-01-01T00:00:00Z");
  s.gaps = {{T("2020-03-01T10:00:00Z"), T("2020-03-01T12:30:00Z")}};
  s.base_price = 30'000'00000000;
  s.base_volume = 50'00000000;
  return s;
}

KlinesWindow W(int64_t iv, std::optional<int64_t> start, std::optional<int64_t> end, int limit) {
  KlinesWindow w;
  w.interval_ms = iv;
  w.start_ms = start;
  w.end_ms = end;
  w.limit = limit;
  return w;
}

TEST_CASE("AppendDecimal8 prints 8 fraction digits") {
  std::string s;
  AppendDecimal8(1634790, &s);
  CHECK(s == "0.01634790");
  s.clear();
  AppendDecimal8(30'000'00000000, &s);
  CHECK(s == "30000.00000000");
  s.clear();
  AppendDecimal8(0, &s);
  CHECK(s == "0.00000000");
}

TEST_CASE("a closed candle is a pure function of symbol interval and open time") {
  const SymbolSpec spec = Spec();
  const int64_t open = T("2020-06-01T00:00:00Z");
  const Candle a = MakeCandle(spec, kMin, open, open + kMin);
  const Candle b = MakeCandle(spec, kMin, open, open + 365 * kDay);
  CHECK(a == b);
  CHECK(a.close_time == open + kMin - 1);
  CHECK(a.high >= std::max(a.open, a.close));
  CHECK(a.low <= std::min(a.open, a.close));
  CHECK(a.low > 0);
  CHECK(a.taker_buy_base <= a.volume);
  // Another symbol or interval gives other values.
  SymbolSpec eth = spec;
  eth.symbol = "ETHUSDT";
  CHECK_FALSE(MakeCandle(eth, kMin, open, open + kDay) == a);
  CHECK_FALSE(MakeCandle(spec, 5 * kMin, open, open + kDay) == a);
  // Aggregated from the trades (tape.h; tape_test.cc checks every field against them): a
  // minute of trading holds a few.
  CHECK(a.trades >= 2);
  CHECK(a.volume > 0);
}

TEST_CASE("the open candle changes with now and becomes final when closed") {
  const SymbolSpec spec = Spec();
  const int64_t open = T("2020-06-01T00:00:00Z");
  const Candle early = MakeCandle(spec, kHour, open, open + 60'000);
  const Candle later = MakeCandle(spec, kHour, open, open + 1'800'000);
  const Candle closed = MakeCandle(spec, kHour, open, open + kHour);
  CHECK(early.open == later.open);
  CHECK(early.volume < later.volume);
  CHECK(later.volume < closed.volume);
  CHECK(early.close_time == open + kHour - 1);
  CHECK(closed == MakeCandle(spec, kHour, open, open + 10 * kHour));
}

TEST_CASE("window rules: start only end only both neither") {
  const SymbolSpec spec = Spec();
  const int64_t now = T("2020-06-01T12:34:56Z");
  const int64_t t0 = T("2020-05-01T00:00:00Z");

  std::vector<int64_t> v = SelectOpenTimes(spec, W(kMin, t0, std::nullopt, 3), now);
  CHECK(v == std::vector<int64_t>{t0, t0 + kMin, t0 + 2 * kMin});
  // startTime inside a candle: that candle is not returned.
  v = SelectOpenTimes(spec, W(kMin, t0 + 1, std::nullopt, 2), now);
  CHECK(v == std::vector<int64_t>{t0 + kMin, t0 + 2 * kMin});
  // endTime inclusive on open time.
  v = SelectOpenTimes(spec, W(kMin, t0, t0 + 2 * kMin, 1000), now);
  CHECK(v == std::vector<int64_t>{t0, t0 + kMin, t0 + 2 * kMin});
  v = SelectOpenTimes(spec, W(kMin, t0, t0, 1000), now);
  CHECK(v == std::vector<int64_t>{t0});
  // endTime only: the newest `limit` at or before it.
  v = SelectOpenTimes(spec, W(kMin, std::nullopt, t0 + 2 * kMin + 5, 2), now);
  CHECK(v == std::vector<int64_t>{t0 + kMin, t0 + 2 * kMin});
  // Neither: the newest ones, including the open candle.
  v = SelectOpenTimes(spec, W(kMin, std::nullopt, std::nullopt, 2), now);
  const int64_t open_now = T("2020-06-01T12:34:00Z");
  CHECK(v == std::vector<int64_t>{open_now - kMin, open_now});
  // Nothing after now, even when asked for.
  v = SelectOpenTimes(spec, W(kMin, open_now - kMin, open_now + kDay, 1000), now);
  CHECK(v == std::vector<int64_t>{open_now - kMin, open_now});
  // A full window: exactly `limit` candles, ascending, on the grid.
  v = SelectOpenTimes(spec, W(kMin, t0, t0 + 1000 * kMin - 1, 1000), now);
  REQUIRE(v.size() == 1000);
  CHECK(v.back() == t0 + 999 * kMin);
}

TEST_CASE("listing delisting and gaps") {
  const SymbolSpec spec = Spec();
  const int64_t now = T("2022-01-01T00:00:00Z");
  // startTime=0&limit=1 returns the first candle; for 1d it opens at the day's start.
  CHECK(SelectOpenTimes(spec, W(kMin, 0, std::nullopt, 1), now) ==
        std::vector<int64_t>{spec.listing_ms});
  CHECK(SelectOpenTimes(spec, W(kDay, 0, std::nullopt, 1), now) ==
        std::vector<int64_t>{T("2020-01-01T00:00:00Z")});
  // A window wholly before listing or after delisting is empty.
  CHECK(SelectOpenTimes(spec, W(kMin, 0, spec.listing_ms - 1, 1000), now).empty());
  CHECK(SelectOpenTimes(spec, W(kMin, *spec.delisting_ms, std::nullopt, 1000), now).empty());
  // Neither bound after delisting: the newest candles before the delisting.
  CHECK(SelectOpenTimes(spec, W(kHour, std::nullopt, std::nullopt, 1), now) ==
        std::vector<int64_t>{*spec.delisting_ms - kHour});
  // 1m candles inside the gap are absent; the 1h candle spanning part of it exists.
  const int64_t g0 = spec.gaps[0].start_ms;
  const int64_t g1 = spec.gaps[0].end_ms;
  std::vector<int64_t> v = SelectOpenTimes(spec, W(kMin, g0 - kMin, std::nullopt, 3), now);
  CHECK(v == std::vector<int64_t>{g0 - kMin, g1, g1 + kMin});
  v = SelectOpenTimes(spec, W(kMin, std::nullopt, g1, 2), now);
  CHECK(v == std::vector<int64_t>{g0 - kMin, g1});
  CHECK(SelectOpenTimes(spec, W(kMin, g0, g1 - 1, 1000), now).empty());
  v = SelectOpenTimes(spec, W(kHour, g0 - kHour, std::nullopt, 4), now);
  CHECK(v ==
        std::vector<int64_t>{g0 - kHour, g1 - 1'800'000, g1 + 1'800'000, g1 + 1'800'000 + kHour});
  CHECK_FALSE(CandleExists(spec, kMin, g0));
  CHECK(CandleExists(spec, kDay, T("2020-03-01T00:00:00Z")));
}

TEST_CASE("weekly candles open on Mondays") {
  const int64_t week = 7 * kDay;
  CHECK(AlignDown(T("2017-07-05T12:00:00Z"), week) == T("2017-07-03T00:00:00Z"));
  CHECK(AlignUp(T("2017-07-03T00:00:00Z"), week) == T("2017-07-03T00:00:00Z"));
  CHECK(AlignUp(T("2017-07-03T00:00:00.001Z"), week) == T("2017-07-10T00:00:00Z"));
  CHECK(AlignDown(-1, kMin) == -kMin);
}

TEST_CASE("klines JSON has the exchange's 12 fields and types compact") {
  const SymbolSpec spec = Spec();
  const int64_t now = T("2020-06-01T12:34:56Z");
  Result<std::string> body = KlinesJson(spec, "1m", std::nullopt, std::nullopt, 3, now);
  REQUIRE(body.ok());
  CHECK(body->find(' ') == std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(*body);
  REQUIRE(j.size() == 3);
  for (const auto& k : j) {
    REQUIRE(k.size() == 12);
    CHECK(k[0].is_number_integer());
    for (int i : {1, 2, 3, 4, 5, 7, 9, 10, 11}) CHECK(k[i].is_string());
    CHECK(k[6].get<int64_t>() == k[0].get<int64_t>() + kMin - 1);
    CHECK(k[8].is_number_integer());
    CHECK(k[11] == "0");
    CHECK(k[1].get<std::string>().size() - k[1].get<std::string>().find('.') == 9);
  }
  CHECK(KlinesJson(spec, "1x", std::nullopt, std::nullopt, 3, now).error().find("1x") !=
        std::string::npos);
  CHECK_FALSE(KlinesJson(spec, "1m", std::nullopt, std::nullopt, 1001, now).ok());
  CHECK(*KlinesJson(spec, "1m", 0, 1, 5, now) == "[]");
}

TEST_CASE("huge times do not overflow") {
  const SymbolSpec spec = Spec();
  const int64_t now = T("2022-01-01T00:00:00Z");
  CHECK(SelectOpenTimes(spec, W(kMin, INT64_MAX, INT64_MAX, 5), now).empty());
  CHECK(SelectOpenTimes(spec, W(7 * kDay, std::nullopt, INT64_MAX, 1), now).size() == 1);
}

}  // namespace
}  // namespace qlir::sim
