#include "tools/qlir-status/series_report.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "common/json.h"
#include "tools/qlir-status/cli.h"
#include "tools/qlir-status/render.h"
#include "tools/qlir-status/test_util.h"

namespace qlir::status_tool {
namespace {

using testing::kBase;
using testing::ScratchDir;
using testing::SeriesBuilder;
namespace fs = std::filesystem;

// BTCUSDT/1m with, by grid index from kBase:
//   0 ok, 1 absent, 2 failed, 3 pending, 4 absent, 5 partial.
SeriesBuilder MixedSeries(const fs::path& root) {
  SeriesBuilder b(root);
  b.Stored(kBase + 0);
  b.Failed(kBase + 2, 500, "HTTP 500 from Binance");
  b.Pending(kBase + 3);
  b.Stored(kBase + 5, SliceStatus::kPartial, 2);
  b.Write();
  return b;
}

int RunTool(const std::vector<std::string>& args, std::string* out, std::string* err = nullptr) {
  std::ostringstream o, e;
  const int code = Run(args, o, e);
  *out = o.str();
  if (err) *err = e.str();
  return code;
}

TEST_CASE("status counts ok, partial, failed and missing slices and merges the ranges",
          "[status]") {
  ScratchDir dir;
  SeriesBuilder b = MixedSeries(dir.path());
  auto report = BuildStatusReport(dir.path(), {});
  REQUIRE(report.ok());
  REQUIRE(report->series.size() == 1);
  const SeriesReport& s = report->series[0];
  CHECK(s.manifest_error.empty());
  CHECK(s.series.Name() == "klines/BTCUSDT/1m");
  CHECK(s.ok == 1);
  CHECK(s.partial == 1);
  CHECK(s.failed == 1);
  CHECK(s.pending == 1);
  CHECK(s.missing == 3);  // 1 (absent), 3 (pending) and 4 (absent)
  REQUIRE(s.first_start_ms);
  CHECK(*s.first_start_ms == b.Key(kBase).start_ms);
  CHECK(*s.last_end_ms == b.Key(kBase + 5).end_ms);
  REQUIRE(s.missing_ranges.size() == 2);
  CHECK(s.missing_ranges[0] == TimeRange{b.Key(kBase + 1).start_ms, b.Key(kBase + 1).end_ms, 1});
  CHECK(s.missing_ranges[1] == TimeRange{b.Key(kBase + 3).start_ms, b.Key(kBase + 4).end_ms, 2});
  REQUIRE(s.failed_ranges.size() == 1);
  REQUIRE(s.failed_slices.size() == 1);
  CHECK(s.failed_slices[0].key == b.KeyText(kBase + 2));
  CHECK(s.failed_slices[0].error == "HTTP 500 from Binance");
  CHECK(s.failed_slices[0].http_status == 500);
  CHECK(s.HasProblem());

  const uint64_t response_bytes =
      fs::file_size(b.ResponsePath(kBase)) + fs::file_size(b.ResponsePath(kBase + 5));
  CHECK(s.disk.responses_bytes == response_bytes);
  CHECK(s.disk.manifest_bytes == fs::file_size(b.dir() / "manifest.json"));

  const std::string text = RenderStatusText(*report);
  INFO(text);
  CHECK_THAT(text,
             Catch::Contains("klines/BTCUSDT/1m  2020-12-15T02:40:00Z  2020-12-19T06:39:59Z"));
  CHECK_THAT(text,
             Catch::Contains("missing 2020-12-15T19:20:00Z .. 2020-12-16T11:59:59Z (1 slice)"));
  CHECK_THAT(text,
             Catch::Contains("missing 2020-12-17T04:40:00Z .. 2020-12-18T13:59:59Z (2 slices)"));
  CHECK_THAT(text,
             Catch::Contains("failed  2020-12-16T12:00:00Z .. 2020-12-17T04:39:59Z (1 slice)"));
  CHECK_THAT(text, Catch::Contains(b.KeyText(kBase + 2) +
                                   ": HTTP 500, HTTP 500 from Binance (at 2025-01-01T00:03:11Z)"));
}

TEST_CASE("status --json carries the same report", "[status]") {
  ScratchDir dir;
  SeriesBuilder b = MixedSeries(dir.path());
  std::string out;
  CHECK(RunTool({"--data-root", dir.path().string(), "--json"}, &out) == kExitProblems);
  auto j = nlohmann::json::parse(out);
  CHECK(j["problem"] == true);
  REQUIRE(j["series"].size() == 1);
  const auto& s = j["series"][0];
  CHECK(s["symbol"] == "BTCUSDT");
  CHECK(s["interval"] == "1m");
  CHECK(s["manifest_error"].is_null());
  CHECK(s["first"] == "2020-12-15T02:40:00Z");
  CHECK(s["last"] == "2020-12-19T06:39:59Z");
  CHECK(s["ok"] == 1);
  CHECK(s["partial"] == 1);
  CHECK(s["failed"] == 1);
  CHECK(s["missing"] == 3);
  REQUIRE(s["missing_ranges"].size() == 2);
  CHECK(s["missing_ranges"][1]["start"] == "2020-12-17T04:40:00Z");
  CHECK(s["missing_ranges"][1]["end"] == "2020-12-18T13:59:59Z");
  CHECK(s["missing_ranges"][1]["slices"] == 2);
  REQUIRE(s["failed_slices"].size() == 1);
  CHECK(s["failed_slices"][0]["key"] == b.KeyText(kBase + 2));
  CHECK(s["failed_slices"][0]["start"] == "2020-12-16T12:00:00Z");
  CHECK(s["failed_slices"][0]["error"] == "HTTP 500 from Binance");
  CHECK(s["bytes"]["total"].get<uint64_t>() ==
        s["bytes"]["responses"].get<uint64_t>() + s["bytes"]["manifest"].get<uint64_t>());
  CHECK(s["bytes"]["manifest"].get<uint64_t>() == fs::file_size(b.dir() / "manifest.json"));
}

TEST_CASE("a complete series is no problem: exit 0", "[status]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  for (int k = 0; k < 4; ++k) b.Stored(kBase + k);
  b.Stored(kBase + 4, SliceStatus::kPartial, 1);  // the open tail
  b.Write();
  std::string out;
  CHECK(RunTool({"--data-root", dir.path().string()}, &out) == kExitOk);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("SERIES"));
  CHECK_THAT(out, Catch::Contains("MISSING"));
  CHECK_THAT(out, !Catch::Contains("ERROR"));
}

TEST_CASE("a corrupt manifest is reported for its series, the others are still shown", "[status]") {
  ScratchDir dir;
  SeriesBuilder good(dir.path(), "ETHUSDT");
  good.Stored(kBase);
  good.Write();
  SeriesBuilder bad(dir.path(), "BTCUSDT");
  bad.Stored(kBase);
  testing::WriteRaw(bad.dir() / "manifest.json", "{\"version\": 1, \"endpoint\": \"kli");

  std::string out;
  CHECK(RunTool({"--data-root", dir.path().string()}, &out) == kExitProblems);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("ERROR   corrupt manifest: "));
  CHECK_THAT(out, Catch::Contains("klines/ETHUSDT/1m  2020-12-15T02:40:00Z"));

