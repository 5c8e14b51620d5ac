#include "persister/recovery.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/json.h"
#include "common/manifest.h"
#include "common/slice_key.h"
#include "persister/json_manifest_store.h"
#include "persister/test_util.h"
#include "tests/test_util.h"

using namespace qlir;
using namespace qlir::persister;
using namespace qlir::persister::testing;
namespace fs = std::filesystem;

namespace {

const SeriesId kSeries{"klines", "BTCUSDT", "1m"};

Result<RecoveredSeries> Recover(const fs::path& root,
                                VerifyResponses verify = VerifyResponses::kQuick) {
  RecoveryOptions o;
  o.disk = RealDisk();
  o.wall_now_ms = 1735689683000;  // 2025-01-01T00:01:23Z
  o.verify = verify;
  return RecoverSeries(SeriesPath(root), kSeries, o);
}

void WriteText(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("a series that was never written recovers empty and touches nothing", "[recovery]") {
  qlir::testing::ScratchDir root;
  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->manifest.slices.empty());
  CHECK_FALSE(r->report.changed);
  CHECK_FALSE(fs::exists(SeriesPath(root.path())));
}

TEST_CASE("crash between response file and manifest: the file is indexed from its meta",
          "[recovery]") {
  qlir::testing::ScratchDir root;
  auto closed = Slice(10);
  auto open = Slice(11);
  WriteResponse(root.path(), closed, closed.end_ms + 1000, 5);
  WriteResponse(root.path(), open, open.end_ms - 60000, 2);  // fetched before the window closed
  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->report.indexed == 2);
  CHECK(r->report.changed);
  const ManifestEntry& e = r->manifest.slices.at(closed.composite_key());
  CHECK(e.status == SliceStatus::kOk);
  CHECK(e.digest == BodyDigest(Body(closed, 5)));  // the file's data bytes
  CHECK(r->manifest.slices.at(open.composite_key()).digest == BodyDigest(Body(open, 2)));
  CHECK(e.slice_id == closed.slice_id());
  CHECK(e.relative_path == "responses/" + closed.slice_id() + ".json");
  CHECK(e.n_items == 5);
  CHECK(e.first_ts == closed.start_ms);
  CHECK(e.last_ts == closed.start_ms + 4 * 60000);
  CHECK(e.completed_at == FormatIsoUtc(closed.end_ms + 1000));
  CHECK(r->manifest.slices.at(open.composite_key()).status == SliceStatus::kPartial);
}

TEST_CASE("the store writes the recovered index and a second recovery changes nothing",
          "[recovery]") {
  qlir::testing::ScratchDir root;
  auto k = Slice(3);
  WriteResponse(root.path(), k, k.end_ms + 1000);
  {
    JsonManifestStore store(root.path(), {}, RealDisk());
    auto st = store.Lookup(kSeries, k.composite_key());
    REQUIRE(st.ok());
    CHECK(**st == SliceStatus::kOk);
  }
  auto text = ReadFile(SeriesPath(root.path()) / "manifest.json");
  REQUIRE(text.ok());
  auto m = ParseManifest(*text, "manifest");
  REQUIRE(m.ok());
  CHECK(m->slices.at(k.composite_key()).status == SliceStatus::kOk);
  auto again = Recover(root.path());
  REQUIRE(again.ok());
  CHECK_FALSE(again->report.changed);
}

TEST_CASE("a failed entry with a response file on disk takes the file's status", "[recovery]") {
  qlir::testing::ScratchDir root;
  auto k = Slice(4);
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1m";
  ManifestEntry e;
  e.slice_id = k.slice_id();
  e.relative_path = "responses/" + e.slice_id + ".json";
  e.status = SliceStatus::kFailed;
  e.http_status = 500;
  e.error = "HTTP 500";
  m.slices[k.composite_key()] = e;
  WriteText(SeriesPath(root.path()) / "manifest.json", SerializeManifest(m));
  WriteResponse(root.path(), k, k.end_ms + 1000);
  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->manifest.slices.at(k.composite_key()).status == SliceStatus::kOk);
}

