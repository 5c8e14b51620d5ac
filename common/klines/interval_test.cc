#include "common/klines/interval.h"

#include <catch2/catch.hpp>

using qlir::klines::IntervalToMs;

TEST_CASE("every fixed-length interval maps to its milliseconds", "[interval]") {
  const std::pair<const char*, int64_t> cases[] = {
      {"1s", 1000},     {"1m", 60000},     {"3m", 180000},   {"5m", 300000},    {"15m", 900000},
      {"30m", 1800000}, {"1h", 3600000},   {"2h", 7200000},  {"4h", 14400000},  {"6h", 21600000},
      {"8h", 28800000}, {"12h", 43200000}, {"1d", 86400000}, {"3d", 259200000}, {"1w", 604800000}};
  for (auto [name, ms] : cases) {
    INFO(name);
    auto r = IntervalToMs(name);
    REQUIRE(r.ok());
    CHECK(*r == ms);
  }
  CHECK(qlir::klines::SupportedIntervals().size() == 15);
}

TEST_CASE("a month and anything unknown are rejected with a clear error", "[interval]") {
  auto month = IntervalToMs("1M");
  REQUIRE_FALSE(month.ok());
  CHECK_THAT(month.error(), Catch::Contains("1M") && Catch::Contains("fixed length"));
  for (const char* bad : {"", "1", "1S", "2m", "1mo", "60s", "1H", " 1m", "1m "}) {
    INFO(bad);
    auto r = IntervalToMs(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("interval"));
  }
}
