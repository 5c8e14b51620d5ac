// The oracle itself: a data root written by hand as the persister would write it passes, and
// each kind of damage DataRootChecker exists to find is reported. (An oracle that cannot fail
// would make every end-to-end test that relies on it pass for nothing.)
#include "tests/data_root_check.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/json.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "tests/test_util.h"

namespace qlir::testing {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kStart = 1704060000000;  // 2023-12-31T22:00:00Z, on the 1m slice grid
constexpr int64_t kSlice = 60000LL * 1000;

// A data root holding three closed 1m slices of BTCUSDT, each ok with the simulator's bytes.
struct Root {
  Root() {
    spec.symbol = "BTCUSDT";
    spec.listing_ms = 1502942400000;
    wanted = {{spec, "1m", kStart, kStart + 3 * kSlice - 1}};
    dir = *SeriesDir(scratch.path(), "klines", "BTCUSDT", "1m");
    fs::create_directories(dir / "responses");
    manifest.endpoint = "klines";
    manifest.symbol = "BTCUSDT";
    manifest.interval = "1m";
    manifest.last_evaluated_at = "2025-01-01T00:00:00Z";
    auto slices = klines::GenerateKlineSlices("BTCUSDT", "1m", kStart, wanted[0].end_ms);
    REQUIRE(slices.ok());
    for (const auto& k : *slices) {
      keys.push_back(k);
      const std::string body = *sim::KlinesJson(spec, "1m", k.start_ms, k.end_ms, 1000, kNow);
      WriteResponse(k, body, "2025-01-01T00:00:00Z");
      auto rows = nlohmann::json::parse(body);
      ManifestEntry e;
      e.slice_id = k.slice_id();
      e.relative_path = ResponseRelativePath(k.slice_id());
      e.status = SliceStatus::kOk;
      e.http_status = 200;
      e.n_items = static_cast<int64_t>(rows.size());
      e.first_ts = rows.front()[0].get<int64_t>();
      e.last_ts = rows.back()[0].get<int64_t>();
      e.digest = BodyDigest(body);  // as the persister records it
      manifest.slices[k.composite_key()] = e;
    }
    WriteManifest();
  }
  // The response file of `k`, fetched at `fetched_at` from the URL of `url_of` (default: `k`).
  void WriteResponse(const klines::KlineSliceKey& k, const std::string& body,
                     const std::string& fetched_at, const klines::KlineSliceKey* url_of = nullptr) {
    const std::string url = klines::BuildKlineUrl("https://x.test", url_of ? *url_of : k);
    const std::string file = EncodeResponseFile({url, k.composite_key(), fetched_at}, body);
    REQUIRE(WriteFileAtomic(dir / ResponseRelativePath(k.slice_id()), file).ok());
  }
  void WriteManifest() {
    REQUIRE(WriteFileAtomic(dir / "manifest.json", SerializeManifest(manifest)).ok());
  }
  CheckReport Check(bool final, CheckOptions options = {}) {
    options.now_ms = kNow;
    return DataRootChecker(scratch.path(), wanted, options).Run(final);
  }
  static bool Names(const CheckReport& r, const std::string& what) {
    for (const auto& p : r.problems) {
      if (p.find(what) != std::string::npos) return true;
    }
    return false;
  }

  static constexpr int64_t kNow = 1735689600000;  // 2025-01-01: every slice closed
  ScratchDir scratch;
  sim::SymbolSpec spec;
  std::vector<WantedSeries> wanted;
  fs::path dir;
  Manifest manifest;
  std::vector<klines::KlineSliceKey> keys;
};

}  // namespace

TEST_CASE("a complete data root passes the oracle when final and live", "[data_root_check]") {
  Root root;
  const CheckReport r = root.Check(/*final=*/true, {.live_entries = true});
  INFO(r.Text());
  CHECK(r.problems.empty());
  CHECK(r.expected == 3);
  CHECK(r.ok == 3);
  CHECK(r.response_files == 3);
}

TEST_CASE("the oracle finds changed bytes and wrong counts and a missing file",
          "[data_root_check]") {
  Root root;
  const auto& k = root.keys[0];
  std::string body = *sim::KlinesJson(root.spec, "1m", k.start_ms, k.end_ms, 1000, Root::kNow);
  body[body.find("\",\"") - 1] ^= 1;  // one digit of the first open price
  root.WriteResponse(k, body, "2025-01-01T00:00:00Z");
  root.manifest.slices[root.keys[1].composite_key()].n_items = 999;
  fs::remove(root.dir / ResponseRelativePath(root.keys[2].slice_id()));
  root.WriteManifest();
  const CheckReport r = root.Check(/*final=*/false);
  INFO(r.Text());
  CHECK(r.ok == 0);
  CHECK(Root::Names(r, "its data differs from the exchange's: " + k.composite_key()));
  CHECK(Root::Names(r, "n_items/first_ts/last_ts are wrong: " + root.keys[1].composite_key()));
  CHECK(Root::Names(r, "cannot be read"));
}