  CHECK(RunTool({"--data-root", dir.path().string(), "--json"}, &out) == kExitProblems);
  auto j = nlohmann::json::parse(out);
  REQUIRE(j["series"].size() == 2);
  CHECK(j["series"][0]["symbol"] == "BTCUSDT");
  CHECK_THAT(j["series"][0]["manifest_error"].get<std::string>(),
             Catch::Contains("not valid JSON"));
  CHECK(j["series"][0]["bytes"]["responses"].get<uint64_t>() > 0);
  CHECK(j["series"][1]["symbol"] == "ETHUSDT");
  CHECK(j["series"][1]["manifest_error"].is_null());
  CHECK(j["series"][1]["ok"] == 1);

  // The filter shows only the good series: nothing wrong there.
  CHECK(RunTool({"--data-root", dir.path().string(), "--symbol", "ETHUSDT"}, &out) == kExitOk);
  CHECK_THAT(out, !Catch::Contains("BTCUSDT"));
}

TEST_CASE("a manifest of another series and a missing manifest are manifest errors", "[status]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path(), "BTCUSDT");
  b.manifest().symbol = "ETHUSDT";
  b.Write();
  SeriesBuilder none(dir.path(), "XRPUSDT");
  none.Stored(kBase);  // a response, never indexed
  auto report = BuildStatusReport(dir.path(), {});
  REQUIRE(report.ok());
  REQUIRE(report->series.size() == 2);
  CHECK_THAT(report->series[0].manifest_error, Catch::Contains("describes klines/ETHUSDT/1m"));
  CHECK_THAT(report->series[1].manifest_error, Catch::Contains("no manifest"));
}

TEST_CASE("keys off the grid or of another series are invalid entries", "[status]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase);
  ManifestEntry e = b.manifest().slices.begin()->second;
  b.manifest().slices["BTCUSDT:1m:1000-2000:1000"] = e;
  b.manifest().slices["ETHUSDT:1m:0-59999999:1000"] = e;
  b.manifest().slices["garbage"] = e;
  b.Write();
  auto report = BuildStatusReport(dir.path(), {});
  REQUIRE(report.ok());
  const SeriesReport& s = report->series.at(0);
  CHECK(s.ok == 1);
  CHECK(s.missing == 0);
  REQUIRE(s.invalid_entries.size() == 3);
  CHECK(s.HasProblem());
  CHECK_THAT(RenderStatusText(*report), Catch::Contains("invalid garbage: key does not parse"));
}

