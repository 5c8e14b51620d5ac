#include "common/klines/payload.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/testdata.h"

using namespace qlir::klines;
using qlir::PayloadAudit;

namespace {

std::string Fixture() { return qlir::testing::ReadTestData(qlir::testing::kRestKlines30m500Rows); }

// The fixture holds 500 consecutive 30m klines, 2019-04-11 14:00 to 2019-04-21 23:30 UTC.
constexpr int64_t kFirst = 1554991200000;
constexpr int64_t kLast = 1555889400000;
constexpr int64_t k30m = 1800000;

// A 30m window of 1000 candles that contains the fixture's 500 rows.
KlineSliceKey FixtureKey(int limit = 1000) {
  return KlineSliceKey{"BTCUSDT", "30m", kFirst - 10 * k30m, kFirst - 10 * k30m + 1000 * k30m - 1,
                       limit};
}

std::string Row(int64_t open, const std::string& price = "\"1.00000000\"") {
  return "[" + std::to_string(open) + "," + price + ",\"2.0\",\"0.5\",\"1.5\",\"10.0\"," +
         std::to_string(open + 59999) + ",\"15.0\",7,\"5.0\",\"7.5\",\"0\"]";
}

KlineSliceKey MinuteKey(int limit = 1000) {
  return KlineSliceKey{"BTCUSDT", "1m", 60000000, 60000000 + int64_t{limit} * 60000 - 1, limit};
}

}  // namespace

TEST_CASE("the real 500-row REST body validates against a window containing it", "[payload]") {
  const std::string body = Fixture();
  REQUIRE(body.size() > 80000);
  auto r = ValidateKlinesPayload(body, FixtureKey());
  INFO(r.error());
  REQUIRE(r.ok());
  CHECK(r->n_items == 500);
  CHECK(r->first_ts == kFirst);
  CHECK(r->last_ts == kLast);

  // Exactly the rows' span is still inside, and limit 500 is just enough.
  KlineSliceKey tight{"BTCUSDT", "30m", kFirst, kLast, 500};
  CHECK(ValidateKlinesPayload(body, tight).ok());
  KlineSliceKey short_limit{"BTCUSDT", "30m", kFirst, kLast, 499};
  CHECK_FALSE(ValidateKlinesPayload(body, short_limit).ok());
  // One row before or after the window.
  CHECK_FALSE(
      ValidateKlinesPayload(body, KlineSliceKey{"BTCUSDT", "30m", kFirst + 1, kLast + k30m, 1000})
          .ok());
  CHECK_FALSE(
      ValidateKlinesPayload(body, KlineSliceKey{"BTCUSDT", "30m", kFirst - k30m, kLast - 1, 1000})
          .ok());
}

TEST_CASE("every truncation of the real body is rejected, no crash", "[payload]") {
  std::string body = Fixture();
  while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.pop_back();
  const KlineSliceKey key = FixtureKey();
  REQUIRE(ValidateKlinesPayload(body, key).ok());
  size_t accepted = 0;
  for (size_t n = 0; n < body.size(); ++n) {
    if (ValidateKlinesPayload(std::string_view(body).substr(0, n), key).ok()) ++accepted;
  }
  CHECK(accepted == 0);
}

TEST_CASE(
    "every truncation of the real body's first rows, closed with a bracket, goes through the "
    "scanner",
    "[payload]") {
  // Appending ']' defeats the cheap end check, so the scanner itself meets every cut point. It
  // must accept exactly "[" + "]" and the cuts right after a row's closing bracket.
  const std::string body = Fixture();
  size_t rows_end = 0;
  int rows = 0;
  for (size_t i = 1; i < body.size() && rows < 25; ++i) {
    if (body[i] == ']') {
      ++rows;
      rows_end = i + 1;
    }
  }
  const KlineSliceKey key = FixtureKey();
  int accepted = 0;
  for (size_t n = 0; n <= rows_end; ++n) {
    std::string cut = body.substr(0, n) + "]";
    auto r = ValidateKlinesPayload(cut, key);
    if (r.ok()) {
      CHECK(r->n_items == accepted);
      CHECK((n == 1 || cut[n - 1] == ']'));
      ++accepted;
    }
  }
  CHECK(accepted == rows + 1);
}

