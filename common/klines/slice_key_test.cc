#include "common/klines/slice_key.h"

#include <catch2/catch.hpp>
#include <random>

using namespace qlir::klines;

TEST_CASE("composite key has the documented form and round-trips", "[slice_key]") {
  KlineSliceKey k{"BTCUSDT", "1m", 1609459200000, 1609465199999, 1000};
  CHECK(k.composite_key() == "BTCUSDT:1m:1609459200000-1609465199999:1000");
  CHECK(k.slice_id() == "08014f774df4dcb1257ea1efbc3b3eae");
  auto p = ParseCompositeKey(k.composite_key());
  REQUIRE(p.ok());
  CHECK(*p == k);
  KlineSliceKey u{"\xe5\xb8\x81USDT", "1s", 0, 999999, 1000};
  auto pu = ParseCompositeKey(u.composite_key());
  REQUIRE(pu.ok());
  CHECK(*pu == u);
}

TEST_CASE("malformed composite keys are rejected", "[slice_key]") {
  for (const char* bad : {"",
                          "BTCUSDT",
                          "BTCUSDT:1m",
                          "BTCUSDT:1m:1-2",
                          ":1m:1-2:1000",
                          "BTCUSDT:1M:1-2:1000",
                          "BTCUSDT:1m:2-1:1000",
                          "BTCUSDT:1m:01-2:1000",
                          "BTCUSDT:1m:+1-2:1000",
                          "BTCUSDT:1m:-1-2:1000",
                          "BTCUSDT:1m:1-2:1001",
                          "BTCUSDT:1m:1-2:0",
                          "BTCUSDT:1m:1-2:1000 ",
                          "BTCUSDT:1m:1 -2:1000",
                          "BTCUSDT:1m:1_2:1000",
                          "BTC/USDT:1m:1-2:1000",
                          "../x:1m:1-2:1000",
                          "BTCUSDT:1m:1-99999999999999999999:1000",
                          "BTCUSDT:1m:1-2:",
                          "BTCUSDT::1-2:1000"}) {
    INFO(bad);
    auto r = ParseCompositeKey(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("composite key"));
  }
}

TEST_CASE("slices sit on the global grid whatever the start", "[slicing]") {
  // 1m: span = 60,000,000 ms; slice 26824 starts at 1609440000000 (the example of
  // docs/on-disk-format.md key 1609459200000-1609465199999 has the right form but is not on the
  // epoch grid).
  auto a = GenerateKlineSlices("BTCUSDT", "1m", 1609459200000, 1609465199999);
  REQUIRE(a.ok());
  REQUIRE(a->size() == 1);
  CHECK(a->front().composite_key() == "BTCUSDT:1m:1609440000000-1609499999999:1000");

  // Another start inside the same slice yields the same slice; the set does not depend on it.
  auto b = GenerateKlineSlices("BTCUSDT", "1m", 1609440000000 + 12345, 1609499999999 + 1);
  REQUIRE(b.ok());
  REQUIRE(b->size() == 2);
  CHECK(b->front() == a->front());
  CHECK(b->back().start_ms == 1609500000000);
  CHECK(b->back().end_ms == 1609559999999);
  // 1s: span 1,000,000 ms.
  auto c = GenerateKlineSlices("ETHUSDT", "1s", 1700000000000, 1700000999999);
  REQUIRE(c->size() == 1);
  CHECK(c->front().composite_key() == "ETHUSDT:1s:1700000000000-1700000999999:1000");
  CHECK(c->front().slice_id() == "914b2c8baafd10c40eca3e5b9e130201");
}

TEST_CASE("slices never overlap, leave no holes, and cover the range", "[slicing]") {
  std::mt19937_64 rng(42);
  for (const char* interval : {"1s", "1m", "15m", "1h", "1d", "3d", "1w"}) {
    for (int i = 0; i < 50; ++i) {
      int64_t start = static_cast<int64_t>(rng() % 1700000000000ULL);
      int64_t end = start + static_cast<int64_t>(rng() % 5000000000ULL);
      auto r = GenerateKlineSlices("ETHUSDT", interval, start, end);
      REQUIRE(r.ok());
      const auto& v = *r;
      REQUIRE(!v.empty());
      CHECK(v.front().start_ms <= start);
      CHECK(v.back().end_ms >= end);
      for (size_t k = 0; k < v.size(); ++k) {
        CHECK(IsGridSlice(v[k]));
        if (k > 0) CHECK(v[k].start_ms == v[k - 1].end_ms + 1);
      }
      // Deterministic: the same call gives the same slices.
      auto again = GenerateKlineSlices("ETHUSDT", interval, start, end);
      CHECK(*again == v);
    }
  }
}

TEST_CASE("slicing rejects bad input", "[slicing]") {
  CHECK_FALSE(GenerateKlineSlices("BTCUSDT", "1M", 0, 1).ok());
  CHECK_FALSE(GenerateKlineSlices("BTC/USDT", "1m", 0, 1).ok());
  CHECK_FALSE(GenerateKlineSlices("BTCUSDT", "1m", 10, 1).ok());
  CHECK_FALSE(GenerateKlineSlices("BTCUSDT", "1m", -5, 1).ok());
  CHECK(GenerateKlineSlices("BTCUSDT", "1m", 5, 5)->size() == 1);
}

TEST_CASE("kline URLs for any base URL, symbol percent-encoded", "[url]") {
  KlineSliceKey k{"BTCUSDT", "1m", 1609459200000, 1609465199999, 1000};
  CHECK(BuildKlineUrl(kDefaultBaseUrl, k) ==
        "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1609459200000"
        "&endTime=1609465199999&limit=1000");
  CHECK(BuildKlineUrl("https://data-api.binance.vision/", k)
            .starts_with("https://data-api.binance.vision/api/v3/klines?symbol=BTCUSDT&"));
  CHECK(BuildKlineUrl("http://127.0.0.1:8080", k)
            .starts_with("http://127.0.0.1:8080/api/v3/klines?"));
  KlineSliceKey u{"\xef\xbc\x91\xef\xbc\x92", "1s", 0, 999999, 1000};
  CHECK(BuildKlineUrl("http://h", u) ==
        "http://h/api/v3/klines?symbol=%EF%BC%91%EF%BC%92&interval=1s&startTime=0&endTime=999999"
        "&limit=1000");
}
