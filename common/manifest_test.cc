#include "common/manifest.h"

#include <catch2/catch.hpp>

#include "common/json.h"

using namespace qlir;

namespace {
Manifest Sample() {
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1m";
  m.last_evaluated_at = "2025-11-27T19:30:00Z";
  ManifestEntry ok;
  ok.slice_id = "08014f774df4dcb1257ea1efbc3b3eae";
  ok.relative_path = "responses/08014f774df4dcb1257ea1efbc3b3eae.json";
  ok.status = SliceStatus::kOk;
  ok.http_status = 200;
  ok.n_items = 1000;
  ok.first_ts = 1609459200000;
  ok.last_ts = 1609465140000;
  ok.requested_at = "2025-01-01T00:01:23Z";
  ok.completed_at = "2025-01-01T00:01:24Z";
  m.slices["BTCUSDT:1m:1609459200000-1609465199999:1000"] = ok;
  ManifestEntry failed;
  failed.slice_id = "821cc2bd18cc4f12821cc2bd18cc4f12";
  failed.relative_path = "responses/821cc2bd18cc4f12821cc2bd18cc4f12.json";
  failed.status = SliceStatus::kFailed;
  failed.http_status = 500;
  failed.requested_at = "2025-01-01T00:03:10Z";
  failed.completed_at = "2025-01-01T00:03:11Z";
  failed.error = "HTTP 500 from Binance";
  m.slices["BTCUSDT:1m:1609465200000-1609471199999:1000"] = failed;
  return m;
}
}  // namespace

TEST_CASE("manifest round-trips with the documented schema", "[manifest]") {
  Manifest m = Sample();
  std::string text = SerializeManifest(m);
  auto j = nlohmann::json::parse(text);
  CHECK(j["version"] == 1);
  CHECK(j["endpoint"] == "klines");
  CHECK(j["limit"] == 1000);
  CHECK(j["summary"]["total_slices"] == 2);
  CHECK(j["summary"]["ok_slices"] == 1);
  CHECK(j["summary"]["failed_slices"] == 1);
  CHECK(j["summary"]["last_evaluated_at"] == "2025-11-27T19:30:00Z");
  const auto& f = j["slices"]["BTCUSDT:1m:1609465200000-1609471199999:1000"];
  CHECK(f["status"] == "failed");
  CHECK(f["first_ts"].is_null());
  CHECK(f["error"] == "HTTP 500 from Binance");
  CHECK(f.size() == 10);
  auto back = ParseManifest(text, "manifest.json");
  REQUIRE(back.ok());
  CHECK(back->slices == m.slices);
  CHECK(back->symbol == "BTCUSDT");
}

TEST_CASE("every truncation and corruption of a manifest is an error naming the file",
          "[manifest]") {
  std::string text = SerializeManifest(Sample());
  for (size_t n = 0; n + 2 < text.size(); n += 7) {
    auto r = ParseManifest(text.substr(0, n), "/x/manifest.json");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::StartsWith("/x/manifest.json"));
  }
  auto j = nlohmann::json::parse(text);
  auto expect_bad = [](nlohmann::json v, const char* what) {
    auto r = ParseManifest(v.dump(), "m.json");
    INFO(v.dump());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains(what));
  };
  {
    auto v = j;
    v.erase("slices");
    expect_bad(v, "slices");
  }
  {
    auto v = j;
    v["version"] = 2;
    expect_bad(v, "version");
  }
  {
    auto v = j;
    v["limit"] = "1000";
    expect_bad(v, "limit");
  }
  {
    auto v = j;
    v["slices"]["BTCUSDT:1m:1609459200000-1609465199999:1000"]["status"] = "done";
    expect_bad(v, "status");
  }
  {
    auto v = j;
    v["slices"]["BTCUSDT:1m:1609459200000-1609465199999:1000"].erase("n_items");
    expect_bad(v, "n_items");
  }
  expect_bad(nlohmann::json::array(), "object");
}