TEST_CASE("empty array is a complete answer", "[payload]") {
  for (const char* body : {"[]", " [ ] ", "[]\n", "\r\n[\t]"}) {
    auto r = ValidateKlinesPayload(body, MinuteKey());
    INFO(body);
    REQUIRE(r.ok());
    CHECK(r->n_items == 0);
    CHECK(r->first_ts == -1);
    CHECK(r->last_ts == -1);
  }
}

TEST_CASE("rows off the interval grid are accepted (irregular early history)", "[payload]") {
  // 1518168494789 is a real misaligned 1h open time from Feb 2018.
  KlineSliceKey key{"BTCUSDT", "1h", 1517443200000, 1517443200000 + 1000 * 3600000LL - 1, 1000};
  std::string body =
      "[" + Row(1518163200000) + "," + Row(1518168494789) + "," + Row(1518170400000) + "]";
  auto r = ValidateKlinesPayload(body, key);
  INFO(r.error());
  REQUIRE(r.ok());
  CHECK(r->n_items == 3);
  CHECK(r->last_ts == 1518170400000);
}

TEST_CASE("zero-trade candles and JSON whitespace are accepted", "[payload]") {
  std::string body =
      "[ [60000000, \"1.0\", \"1.0\", \"1.0\", \"1.0\", \"0.00000000\", 60059999,"
      " \"0.0\", 0, \"0.0\", \"0.0\", \"0\"] ]";
  auto r = ValidateKlinesPayload(body, MinuteKey());
  INFO(r.error());
  CHECK(r.ok());
}

TEST_CASE("wrong types are rejected", "[payload]") {
  const KlineSliceKey key = MinuteKey();
  const std::string good = "[" + Row(60000000) + "]";
  REQUIRE(ValidateKlinesPayload(good, key).ok());
  const char* bad[] = {
      // open time as string, float, exponent, leading zero
      "[[\"60000000\",\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[60000000.0,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[6e7,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[060000000,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      // price as number, null, non-decimal string, escape, empty string
      "[[60000000,1.5,\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[60000000,null,\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[60000000,\"abc\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[60000000,\"1\\u0030\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[60000000,\"\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[60000000,\"1.\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
      // close time as string, trades as string, negative trades, unused as number
      "[[60000000,\"1\",\"1\",\"1\",\"1\",\"1\",\"60059999\",\"1\",1,\"1\",\"1\",\"0\"]]",
      "[[60000000,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",\"1\",\"1\",\"1\",\"0\"]]",
      "[[60000000,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",-1,\"1\",\"1\",\"0\"]]",
      "[[60000000,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",0]]",
      // 11 and 13 fields, empty row, object row, nested
      "[[60000000,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\"]]",
      "[[60000000,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\",\"0\"]]",
      "[[]]",
      "[{\"t\":60000000}]",
      "[[[60000000]]]",
      // not an array at all; the exchange's error object; HTML; trailing garbage; two arrays
      "",
      "   ",
      "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}",
      "<html><body><h1>502 Bad Gateway</h1></body></html>",
      "[]x",
      "[][]",
      "[,]",
      "null",
      // trailing comma, missing comma
      "[[60000000,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"],]",
      "[[60000000,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"][60060000,\"1\","
      "\"1\",\"1\",\"1\",\"1\",60119999,\"1\",1,\"1\",\"1\",\"0\"]]",
      // integer overflow
      "[[99999999999999999999,\"1\",\"1\",\"1\",\"1\",\"1\",60059999,\"1\",1,\"1\",\"1\",\"0\"]]",
  };
  for (const char* b : bad) {
    INFO(b);
    auto r = ValidateKlinesPayload(b, key);
    CHECK_FALSE(r.ok());
    CHECK(r.error().find("BTCUSDT:1m:") != std::string::npos);
  }
}

TEST_CASE("open times must ascend strictly", "[payload]") {
  const KlineSliceKey key = MinuteKey();
  CHECK(ValidateKlinesPayload("[" + Row(60000000) + "," + Row(60060000) + "]", key).ok());
  auto desc = ValidateKlinesPayload("[" + Row(60060000) + "," + Row(60000000) + "]", key);
  REQUIRE_FALSE(desc.ok());
  CHECK(desc.error().find("row 1") != std::string::npos);
  CHECK_FALSE(ValidateKlinesPayload("[" + Row(60000000) + "," + Row(60000000) + "]", key).ok());
}