TEST_CASE("an ok entry whose file is missing or truncated becomes pending", "[recovery]") {
  qlir::testing::ScratchDir root;
  auto missing = Slice(1);
  auto truncated = Slice(2);
  auto good = Slice(3);
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1m";
  for (const auto& k : {missing, truncated, good}) {
    ManifestEntry e;
    e.slice_id = k.slice_id();
    e.relative_path = "responses/" + e.slice_id + ".json";
    e.status = SliceStatus::kOk;
    e.http_status = 200;
    e.n_items = 3;
    e.digest = BodyDigest(Body(k, 3));  // a current manifest (an old one is upgraded, below)
    m.slices[k.composite_key()] = e;
  }
  WriteText(SeriesPath(root.path()) / "manifest.json", SerializeManifest(m));
  WriteResponse(root.path(), truncated, truncated.end_ms + 1000);
  WriteResponse(root.path(), good, good.end_ms + 1000);
  auto text = ReadFile(ResponsePath(root.path(), truncated));
  REQUIRE(text.ok());
  fs::resize_file(ResponsePath(root.path(), truncated), text->size() / 2);

  CHECK(Recover(root.path(), VerifyResponses::kExists)->report.demoted ==
        1);  // only the missing one
  for (VerifyResponses v : {VerifyResponses::kQuick, VerifyResponses::kFull}) {
    auto r = Recover(root.path(), v);
    REQUIRE(r.ok());
    CHECK(r->report.demoted == 2);
    CHECK(r->manifest.slices.at(missing.composite_key()).status == SliceStatus::kPending);
    CHECK(r->manifest.slices.at(truncated.composite_key()).status == SliceStatus::kPending);
    CHECK(r->manifest.slices.at(good.composite_key()).status == SliceStatus::kOk);
    // The damaged file is left for a refetch to overwrite.
    CHECK(fs::exists(ResponsePath(root.path(), truncated)));
  }
}

TEST_CASE("a truncated response file the manifest lacks is left alone", "[recovery]") {
  qlir::testing::ScratchDir root;
  auto k = Slice(5);
  WriteResponse(root.path(), k, k.end_ms + 1000);
  fs::resize_file(ResponsePath(root.path(), k), 40);
  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->manifest.slices.empty());
  CHECK(r->report.undecodable == 1);
  CHECK(fs::exists(ResponsePath(root.path(), k)));
}

TEST_CASE("leftover temporaries are removed, unknown names are left alone", "[recovery]") {
  qlir::testing::ScratchDir root;
  const fs::path dir = SeriesPath(root.path());
  WriteText(dir / "responses" / "0123456789abcdef0123456789abcdef.json.77.0.tmp", "{\"meta\":");
  WriteText(dir / "manifest.json.77.3.tmp", "{");
  WriteText(dir / "responses" / "notes.txt", "mine");
  WriteText(dir / "README", "mine too");
  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->report.temporaries_removed == 2);
  CHECK(r->report.ignored_names == 2);
  CHECK_FALSE(fs::exists(dir / "responses" / "0123456789abcdef0123456789abcdef.json.77.0.tmp"));
  CHECK_FALSE(fs::exists(dir / "manifest.json.77.3.tmp"));
  CHECK(fs::exists(dir / "responses" / "notes.txt"));
  CHECK(fs::exists(dir / "README"));
}

// Issue #7: a directory named like a response file made the slice unstorable for ever (the
// rename of every refetched result onto it failed), so a --once run never finished.
TEST_CASE("issue7 - a directory under a response file's name is moved aside - its slice pending",
          "[recovery]") {
  qlir::testing::ScratchDir root;
  auto listed = Slice(1);
  auto unlisted = Slice(2);
  auto good = Slice(3);
  WriteResponse(root.path(), listed, listed.end_ms + 1000);
  WriteResponse(root.path(), good, good.end_ms + 1000);
  {
    // The store indexes both and writes a manifest listing them as ok.
    JsonManifestStore store(root.path(), {}, RealDisk());
    REQUIRE(store.LoadStatuses(kSeries).ok());
  }
  REQUIRE(fs::exists(SeriesPath(root.path()) / "manifest.json"));
  fs::remove(ResponsePath(root.path(), listed));
  fs::create_directories(ResponsePath(root.path(), listed) / "inside");
  fs::create_directories(ResponsePath(root.path(), unlisted));
  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->report.unreadable_moved == 2);
  CHECK(r->report.demoted == 1);
  CHECK(r->manifest.slices.at(listed.composite_key()).status == SliceStatus::kPending);
  CHECK(r->manifest.slices.at(good.composite_key()).status == SliceStatus::kOk);
  CHECK(r->manifest.slices.count(unlisted.composite_key()) == 0);
  // The names are free for the refetched results; what was there is kept aside.
  CHECK_FALSE(fs::exists(ResponsePath(root.path(), listed)));
  CHECK_FALSE(fs::exists(ResponsePath(root.path(), unlisted)));
  size_t aside = 0;
  for (const auto& e : fs::directory_iterator(ResponsePath(root.path(), good).parent_path())) {
    aside += IsUnreadableResponseName(e.path().filename().string());
  }
  CHECK(aside == 2);
  CHECK(WriteFileAtomic(ResponsePath(root.path(), listed), "{}").ok());
  // A later recovery leaves the kept-aside names alone without a warning each time.
  auto again = Recover(root.path());
  REQUIRE(again.ok());
  CHECK(again->report.unreadable_moved == 0);
  CHECK(again->report.ignored_names == 0);
  CHECK(UnreadableResponseName(listed.slice_id() + ".json", 1735689683000) ==
        listed.slice_id() + ".json.unreadable-20250101T000123Z");
}