TEST_CASE("the oracle finds a manifest digest that is absent or not the data's",
          "[data_root_check]") {
  Root root;
  root.manifest.slices[root.keys[0].composite_key()].digest.reset();
  root.manifest.slices[root.keys[1].composite_key()].digest = BodyDigest("[]");
  root.WriteManifest();
  const CheckReport r = root.Check(/*final=*/false);
  INFO(r.Text());
  CHECK(r.ok == 1);
  CHECK(Root::Names(r, "its manifest digest is absent, not BLAKE2b-256 of its data: " +
                           root.keys[0].composite_key()));
  CHECK(Root::Names(r, "not BLAKE2b-256 of its data: " + root.keys[1].composite_key()));
}

TEST_CASE("the oracle finds unexpected and lost and misnamed and wrongly fetched slices",
          "[data_root_check]") {
  Root root;
  const std::string stray = "BTCUSDT:1m:0-59999999:1000";
  root.manifest.slices[stray] = root.manifest.slices.begin()->second;
  root.manifest.slices[stray].status = SliceStatus::kFailed;  // counted by the summary
  root.manifest.slices[root.keys[0].composite_key()].slice_id = std::string(32, 'a');
  root.manifest.slices.erase(root.keys[1].composite_key());
  root.WriteManifest();
  const auto& k = root.keys[2];
  root.WriteResponse(k, *sim::KlinesJson(root.spec, "1m", k.start_ms, k.end_ms, 1000, Root::kNow),
                     "2025-01-01T00:00:00Z", &root.keys[1]);
  const CheckReport r = root.Check(/*final=*/true);
  INFO(r.Text());
  CHECK(Root::Names(r, "unexpected slice in manifest: " + stray));
  CHECK(Root::Names(r, "wrong slice id or path: " + root.keys[0].composite_key()));
  CHECK(Root::Names(r, "lost: not ok at the end: " + root.keys[1].composite_key()));
  CHECK(Root::Names(r, "was fetched from"));
  CHECK(Root::Names(r, "summary of BTCUSDT 1m"));
}

TEST_CASE("the oracle finds temporaries and extra files and entries that did not come live",
          "[data_root_check]") {
  Root root;
  REQUIRE(WriteFileAtomic(root.dir / "responses" / "x.json.tmp", "{").ok());
  REQUIRE(WriteFileAtomic(root.dir / "responses" / (std::string(32, 'b') + ".json"), "{}").ok());
  root.manifest.slices.begin()->second.http_status.reset();
  root.WriteManifest();
  CHECK(root.Check(/*final=*/false).problems.empty());  // recovered entries have no status
  const CheckReport r = root.Check(/*final=*/true, {.live_entries = true});
  INFO(r.Text());
  CHECK(r.temporaries == 1);
  CHECK(Root::Names(r, "temporaries left"));
  CHECK(Root::Names(r, "responses/ of BTCUSDT 1m holds 5 names, want 3"));
  CHECK(Root::Names(r, "without HTTP 200"));
}

TEST_CASE("a partial slice must be expected and fetched before its window closed",
          "[data_root_check]") {
  Root root;
  const auto& k = root.keys[2];
  auto& e = root.manifest.slices[k.composite_key()];
  e.status = SliceStatus::kPartial;
  root.WriteManifest();
  const std::string body =
      *sim::KlinesJson(root.spec, "1m", k.start_ms, k.end_ms, 1000, Root::kNow);
  root.WriteResponse(k, body, FormatIsoUtc(k.end_ms - 60000));  // fetched while open
  CHECK(Root::Names(root.Check(/*final=*/true), "lost: not ok at the end: " + k.composite_key()));
  CHECK(root.Check(/*final=*/true, {.partial = {k.composite_key()}}).problems.empty());
  root.WriteResponse(k, body, FormatIsoUtc(k.end_ms + 1000));  // after it closed
  CHECK(Root::Names(root.Check(/*final=*/true, {.partial = {k.composite_key()}}),
                    "fetched after its window closed"));
  CHECK(Root::Names(root.Check(/*final=*/true, {.partial = {root.keys[0].composite_key()}}),
                    "not partial at the end: " + root.keys[0].composite_key()));
}

}  // namespace qlir::testing