TEST_CASE("rows outside the slice window are rejected", "[payload]") {
  const KlineSliceKey key = MinuteKey(10);  // [60000000, 60599999]
  CHECK(ValidateKlinesPayload("[" + Row(key.start_ms) + "]", key).ok());
  CHECK(ValidateKlinesPayload("[" + Row(key.end_ms) + "]", key).ok());  // inclusive, off-grid
  CHECK_FALSE(ValidateKlinesPayload("[" + Row(key.start_ms - 1) + "]", key).ok());
  CHECK_FALSE(ValidateKlinesPayload("[" + Row(key.end_ms + 1) + "]", key).ok());
  CHECK_FALSE(ValidateKlinesPayload("[" + Row(-60000) + "]", key).ok());
}

TEST_CASE("more rows than the limit are rejected", "[payload]") {
  const KlineSliceKey key = MinuteKey(3);
  auto body = [](int n) {
    std::string b = "[";
    for (int i = 0; i < n; ++i) b += (i ? "," : "") + Row(60000000 + i * 1000);
    return b + "]";
  };
  CHECK(ValidateKlinesPayload(body(3), key).ok());
  auto r = ValidateKlinesPayload(body(4), key);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("limit") != std::string::npos);
}

TEST_CASE("random bytes and random mutations of the real body never crash", "[payload]") {
  std::mt19937 rng(1234);
  const KlineSliceKey key = FixtureKey();
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 200, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    CHECK_FALSE(ValidateKlinesPayload(junk, key).ok());
  }
  const std::string body = Fixture();
  int accepted = 0;
  for (int i = 0; i < 300; ++i) {
    std::string m = body;
    m[rng() % m.size()] = static_cast<char>(rng());
    if (ValidateKlinesPayload(m, key).ok()) ++accepted;  // e.g. a digit changed inside a price
  }
  CHECK(accepted < 300);
}

TEST_CASE("decimals compare exactly, as text", "[payload]") {
  CHECK(CompareDecimal("1.5", "1.50000000") == 0);
  CHECK(CompareDecimal("-0.000", "0") == 0);
  CHECK(CompareDecimal("0010.1", "10.10") == 0);
  CHECK(CompareDecimal("9.99999999", "10.00000000") < 0);
  CHECK(CompareDecimal("100", "99.99999999") > 0);
  CHECK(CompareDecimal("28923.63000001", "28923.63") > 0);
  CHECK(CompareDecimal("-1", "0.00000001") < 0);
  CHECK(CompareDecimal("-2", "-1.5") < 0);
  CHECK(CompareDecimal("-0.00000001", "0") < 0);
  CHECK(CompareDecimal("0.1", "0.09999999999999999999") > 0);  // beyond a double's precision
}

namespace {

// A 1m row with the given decimals (open, high, low, close, volume, quote, taker base, taker
// quote) and close time open + 59999 unless given.
std::string AuditRow(int64_t open, const std::vector<std::string>& v, int64_t close_time = -1) {
  return "[" + std::to_string(open) + ",\"" + v[0] + "\",\"" + v[1] + "\",\"" + v[2] + "\",\"" +
         v[3] + "\",\"" + v[4] + "\"," +
         std::to_string(close_time < 0 ? open + 59999 : close_time) + ",\"" + v[5] + "\",3,\"" +
         v[6] + "\",\"" + v[7] + "\",\"0\"]";
}

const std::vector<std::string> kSane = {"10.0", "12.0", "9.0", "11.0",
                                        "5.0",  "55.0", "2.0", "22.0"};

std::string AuditBody(const std::vector<std::string>& rows) {
  std::string b = "[";
  for (size_t i = 0; i < rows.size(); ++i) b += (i ? "," : "") + rows[i];
  return b + "]";
}

}  // namespace

TEST_CASE("the audit finds the real body sane and regular", "[payload]") {
  const PayloadAudit a = AuditKlinesPayload(Fixture(), FixtureKey());
  CHECK(a.bad.empty());
  CHECK(a.irregular_rows == 0);
  CHECK(a.summary.n_items == 500);
  CHECK(a.summary.first_ts == kFirst);
  CHECK(a.summary.last_ts == kLast);
}