TEST_CASE("a corrupt manifest is moved aside and rebuilt from the response files", "[recovery]") {
  qlir::testing::ScratchDir root;
  const fs::path dir = SeriesPath(root.path());
  auto k = Slice(6);
  WriteResponse(root.path(), k, k.end_ms + 1000);
  WriteText(dir / "manifest.json", "{\"version\": 1, \"endpoint\": \"kli");
  {
    JsonManifestStore store(root.path(), {}, RealDisk());
    auto statuses = store.LoadStatuses(kSeries);
    REQUIRE(statuses.ok());
    CHECK(statuses->at(k.composite_key()) == SliceStatus::kOk);
  }
  // The damaged text is kept, byte for byte, under a name saying what it is.
  bool found = false;
  for (const auto& f : fs::directory_iterator(dir)) {
    const std::string name = f.path().filename().string();
    if (ClassifySeriesName(name) == SeriesName::kCorruptManifest) {
      found = true;
      CHECK(name.starts_with("manifest.json.corrupt-"));
      CHECK(*ReadFile(f.path()) == "{\"version\": 1, \"endpoint\": \"kli");
    }
  }
  CHECK(found);
  auto text = ReadFile(dir / "manifest.json");
  REQUIRE(text.ok());
  auto m = ParseManifest(*text, "rebuilt");
  REQUIRE(m.ok());
  CHECK(m->slices.size() == 1);
}

TEST_CASE("a manifest of another series counts as corrupt", "[recovery]") {
  qlir::testing::ScratchDir root;
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "ETHUSDT";
  m.interval = "1m";
  WriteText(SeriesPath(root.path()) / "manifest.json", SerializeManifest(m));
  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->report.manifest_corrupt);
  CHECK_FALSE(fs::exists(SeriesPath(root.path()) / "manifest.json"));
}

TEST_CASE("corrupt-manifest names and series names classify", "[recovery]") {
  CHECK(CorruptManifestName(1735689683000) == "manifest.json.corrupt-20250101T000123Z");
  CHECK(ClassifySeriesName("manifest.json") == SeriesName::kManifest);
  CHECK(ClassifySeriesName("manifest.json.12.0.tmp") == SeriesName::kManifestTemporary);
  CHECK(ClassifySeriesName("manifest.json.corrupt-20250101T000123Z") ==
        SeriesName::kCorruptManifest);
  CHECK(ClassifySeriesName("responses") == SeriesName::kResponsesDir);
  CHECK(ClassifySeriesName("manifest.json.bak") == SeriesName::kOther);
  CHECK(ClassifySeriesName("manifest.json..tmp") == SeriesName::kOther);
  CHECK(ClassifySeriesName("other.tmp") == SeriesName::kOther);
}

TEST_CASE("a window is partial until fetched after it closed", "[recovery]") {
  SliceKey k{"BTCUSDT", "1m", 0, 100, 1000};
  CHECK_FALSE(k.ClosedAt(100));  // fetched at its last millisecond: partial
  CHECK(k.ClosedAt(101));        // fetched after it: ok
}

namespace {

// An entry as a manifest written before digests existed holds it: every field but `digest`.
ManifestEntry OldEntry(const klines::KlineSliceKey& k, SliceStatus status, int n) {
  ManifestEntry e;
  e.slice_id = k.slice_id();
  e.relative_path = "responses/" + e.slice_id + ".json";
  e.status = status;
  e.http_status = 200;
  e.n_items = n;
  e.first_ts = k.start_ms;
  e.last_ts = k.start_ms + (n - 1) * 60000LL;
  e.requested_at = "2025-01-01T00:00:00Z";
  e.completed_at = "2025-01-01T00:00:01Z";
  return e;
}

Manifest OldManifest() {
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1m";
  m.last_evaluated_at = "2025-01-01T00:00:02Z";
  return m;
}

}  // namespace

