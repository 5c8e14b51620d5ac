// The rule of common/holes.h on its own (tools/qlir-status/holes_test.cc tests the ledger built
// on it, persister/intake_test.cc the rechecks).
#include "common/holes.h"

#include <catch2/catch.hpp>

#include "common/endpoint.h"

namespace qlir {
namespace {

constexpr int64_t kMin = 60000;

SliceKey Key(int64_t index) {
  SliceKey k;
  k.symbol = "BTCUSDT";
  k.interval = "1m";
  k.limit = 1000;
  k.start_ms = index * 1000 * kMin;
  k.end_ms = (index + 1) * 1000 * kMin - 1;
  return k;
}

ManifestEntry Ok(int64_t n, int64_t first, int64_t last) {
  ManifestEntry e;
  e.status = SliceStatus::kOk;
  e.n_items = n;
  e.first_ts = first;
  e.last_ts = last;
  return e;
}

}  // namespace

TEST_CASE("holes: the window is clipped to the stored candles - full slices are not read",
          "[holes]") {
  const Endpoint& klines = *FindEndpoint("klines");
  Manifest m;
  const SliceKey a = Key(5), b = Key(6);
  m.slices[a.composite_key()] = Ok(400, a.start_ms + 600 * kMin, a.end_ms - kMin + 1);  // listing
  m.slices[b.composite_key()] = Ok(3, b.start_ms, b.start_ms + 2 * kMin);               // newest
  ManifestEntry failed;
  failed.status = SliceStatus::kFailed;
  m.slices[Key(7).composite_key()] = failed;
  const StoredCandles stored = StoredCandleSpan(m);
  CHECK(stored == StoredCandles{a.start_ms + 600 * kMin, b.start_ms + 2 * kMin});
  auto wa = ExpectedCandles(klines, a, stored);
  REQUIRE(wa);
  CHECK(*wa == CandleWindow{a.start_ms + 600 * kMin, a.end_ms - kMin + 1, kMin, 400});
  auto wb = ExpectedCandles(klines, b, stored);
  REQUIRE(wb);
  CHECK(wb->expected == 3);
  CHECK_FALSE(ExpectedCandles(klines, Key(4), stored));  // before the listing
  CHECK_FALSE(ExpectedCandles(klines, Key(7), stored));  // after the last candle
  CHECK_FALSE(ExpectedCandles(klines, a, StoredCandles{}));
  // Funding events are not on a grid: never holes.
  const Endpoint* funding = FindEndpoint("fundingRate");
  REQUIRE(funding);
  CHECK_FALSE(ExpectedCandles(*funding, a, stored));
  int reads = 0;
  auto never = [&]() -> Result<std::string> {
    ++reads;
    return std::string("[]");
  };
  CHECK(SliceMissingCandles(klines, a, m.slices[a.composite_key()], stored, never)->empty());
  CHECK(SliceMissingCandles(klines, b, m.slices[b.composite_key()], stored, never)->empty());
  CHECK(reads == 0);
}

TEST_CASE("holes: missing candles are the grid's with no row inside their interval", "[holes]") {
  const Endpoint& klines = *FindEndpoint("klines");
  const SliceKey k = Key(2);
  const StoredCandles stored{0, 100000 * kMin};
  const ManifestEntry e = Ok(4, k.start_ms, k.end_ms - kMin + 1);
  std::string data = "[";
  // Candles 0, 1 and 999, and a row off the grid inside candle 2's interval (early history).
  for (int64_t t :
       {k.start_ms, k.start_ms + kMin, k.start_ms + 2 * kMin + 17, k.start_ms + 999 * kMin}) {
    data += (data.size() > 1 ? "," : "") + std::string("[") + std::to_string(t) + ",\"1\"]";
  }
  data += "]";
  auto missing =
      SliceMissingCandles(klines, k, e, stored, [&]() -> Result<std::string> { return data; });
  REQUIRE(missing.ok());
  REQUIRE(missing->size() == 996);
  CHECK(missing->front() == k.start_ms + 3 * kMin);
  CHECK(missing->back() == k.start_ms + 998 * kMin);
  // Not ok: no holes whatever its rows; unreadable rows: the error.
  ManifestEntry partial = e;
  partial.status = SliceStatus::kPartial;
  CHECK(SliceMissingCandles(klines, k, partial, stored, [&]() -> Result<std::string> {
          return data;
        })->empty());
  CHECK_FALSE(SliceMissingCandles(klines, k, e, stored, []() -> Result<std::string> {
                return std::string("{}");
              }).ok());
  CHECK_FALSE(SliceMissingCandles(klines, k, e, stored, []() -> Result<std::string> {
                return Status::IOError("gone");
              }).ok());
}

}  // namespace qlir