TEST_CASE("the audit names a row that makes no sense", "[payload]") {
  const KlineSliceKey key = MinuteKey();
  const int64_t t = key.start_ms;
  struct Case {
    int field;  // index into kSane
    std::string value;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {3, "12.5", "close outside [low, high]"},  // a close raised above the high
      {3, "8.0", "close outside [low, high]"},
      {0, "8.5", "open outside [low, high]"},
      {0, "12.01", "open outside [low, high]"},
      {2, "12.5", "low above high"},
      {4, "-5.0", "negative volume"},
      {5, "-0.00000001", "negative quote volume"},
      {6, "-2.0", "negative taker buy base volume"},
      {7, "-22.0", "negative taker buy quote volume"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> v = kSane;
    v[c.field] = c.value;
    const std::string body = AuditBody({AuditRow(t, kSane), AuditRow(t + 60000, v)});
    INFO(body);
    const PayloadAudit a = AuditKlinesPayload(body, key);
    CHECK_THAT(a.bad, Catch::Contains(c.expect) &&
                          Catch::Contains("row 1 (open time " + std::to_string(t + 60000)));
  }
  std::vector<std::string> zero = kSane;
  zero[4] = "-0.00000000";  // zero, however written
  CHECK(AuditKlinesPayload(AuditBody({AuditRow(t, zero)}), key).bad.empty());
  std::vector<std::string> flat = {"10", "10", "10", "10", "0", "0", "0", "0"};  // 0 trades
  CHECK(AuditKlinesPayload(AuditBody({AuditRow(t, flat)}), key).bad.empty());
  // The shape and window rules of ValidateKlinesPayload hold too.
  CHECK_THAT(
      AuditKlinesPayload(AuditBody({AuditRow(t + 60000, kSane), AuditRow(t, kSane)}), key).bad,
      Catch::Contains("not after the previous one"));
  CHECK_THAT(AuditKlinesPayload(AuditBody({AuditRow(t, kSane), AuditRow(t, kSane)}), key).bad,
             Catch::Contains("not after the previous one"));
  CHECK_THAT(AuditKlinesPayload(AuditBody({AuditRow(key.end_ms + 1, kSane)}), key).bad,
             Catch::Contains("outside the window"));
}

TEST_CASE("the audit counts irregular rows without calling them bad", "[payload]") {
  const KlineSliceKey key = MinuteKey();
  const int64_t t = key.start_ms;
  const PayloadAudit off = AuditKlinesPayload(
      AuditBody({AuditRow(t, kSane), AuditRow(t + 61234, kSane), AuditRow(t + 120000, kSane)}),
      key);
  CHECK(off.bad.empty());
  CHECK(off.irregular_rows == 1);
  CHECK_THAT(off.irregular, Catch::Contains("row 1") && Catch::Contains("off the 1m grid"));
  const PayloadAudit close = AuditKlinesPayload(
      AuditBody({AuditRow(t, kSane, t + 31000), AuditRow(t + 60000, kSane, t + 60000)}), key);
  CHECK(close.bad.empty());
  CHECK(close.irregular_rows == 2);
  CHECK_THAT(close.irregular, Catch::Contains("row 0") && Catch::Contains("close time"));
  // Weekly candles open on Mondays: 1970-01-05 plus whole weeks.
  const int64_t week = 7 * 86400000LL;
  const KlineSliceKey weekly{"BTCUSDT", "1w", 0, 1000 * week - 1, 1000};
  const int64_t monday = 4 * 86400000LL + 2900 * week;
  auto weekly_row = [&](int64_t open) {
    return "[" + std::to_string(open) + ",\"1\",\"1\",\"1\",\"1\",\"0\"," +
           std::to_string(open + week - 1) + ",\"0\",0,\"0\",\"0\",\"0\"]";
  };
  const KlineSliceKey weekly2{"BTCUSDT", "1w", 2000 * week, 3000 * week - 1, 1000};
  CHECK(AuditKlinesPayload("[" + weekly_row(monday) + "]", weekly2).irregular_rows == 0);
  CHECK(
      AuditKlinesPayload("[" + weekly_row(monday - 4 * 86400000LL) + "]", weekly2).irregular_rows ==
      1);
  CHECK(AuditKlinesPayload("[]", weekly).irregular_rows == 0);
}