TEST_CASE("a manifest written before digests is upgraded in place from the files, no refetch",
          "[recovery]") {
  qlir::testing::ScratchDir root;
  const auto a = Slice(1), b = Slice(2), other_rows = Slice(3), swapped = Slice(4),
             pending = Slice(5);
  Manifest m = OldManifest();
  m.slices[a.composite_key()] = OldEntry(a, SliceStatus::kOk, 3);
  m.slices[b.composite_key()] = OldEntry(b, SliceStatus::kPartial, 2);
  m.slices[other_rows.composite_key()] = OldEntry(other_rows, SliceStatus::kOk, 3);
  m.slices[swapped.composite_key()] = OldEntry(swapped, SliceStatus::kOk, 3);
  ManifestEntry p = OldEntry(pending, SliceStatus::kPending, 1);
  m.slices[pending.composite_key()] = p;
  WriteResponse(root.path(), a, a.end_ms + 1000, 3);
  WriteResponse(root.path(), b, b.end_ms - 60000, 2);
  WriteResponse(root.path(), other_rows, other_rows.end_ms + 1000, 2);  // not what was recorded
  WriteResponse(root.path(), swapped, swapped.end_ms + 1000, 3);
  WriteResponse(root.path(), pending, pending.end_ms + 1000, 1);
  // Another slice's file copied over this one's.
  const auto file_a = ReadFile(ResponsePath(root.path(), a));
  REQUIRE(file_a.ok());
  WriteText(ResponsePath(root.path(), swapped), *file_a);
  const std::string old_text = SerializeManifest(m);
  CHECK(old_text.find("digest") == std::string::npos);
  WriteText(SeriesPath(root.path()) / "manifest.json", old_text);
  auto lacking = CountEntriesWithoutDigest(SeriesPath(root.path()) / "manifest.json");
  REQUIRE(lacking.ok());
  CHECK(*lacking == 4);  // the pending entry needs none

  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->report.digested == 2);
  CHECK(r->report.demoted == 2);
  CHECK(r->report.indexed == 0);
  CHECK(r->report.changed);
  const auto& s = r->manifest.slices;
  CHECK(s.at(a.composite_key()).digest == BodyDigest(Body(a, 3)));
  CHECK(s.at(a.composite_key()).status == SliceStatus::kOk);
  CHECK(s.at(b.composite_key()).digest == BodyDigest(Body(b, 2)));
  CHECK(s.at(b.composite_key()).status == SliceStatus::kPartial);
  // Everything else of the upgraded entries is as it was.
  ManifestEntry upgraded = s.at(a.composite_key());
  upgraded.digest.reset();
  CHECK(upgraded == m.slices.at(a.composite_key()));
  // A file that is not the entry's gets no digest: fetched again.
  CHECK(s.at(other_rows.composite_key()).status == SliceStatus::kPending);
  CHECK_FALSE(s.at(other_rows.composite_key()).digest);
  CHECK(s.at(swapped.composite_key()).status == SliceStatus::kPending);
  CHECK(s.at(pending.composite_key()) == p);

  // Through the store, the upgrade is written in place at load, and files are untouched.
  {
    JsonManifestStore store(root.path(), {}, RealDisk());
    REQUIRE(store.LoadStatuses(kSeries).ok());
  }
  auto written = ParseManifestFile((SeriesPath(root.path()) / "manifest.json").string());
  REQUIRE(written.ok());
  CHECK(written->slices.at(a.composite_key()).digest == BodyDigest(Body(a, 3)));
  CHECK(written->slices.at(b.composite_key()).digest == BodyDigest(Body(b, 2)));
  CHECK(*ReadFile(ResponsePath(root.path(), a)) == *file_a);
  CHECK(*CountEntriesWithoutDigest(SeriesPath(root.path()) / "manifest.json") == 0);
  auto again = Recover(root.path());
  REQUIRE(again.ok());
  CHECK_FALSE(again->report.changed);
  CHECK(again->report.digested == 0);
}