TEST_CASE("status of an empty or absent data root", "[status]") {
  ScratchDir dir;
  std::string out, err;
  CHECK(RunTool({"--data-root", dir.path().string()}, &out) == kExitOk);
  CHECK_THAT(out, Catch::Contains("no series found"));
  CHECK(RunTool({"--data-root", (dir.path() / "nope").string()}, &out, &err) == kExitError);
  CHECK_THAT(err, Catch::Contains("is not a directory"));
}

TEST_CASE("bad flags are usage errors with exit 64", "[status][cli]") {
  std::string out, err;
  CHECK(RunTool({"--bogus"}, &out, &err) == kExitUsage);
  CHECK_THAT(err, Catch::Contains("unknown argument '--bogus'"));
  CHECK(RunTool({"--data-root"}, &out, &err) == kExitUsage);
  CHECK_THAT(err, Catch::Contains("--data-root needs a value"));
  CHECK(RunTool({"--interval", "1M"}, &out, &err) == kExitUsage);
  CHECK_THAT(err, Catch::Contains("unsupported interval '1M'"));
  CHECK(RunTool({"--symbol", "../x"}, &out, &err) == kExitUsage);
  CHECK(RunTool({"--repair"}, &out, &err) == kExitUsage);
  CHECK(RunTool({"verify", "--persister", "tcp://127.0.0.1:1"}, &out, &err) == kExitUsage);
  CHECK(RunTool({"--json=yes"}, &out, &err) == kExitUsage);
  CHECK(RunTool({"--json", "verify"}, &out, &err) == kExitUsage);
  CHECK(RunTool({"--help"}, &out, &err) == kExitOk);
  CHECK_THAT(out, Catch::Contains("usage: qlir-status"));
}

}  // namespace
}  // namespace qlir::status_tool

namespace qlir::status_tool {
namespace {

// An aggTrades series (the id axis): ids 0-999 ok, 2000-2999 failed, 4000-4999 partial.
SeriesReport AggTradesReport() {
  Manifest m;
  m.endpoint = "aggTrades";
  m.symbol = "BTCUSDT";
  m.interval = "id";
  auto entry = [&](const std::string& key, SliceStatus status) -> ManifestEntry& {
    ManifestEntry& e = m.slices[key];
    e.slice_id = SliceId(key);
    e.relative_path = ResponseRelativePath(e.slice_id);
    e.status = status;
    return e;
  };
  entry("BTCUSDT:id:0-999:1000", SliceStatus::kOk);
  ManifestEntry& failed = entry("BTCUSDT:id:2000-2999:1000", SliceStatus::kFailed);
  failed.http_status = 500;
  failed.error = "HTTP 500 from Binance";
  entry("BTCUSDT:id:4000-4999:1000", SliceStatus::kPartial);
  return SummariseManifest(SeriesLocation{"aggTrades", "BTCUSDT", "id", "/r/aggTrades/BTCUSDT/id"},
                           m);
}

}  // namespace

TEST_CASE("status prints ids, not times, for an aggTrades series", "[status]") {
  StatusReport report;
  report.data_root = "/r";
  report.series.push_back(AggTradesReport());
  const SeriesReport& s = report.series[0];
  CHECK(s.invalid_entries.empty());
  CHECK(s.ok == 1);
  CHECK(s.partial == 1);
  CHECK(s.failed == 1);
  CHECK(s.missing == 2);
  const std::string text = RenderStatusText(report);
  CHECK_THAT(text, Catch::Contains("\naggTrades/BTCUSDT/id  id 0         id 4999 "));
  CHECK_THAT(text, Catch::Contains("\n  missing ids 1000 .. 1999 (1 slice)\n"
                                   "  missing ids 3000 .. 3999 (1 slice)\n"
                                   "  failed  ids 2000 .. 2999 (1 slice)\n"
                                   "    ids 2000 .. 2999  BTCUSDT:id:2000-2999:1000: HTTP 500, "
                                   "HTTP 500 from Binance\n"));
  CHECK(text.find("1970") == std::string::npos);  // no id read as a time

  auto j = nlohmann::json::parse(RenderStatusJson(report))["series"][0];
  CHECK(j["axis"] == "id");
  CHECK(j["first"].is_null());
  CHECK(j["last"].is_null());
  CHECK(j["first_ms"] == 0);
  CHECK(j["last_ms"] == 4999);
  CHECK(j["missing_ranges"][0]["start"].is_null());
  CHECK(j["missing_ranges"][0]["start_ms"] == 1000);
  CHECK(j["missing_ranges"][1]["end_ms"] == 3999);
  CHECK(j["failed_slices"][0]["start_ms"] == 2000);
  CHECK(j["failed_slices"][0]["end"].is_null());
  // Klines keep their times.
  ScratchDir dir;
  MixedSeries(dir.path());
  auto k = BuildStatusReport(dir.path(), {});
  REQUIRE(k.ok());
  auto kj = nlohmann::json::parse(RenderStatusJson(*k))["series"][0];
  CHECK(kj["axis"] == "time");
  CHECK(kj["first"] == "2020-12-15T02:40:00Z");
}

}  // namespace qlir::status_tool
