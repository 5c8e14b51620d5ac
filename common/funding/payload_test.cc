#include "common/funding/payload.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/funding/endpoint.h"
#include "tests/testdata.h"

using qlir::SliceKey;
using qlir::funding::AuditFundingPayload;
using qlir::funding::SummarizeFundingData;
using qlir::funding::ValidateFundingPayload;

namespace {

// The grid window of 1000 hours holding `t`.
SliceKey Window(int64_t t, const std::string& symbol = "BTCUSDT") {
  return qlir::funding::TheFundingEndpoint().GridSlice(
      symbol, "1h", qlir::funding::TheFundingEndpoint().GridIndex("1h", t, 1000), 1000);
}

std::string Row(int64_t t, const std::string& rate = "0.00010000", const std::string& mark = "\"\"",
                const std::string& symbol = "BTCUSDT") {
  return "{\"symbol\":\"" + symbol + "\",\"fundingTime\":" + std::to_string(t) +
         ",\"fundingRate\":\"" + rate + "\",\"markPrice\":" + mark + "}";
}

}  // namespace

TEST_CASE("real funding rows validate, empty markPrice and rateType included", "[funding]") {
  const std::string early = qlir::testing::ReadTestData("funding/BTCUSDT-2019-09-10.json");
  const SliceKey k2019 = Window(1568102400000);
  CHECK(k2019.composite_key() == "BTCUSDT:1h:1566000000000-1569599999999:1000");
  auto s = ValidateFundingPayload(early, k2019);
  REQUIRE(s.ok());
  CHECK(s->n_items == 2);
  CHECK(s->first_ts == 1568102400000);
  CHECK(s->last_ts == 1568131200000);

  const std::string late = qlir::testing::ReadTestData("funding/BTCUSDT-2026.json");
  const SliceKey k2026 = Window(1785744000000);
  CHECK(k2026.composite_key() == "BTCUSDT:1h:1785600000000-1789199999999:1000");
  s = ValidateFundingPayload(late, k2026);
  REQUIRE(s.ok());
  CHECK(s->n_items == 3);
  CHECK(s->first_ts == 1785744000000);
  CHECK(s->last_ts == 1788508800000);

  auto audit = AuditFundingPayload(late, k2026);
  CHECK(audit.bad.empty());
  CHECK(audit.irregular_rows == 0);
  CHECK(audit.summary.n_items == 3);

  auto sum = SummarizeFundingData(early);
  REQUIRE(sum.ok());
  CHECK(sum->n_items == 2);
  CHECK(sum->first_ts == 1568102400000);
  CHECK(sum->last_ts == 1568131200000);
}

TEST_CASE("a funding body that does not answer its window is refused, naming the row",
          "[funding]") {
  const std::string early = qlir::testing::ReadTestData("funding/BTCUSDT-2019-09-10.json");
  // Another window, another symbol.
  auto other = ValidateFundingPayload(early, Window(1568102400000 + 3600000000LL));
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().find("row 0: fundingTime 1568102400000 outside the window") !=
        std::string::npos);
  auto eth = ValidateFundingPayload(early, Window(1568102400000, "ETHUSDT"));
  REQUIRE_FALSE(eth.ok());
  CHECK(eth.error().find("row 0: symbol BTCUSDT, not ETHUSDT") != std::string::npos);

  const SliceKey k = Window(1568102400000);
  const int64_t t = 1568102400000;
  CHECK(ValidateFundingPayload("[]", k)->n_items == 0);
  CHECK(ValidateFundingPayload(" [ ] \n", k).ok());
  CHECK_FALSE(ValidateFundingPayload("", k).ok());
  CHECK_FALSE(ValidateFundingPayload("{}", k).ok());
  CHECK_FALSE(ValidateFundingPayload(early.substr(0, early.size() - 3), k).ok());  // cut off
  CHECK_FALSE(ValidateFundingPayload("[" + Row(t) + "," + Row(t) + "]", k).ok());  // not after
  CHECK_FALSE(ValidateFundingPayload("[" + Row(t + 8) + "," + Row(t) + "]", k).ok());
  CHECK_FALSE(ValidateFundingPayload("[" + Row(t, "0.0001x") + "]", k).ok());
  CHECK_FALSE(ValidateFundingPayload("[" + Row(t, "") + "]", k).ok());
  CHECK_FALSE(ValidateFundingPayload("[" + Row(t, "1e-4") + "]", k).ok());
  CHECK_FALSE(ValidateFundingPayload("[" + Row(t, "0.0001", "12.5") + "]", k).ok());  // number
  CHECK_FALSE(ValidateFundingPayload("[" + Row(t, "0.0001", "\"n/a\"") + "]", k).ok());
  CHECK(ValidateFundingPayload("[" + Row(t, "-0.02", "\"9.5\"") + "]", k).ok());
  // Fields missing.
  CHECK_FALSE(ValidateFundingPayload(
                  "[{\"fundingTime\":1568102400000,\"fundingRate\":\"0.1\",\"markPrice\":\"\"}]", k)
                  .ok());
  CHECK_FALSE(
      ValidateFundingPayload(
          "[{\"symbol\":\"BTCUSDT\",\"fundingTime\":1568102400000,\"fundingRate\":\"0.1\"}]", k)
          .ok());
  CHECK_FALSE(
      ValidateFundingPayload(
          "[{\"symbol\":\"BTCUSDT\",\"fundingTime\":\"1568102400000\",\"fundingRate\":\"0.1\","
          "\"markPrice\":\"\"}]",
          k)
          .ok());
  // More rows than the limit.
  SliceKey small = k;
  small.limit = 1;
  CHECK_FALSE(ValidateFundingPayload(early, small).ok());
}

TEST_CASE("the funding audit: negative mark price is bad, events off the hour irregular",
          "[funding]") {
  const SliceKey k = Window(1568102400000);
  const int64_t t = 1568102400000;
  auto a = AuditFundingPayload("[" + Row(t + 3) + "," + Row(t + 28800005, "-0.00002695") + "]", k);
  CHECK(a.bad.empty());
  CHECK(a.irregular_rows == 0);  // a few ms after the hour, as the exchange records them
  a = AuditFundingPayload(
      "[" + Row(t) + "," + Row(t + 1800000) + "," + Row(t + 3600000 + 5000) + "]", k);
  CHECK(a.bad.empty());
  CHECK(a.irregular_rows == 2);
  CHECK(a.irregular == "row 1 (fundingTime 1568104200000): 1800000 ms after the hour");
  a = AuditFundingPayload("[" + Row(t, "0.0001", "\"-1.5\"") + "]", k);
  CHECK(a.bad.find("negative markPrice -1.5") != std::string::npos);
  CHECK(AuditFundingPayload("[" + Row(t, "0.0001", "\"-0.000\"") + "]", k).bad.empty());
  a = AuditFundingPayload("[" + Row(t, "0.0001", "\"\"", "ETHUSDT") + "]", k);
  CHECK(a.bad.find("symbol ETHUSDT, not BTCUSDT") != std::string::npos);
  CHECK_FALSE(SummarizeFundingData("{").ok());
  CHECK_FALSE(SummarizeFundingData("{}").ok());
  CHECK(SummarizeFundingData("[1]")->first_ts == -1);
}
