#include "common/time_util.h"

#include <catch2/catch.hpp>

using namespace qlir;

TEST_CASE("ISO-8601 UTC formatting", "[time]") {
  CHECK(FormatIsoUtc(0) == "1970-01-01T00:00:00Z");
  CHECK(FormatIsoUtc(1609459200000) == "2021-01-01T00:00:00Z");
  CHECK(FormatIsoUtc(1609462799999) == "2021-01-01T00:59:59Z");
  CHECK(FormatIsoUtcMs(1609462799123) == "2021-01-01T00:59:59.123Z");
}

TEST_CASE("parsing user times", "[time]") {
  CHECK(*ParseTimeUtc("2021-01-01") == 1609459200000);
  CHECK(*ParseTimeUtc("2021-01-01T00:59:59Z") == 1609462799000);
  CHECK(*ParseTimeUtc("2021-01-01 00:59") == 1609462740000);
  CHECK(*ParseTimeUtc("2021-01-01T00:59:59.999Z") == 1609462799999);
  CHECK(*ParseTimeUtc("1609459200000") == 1609459200000);
  CHECK(*ParseTimeUtc(FormatIsoUtc(1700000000000)) == 1700000000000);
  for (const char* bad : {"", "2021-1-1", "2021-13-01", "2021-02-30", "2021-01-01T25:00",
                          "yesterday", "2021-01-01Tx", "2021-01-01Z0"}) {
    INFO(bad);
    auto r = ParseTimeUtc(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("cannot read time"));
  }
}