TEST_CASE("entries without a digest are counted whatever the manifest's layout", "[recovery]") {
  qlir::testing::ScratchDir root;
  const fs::path path = SeriesPath(root.path()) / "manifest.json";
  Manifest m = OldManifest();
  for (int i = 1; i <= 5; ++i) {
    m.slices[Slice(i).composite_key()] =
        OldEntry(Slice(i), i == 5 ? SliceStatus::kFailed : SliceStatus::kOk, 3);
  }
  m.slices[Slice(2).composite_key()].digest = BodyDigest("x");
  m.slices[Slice(3).composite_key()].status = SliceStatus::kPartial;
  // An error text that quotes the field names does not count (its quotes are escaped).
  m.slices[Slice(5).composite_key()].error = R"(weird "status": "ok" "digest": "x")";
  WriteText(path, SerializeManifest(m));
  auto n = CountEntriesWithoutDigest(path);
  REQUIRE(n.ok());
  CHECK(*n == 3);
  // Written by another tool, compactly: the same answer.
  WriteText(path, nlohmann::json::parse(SerializeManifest(m)).dump());
  n = CountEntriesWithoutDigest(path);
  REQUIRE(n.ok());
  CHECK(*n == 3);
  // Every stored entry with a digest: none, also across the scan's 1 MiB chunks.
  for (int i = 10; i < 9000; ++i) {
    ManifestEntry e = OldEntry(Slice(i), SliceStatus::kOk, 3);
    e.digest = BodyDigest(std::to_string(i));
    m.slices[Slice(i).composite_key()] = e;
  }
  for (int i = 1; i <= 4; ++i) m.slices[Slice(i).composite_key()].digest = BodyDigest("y");
  const std::string text = SerializeManifest(m);
  REQUIRE(text.size() > (2u << 20));
  WriteText(path, text);
  n = CountEntriesWithoutDigest(path);
  REQUIRE(n.ok());
  CHECK(*n == 0);
  m.slices[Slice(4500).composite_key()].digest.reset();
  WriteText(path, SerializeManifest(m));
  n = CountEntriesWithoutDigest(path);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  WriteText(path, "{\n  \"version\": 1, broken \"status\": \"ok\"");
  CHECK_FALSE(CountEntriesWithoutDigest(path).ok());  // parsed, since the scan cannot say 0
  fs::remove(path);
  CHECK_FALSE(CountEntriesWithoutDigest(path).ok());
}

TEST_CASE("full recovery checks a listed file against its digest", "[recovery]") {
  qlir::testing::ScratchDir root;
  const auto good = Slice(1), changed = Slice(2);
  Manifest m = OldManifest();
  for (const auto& k : {good, changed}) {
    WriteResponse(root.path(), k, k.end_ms + 1000, 3);
    ManifestEntry e = OldEntry(k, SliceStatus::kOk, 3);
    e.digest = BodyDigest(Body(k, 3));
    m.slices[k.composite_key()] = e;
  }
  WriteText(SeriesPath(root.path()) / "manifest.json", SerializeManifest(m));
  // One value changed inside valid JSON: same framing, same rows, other bytes.
  auto text = ReadFile(ResponsePath(root.path(), changed));
  REQUIRE(text.ok());
  const size_t at = text->find("\"2.0\"");
  REQUIRE(at != std::string::npos);
  WriteText(ResponsePath(root.path(), changed), text->replace(at, 5, "\"2.1\""));
  auto quick = Recover(root.path(), VerifyResponses::kQuick);
  REQUIRE(quick.ok());
  CHECK(quick->report.demoted == 0);  // framing only: it cannot tell
  auto full = Recover(root.path(), VerifyResponses::kFull);
  REQUIRE(full.ok());
  CHECK(full->report.demoted == 1);
  CHECK(full->manifest.slices.at(changed.composite_key()).status == SliceStatus::kPending);
  CHECK_FALSE(full->manifest.slices.at(changed.composite_key()).digest);
  CHECK(full->manifest.slices.at(good.composite_key()).status == SliceStatus::kOk);
}

TEST_CASE("the upgrade reads exchange-shaped bodies with the endpoint's own scanner",
          "[recovery]") {
  qlir::testing::ScratchDir root;
  const auto k = Slice(7);
  std::string body = "[";
  for (int i = 0; i < 4; ++i) {
    const int64_t t = k.start_ms + i * 60000LL;
    body += std::string(i ? "," : "") + "[" + std::to_string(t) +
            R"(,"10.0","12.0","9.0","11.0","5.0",)" + std::to_string(t + 59999) +
            R"(,"55.0",3,"2.0","22.0","0"])";
  }
  body += "]";
  const fs::path path = ResponsePath(root.path(), k);
  fs::create_directories(path.parent_path());
  WriteText(path, EncodeResponseFile({"u", k.composite_key(), FormatIsoUtc(k.end_ms + 1)}, body));
  Manifest m = OldManifest();
  m.slices[k.composite_key()] = OldEntry(k, SliceStatus::kOk, 4);
  WriteText(SeriesPath(root.path()) / "manifest.json", SerializeManifest(m));
  auto r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->report.digested == 1);
  CHECK(r->manifest.slices.at(k.composite_key()).digest == BodyDigest(body));
  // The same file with a row too many for the entry: not vouched for.
  m.slices[k.composite_key()] = OldEntry(k, SliceStatus::kOk, 5);
  WriteText(SeriesPath(root.path()) / "manifest.json", SerializeManifest(m));
  r = Recover(root.path());
  REQUIRE(r.ok());
  CHECK(r->report.demoted == 1);
}
