#include "tools/qlir-status/holes.h"

#include <catch2/catch.hpp>

#include "common/json.h"
#include "tools/qlir-status/test_util.h"

namespace qlir::status_tool {
namespace {

using testing::kBase;
using testing::KlinesBody;
using testing::kMinuteMs;
using testing::kSpan1m;
using testing::ScratchDir;
using testing::SeriesBuilder;

// A body of the slice `index`'s 1000 candles without those in [from, to) (candle numbers).
std::string BodyWithout(const SeriesBuilder& b, int64_t index, int64_t from, int64_t to,
                        int64_t first = 0, int64_t last = 1000) {
  const int64_t start = b.Key(index).start_ms;
  std::string body = "[";
  bool any = false;
  for (int64_t i = first; i < last; ++i) {
    if (i >= from && i < to) continue;
    const std::string one = KlinesBody(start + i * kMinuteMs, 1);
    body += (any ? "," : "") + one.substr(1, one.size() - 2);
    any = true;
  }
  return body + "]";
}

ManifestEntry& StoredBody(SeriesBuilder& b, int64_t index, const std::string& body, int64_t rows,
                          int64_t first_candle, int64_t last_candle) {
  ManifestEntry& e = b.Stored(index, SliceStatus::kOk, rows, body);
  e.first_ts = b.Key(index).start_ms + first_candle * kMinuteMs;
  e.last_ts = b.Key(index).start_ms + last_candle * kMinuteMs;
  return e;
}

}  // namespace

TEST_CASE("holes: missing candles merge across slices - listing and last candle clip", "[holes]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  // Slice kBase: listed at candle 600 (nothing missing before it), full after.
  StoredBody(b, kBase, BodyWithout(b, kBase, 0, 0, 600), 400, 600, 999);
  // kBase+1: candles 990..999 missing; kBase+2: candles 0..4 missing: one hole of 15 candles.
  StoredBody(b, kBase + 1, BodyWithout(b, kBase + 1, 990, 1000), 990, 0, 989);
  StoredBody(b, kBase + 2, BodyWithout(b, kBase + 2, 0, 5), 995, 5, 999);
  // kBase+3: full, never opened. kBase+4: candle 100 missing, confirmed.
  b.Stored(kBase + 3, SliceStatus::kOk, 1000);
  StoredBody(b, kBase + 4, BodyWithout(b, kBase + 4, 100, 101), 999, 0, 999).holes_confirmed_at =
      "2025-01-02T00:00:00Z";
  // kBase+5: the last stored candle is 200 (delisted there): nothing missing after it.
  StoredBody(b, kBase + 5, BodyWithout(b, kBase + 5, 0, 0, 0, 201), 201, 0, 200);
  // A failed and a pending slice are not looked at.
  b.Failed(kBase + 6, 500, "HTTP 500");
  b.Pending(kBase + 7);
  b.Write();

  auto r = BuildHolesLedger(dir.path(), {});
  REQUIRE(r.ok());
  INFO(RenderHolesText(*r));
  REQUIRE(r->series.size() == 1);
  const SeriesHoles& s = r->series[0];
  CHECK(s.error.empty());
  CHECK(s.unreadable.empty());
  CHECK(s.ok_slices == 6);
  CHECK(s.first_candle_ms == b.Key(kBase).start_ms + 600 * kMinuteMs);
  CHECK(s.last_candle_ms == b.Key(kBase + 5).start_ms + 200 * kMinuteMs);
  CHECK(s.slices_with_holes == 3);
  CHECK(s.missing_candles == 16);
  REQUIRE(s.holes.size() == 2);
  const Hole& h = s.holes[0];
  CHECK(h.start_ms == b.Key(kBase + 1).start_ms + 990 * kMinuteMs);
  CHECK(h.end_ms == b.Key(kBase + 2).start_ms + 5 * kMinuteMs - 1);
  CHECK(h.candles == 15);
  CHECK(h.slices == std::vector<std::string>{b.KeyText(kBase + 1), b.KeyText(kBase + 2)});
  CHECK_FALSE(h.confirmed_at);
  CHECK(s.holes[1].start_ms == b.Key(kBase + 4).start_ms + 100 * kMinuteMs);
  CHECK(s.holes[1].end_ms == b.Key(kBase + 4).start_ms + 101 * kMinuteMs - 1);
  CHECK(s.holes[1].confirmed_at == "2025-01-02T00:00:00Z");
  CHECK_FALSE(r->HasProblem());

  const std::string text = RenderHolesText(*r);
  CHECK_THAT(text, Catch::Contains("klines/BTCUSDT/1m  2 holes, 16 candles missing in 3 of 6 ok"));
  CHECK_THAT(text, Catch::Contains("  2020-12-16T11:50:00Z .. 2020-12-16T12:04:59Z  15 candles "
                                   "unconfirmed"));
  CHECK_THAT(text, Catch::Contains("1 candle confirmed 2025-01-02T00:00:00Z"));
  auto j = nlohmann::json::parse(RenderHolesJson(*r));
  CHECK(j["problem"] == false);
  CHECK(j["series"][0]["holes"][0]["start"] == "2020-12-16T11:50:00Z");
  CHECK(j["series"][0]["holes"][0]["end_ms"] == h.end_ms);
  CHECK(j["series"][0]["holes"][0]["confirmed"] == false);
  CHECK(j["series"][0]["holes"][1]["confirmed_at"] == "2025-01-02T00:00:00Z");
}

TEST_CASE("holes: a confirmed slice next to an unconfirmed one makes two ranges", "[holes]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase, SliceStatus::kOk, 1000);
  StoredBody(b, kBase + 1, BodyWithout(b, kBase + 1, 998, 1000), 998, 0, 997).holes_confirmed_at =
      "2025-01-02T00:00:00Z";
  StoredBody(b, kBase + 2, BodyWithout(b, kBase + 2, 0, 3), 997, 3, 999);
  b.Write();
  auto r = BuildHolesLedger(dir.path(), {});
  REQUIRE(r.ok());
  REQUIRE(r->series[0].holes.size() == 2);
  CHECK(r->series[0].holes[0].confirmed_at);
  CHECK(r->series[0].holes[0].candles == 2);
  CHECK_FALSE(r->series[0].holes[1].confirmed_at);
  CHECK(r->series[0].holes[1].candles == 3);
  CHECK(r->series[0].holes[1].start_ms == r->series[0].holes[0].end_ms + 1);
}

TEST_CASE("holes: an unreadable short slice and a corrupt manifest are problems", "[holes]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase, SliceStatus::kOk, 1000);
  StoredBody(b, kBase + 1, BodyWithout(b, kBase + 1, 10, 20), 990, 0, 999);
  b.Write();
  std::filesystem::remove(b.ResponsePath(kBase + 1));
  SeriesBuilder other(dir.path(), "ETHUSDT");
  other.Write();
  testing::WriteRaw(other.dir() / "manifest.json", "{not json");
  auto r = BuildHolesLedger(dir.path(), {});
  REQUIRE(r.ok());
  REQUIRE(r->series.size() == 2);
  CHECK(r->HasProblem());
  const std::string text = RenderHolesText(*r);
  CHECK_THAT(text, Catch::Contains("ERROR unreadable " + b.KeyText(kBase + 1)));
  CHECK_THAT(text, Catch::Contains("klines/ETHUSDT/1m  ERROR"));
  // Only the series asked for.
  auto only = BuildHolesLedger(dir.path(), {.symbol = "BTCUSDT"});
  REQUIRE(only.ok());
  CHECK(only->series.size() == 1);
}

TEST_CASE("holes: RowOpenTimes reads field 0 of every row and refuses other shapes", "[holes]") {
  auto t = RowOpenTimes(KlinesBody(60000, 3));
  REQUIRE(t.ok());
  CHECK(*t == std::vector<int64_t>{60000, 120000, 180000});
  CHECK(RowOpenTimes("[]")->empty());
  CHECK_FALSE(RowOpenTimes("{}").ok());
  CHECK_FALSE(RowOpenTimes("[[\"x\"]]").ok());
  CHECK_FALSE(RowOpenTimes("[1,").ok());
}

TEST_CASE("holes: counts of a thousand candles and more print with thousands separators",
          "[holes]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  // kBase full; kBase+1 keeps candles 0..9 only; kBase+2 starts at candle 200: one hole of
  // 990 + 200 = 1190 candles.
  b.Stored(kBase, SliceStatus::kOk, 1000);
  StoredBody(b, kBase + 1, BodyWithout(b, kBase + 1, 10, 1000), 10, 0, 9);
  StoredBody(b, kBase + 2, BodyWithout(b, kBase + 2, 0, 200), 800, 200, 999);
  b.Write();
  auto r = BuildHolesLedger(dir.path(), {});
  REQUIRE(r.ok());
  const std::string text = RenderHolesText(*r);
  INFO(text);
  REQUIRE(r->series.size() == 1);
  CHECK(r->series[0].missing_candles == 1190);
  CHECK_THAT(text, Catch::Contains("1,190 candles unconfirmed"));
  CHECK_THAT(text, Catch::Contains("1,190 candles missing in 2 of 3"));
}

}  // namespace qlir::status_tool
