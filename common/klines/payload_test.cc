#include "common/klines/payload.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "tests/testdata.h"

using namespace qlir::klines;

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
