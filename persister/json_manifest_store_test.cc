#include "persister/json_manifest_store.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>

#include "common/atomic_file.h"
#include "common/manifest.h"
#include "persister/test_util.h"
#include "tests/test_util.h"

using namespace qlir;
using namespace qlir::persister;
using namespace qlir::persister::testing;
namespace fs = std::filesystem;

namespace {

const SeriesId kSeries{"klines", "BTCUSDT", "1m"};

// The store's clock in these tests: 2025-01-01T00:01:23Z, moved by hand.
struct TestClock {
  ManualClock clock{1735689683000};
  int64_t now() const { return clock.MonotonicNowMs(); }
  JsonStoreOptions Options() {
    JsonStoreOptions o;
    o.clock = &clock;
    return o;
  }
};

Result<Manifest> OnDisk(const fs::path& root) {
  auto text = ReadFile(SeriesPath(root) / "manifest.json");
  if (!text) return text.status();
  return ParseManifest(*text, "manifest.json");
}

}  // namespace

TEST_CASE("records become the documented manifest entries and are flushed on demand", "[store]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  JsonManifestStore store(root.path(), clock.Options(), RealDisk());
  auto ok = Slice(1);
  auto failed = Slice(2);
  REQUIRE(store.LoadStatuses(kSeries).ok());  // loaded before the file appears
  WriteResponse(root.path(), ok, ok.end_ms + 1000);
  REQUIRE(*store.Record(kSeries, StoreRecord(ok, SliceStatus::kOk)) == SliceStatus::kOk);
  REQUIRE(*store.Record(kSeries, StoreRecord(failed, SliceStatus::kFailed)) ==
          SliceStatus::kFailed);
  CHECK_FALSE(fs::exists(SeriesPath(root.path()) / "manifest.json"));  // group commit
  REQUIRE(store.Flush().ok());
  auto m = OnDisk(root.path());
  REQUIRE(m.ok());
  CHECK(m->endpoint == "klines");
  CHECK(m->limit == 1000);
  CHECK(m->last_evaluated_at == "2025-01-01T00:01:23Z");
  const ManifestEntry& e = m->slices.at(ok.composite_key());
  CHECK(e.slice_id == ok.slice_id());
  CHECK(e.relative_path == "responses/" + ok.slice_id() + ".json");
  CHECK(e.status == SliceStatus::kOk);
  CHECK(e.http_status == 200);
  CHECK(e.n_items == 3);
  CHECK(e.first_ts == ok.start_ms);
  CHECK(e.requested_at == "2025-01-01T00:01:23Z");
  CHECK(e.error == std::nullopt);
  const ManifestEntry& f = m->slices.at(failed.composite_key());
  CHECK(f.status == SliceStatus::kFailed);
  CHECK(f.http_status == 500);
  CHECK(f.error == "HTTP 500");
  CHECK(f.first_ts == std::nullopt);
  const ManifestSummary s = m->Summary();
  CHECK(s.total_slices == 2);
  CHECK(s.ok_slices == 1);
  CHECK(s.failed_slices == 1);
}

TEST_CASE("ok is never replaced by failed or partial, partial not by failed", "[store]") {
  qlir::testing::ScratchDir root;
  JsonManifestStore store(root.path(), {}, RealDisk());
  auto k = Slice(1);
  auto p = Slice(2);
  REQUIRE(*store.Record(kSeries, StoreRecord(k, SliceStatus::kOk)) == SliceStatus::kOk);
  CHECK(*store.Record(kSeries, StoreRecord(k, SliceStatus::kFailed)) == SliceStatus::kOk);
  CHECK(*store.Record(kSeries, StoreRecord(k, SliceStatus::kPartial)) == SliceStatus::kOk);
  REQUIRE(*store.Record(kSeries, StoreRecord(p, SliceStatus::kFailed)) == SliceStatus::kFailed);
  CHECK(*store.Record(kSeries, StoreRecord(p, SliceStatus::kPartial)) == SliceStatus::kPartial);
  CHECK(*store.Record(kSeries, StoreRecord(p, SliceStatus::kFailed)) == SliceStatus::kPartial);
  CHECK(*store.Record(kSeries, StoreRecord(p, SliceStatus::kOk)) == SliceStatus::kOk);
  const Manifest* m = store.Peek(kSeries);
  REQUIRE(m);
  CHECK(m->slices.at(k.composite_key()).error == std::nullopt);
  CHECK(m->slices.at(k.composite_key()).http_status == 200);
}

TEST_CASE("the same result twice leaves one entry and no extra write", "[store]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  auto opts = clock.Options();
  opts.flush_every = 1;
  JsonManifestStore store(root.path(), opts, RealDisk());
  auto k = Slice(1);
  for (SliceStatus s : {SliceStatus::kFailed, SliceStatus::kPartial, SliceStatus::kOk}) {
    REQUIRE(store.Record(kSeries, StoreRecord(k, s)).ok());
    REQUIRE(store.FlushDue(clock.now()).ok());
    const int64_t flushes = store.flushes();
    REQUIRE(store.Record(kSeries, StoreRecord(k, s)).ok());
    REQUIRE(store.FlushDue(clock.now()).ok());
    CHECK(store.flushes() == flushes);
    CHECK(store.Peek(kSeries)->slices.size() == 1);
  }
}

TEST_CASE("group commit: after flush_every updates or flush_ms", "[store]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  auto opts = clock.Options();
  opts.flush_every = 3;
  opts.flush_ms = 500;
  opts.adaptive = false;
  JsonManifestStore store(root.path(), opts, RealDisk());
  CHECK_FALSE(store.NextFlushMs());
  REQUIRE(store.Record(kSeries, StoreRecord(Slice(1), SliceStatus::kFailed)).ok());
  REQUIRE(store.Record(kSeries, StoreRecord(Slice(2), SliceStatus::kFailed)).ok());
  CHECK(store.NextFlushMs() == clock.now() + 500);
  REQUIRE(store.FlushDue(clock.now()).ok());
  CHECK(store.flushes() == 0);
  REQUIRE(store.Record(kSeries, StoreRecord(Slice(3), SliceStatus::kFailed)).ok());
  CHECK(store.NextFlushMs() == clock.now());
  REQUIRE(store.FlushDue(clock.now()).ok());
  CHECK(store.flushes() == 1);
  CHECK(OnDisk(root.path())->slices.size() == 3);
  REQUIRE(store.Record(kSeries, StoreRecord(Slice(4), SliceStatus::kFailed)).ok());
  clock.clock.Advance(499);
  REQUIRE(store.FlushDue(clock.now()).ok());
  CHECK(store.flushes() == 1);
  clock.clock.Advance(1);
  REQUIRE(store.FlushDue(clock.now()).ok());
  CHECK(store.flushes() == 2);
  CHECK(OnDisk(root.path())->slices.size() == 4);
}

TEST_CASE("adaptive thresholds grow with the manifest", "[store]") {
  qlir::testing::ScratchDir root;
  JsonStoreOptions o;
  o.flush_every = 100;
  o.flush_ms = 1000;
  o.adaptive_ratio = 50;
  o.adaptive_ms_step = 50000;
  JsonManifestStore store(root.path(), o, RealDisk());
  CHECK(store.FlushEveryFor(1000) == 100);
  CHECK(store.FlushEveryFor(50000) == 1000);
  CHECK(store.FlushEveryFor(250000) == 5000);
  CHECK(store.FlushMsFor(1000) == 1000);
  CHECK(store.FlushMsFor(250000) == 6000);
}

TEST_CASE("a failed manifest write keeps the updates and retries later", "[store]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  FaultyDisk disk;
  auto opts = clock.Options();
  opts.flush_every = 1;
  JsonManifestStore store(root.path(), opts, &disk);
  REQUIRE(store.Record(kSeries, StoreRecord(Slice(1), SliceStatus::kFailed)).ok());
  disk.fail_writes = true;
  CHECK_FALSE(store.FlushDue(clock.now()).ok());
  CHECK_FALSE(fs::exists(SeriesPath(root.path()) / "manifest.json"));
  REQUIRE(store.NextFlushMs());
  CHECK(*store.NextFlushMs() > clock.now());  // backs off instead of spinning
  disk.fail_writes = false;
  clock.clock.Set(*store.NextFlushMs());
  REQUIRE(store.FlushDue(clock.now()).ok());
  CHECK(OnDisk(root.path())->slices.size() == 1);
}

TEST_CASE("mark pending is written at once and counts known keys", "[store]") {
  qlir::testing::ScratchDir root;
  JsonManifestStore store(root.path(), {}, RealDisk());
  auto k = Slice(1);
  WriteResponse(root.path(), k, k.end_ms + 1000);
  REQUIRE(store.Record(kSeries, StoreRecord(k, SliceStatus::kOk)).ok());
  auto n = store.MarkPending(kSeries, {k.composite_key(), Slice(9).composite_key()}, 0);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  CHECK(OnDisk(root.path())->slices.at(k.composite_key()).status == SliceStatus::kPending);
  // A restart keeps it pending although the file exists (the repair said it is bad).
  JsonManifestStore again(root.path(), {}, RealDisk());
  CHECK(**again.Lookup(kSeries, k.composite_key()) == SliceStatus::kPending);
}

TEST_CASE("crash simulated between the response file and the manifest write", "[store]") {
  qlir::testing::ScratchDir root;
  auto a = Slice(1);
  auto b = Slice(2);
  {
    JsonManifestStore store(root.path(), {}, RealDisk());
    WriteResponse(root.path(), a, a.end_ms + 1000);
    REQUIRE(store.Record(kSeries, StoreRecord(a, SliceStatus::kOk)).ok());
    REQUIRE(store.Flush().ok());
    WriteResponse(root.path(), b, b.end_ms + 1000);
    REQUIRE(store.Record(kSeries, StoreRecord(b, SliceStatus::kOk)).ok());
    // "crash": the store goes away without Flush.
  }
  CHECK(OnDisk(root.path())->slices.size() == 1);
  JsonManifestStore store(root.path(), {}, RealDisk());
  auto statuses = store.LoadStatuses(kSeries);
  REQUIRE(statuses.ok());
  CHECK(statuses->size() == 2);
  CHECK(statuses->at(b.composite_key()) == SliceStatus::kOk);
  CHECK(OnDisk(root.path())->slices.size() == 2);  // the recovered index was written
}

TEST_CASE("auto check: listed files are opened only where the manifest may lag them", "[store]") {
  qlir::testing::ScratchDir root;
  auto a = Slice(1);
  auto b = Slice(2);
  {
    JsonManifestStore store(root.path(), {}, RealDisk());
    for (const auto& k : {a, b}) {
      WriteResponse(root.path(), k, k.end_ms + 1000);
      REQUIRE(store.Record(kSeries, StoreRecord(k, SliceStatus::kOk)).ok());
    }
    REQUIRE(store.Flush().ok());
  }
  // Damage from outside our writes (a rewrite in place leaves responses/ unchanged).
  { std::ofstream(ResponsePath(root.path(), a), std::ios::trunc) << "x"; }
  const fs::path manifest = SeriesPath(root.path()) / "manifest.json";
  const fs::path responses = SeriesPath(root.path()) / "responses";
  fs::last_write_time(responses, fs::last_write_time(manifest) - std::chrono::seconds(10));
  {
    // The manifest was written after the last rename into responses/: the listing is enough.
    JsonManifestStore store(root.path(), {}, RealDisk());
    CHECK(**store.Lookup(kSeries, a.composite_key()) == SliceStatus::kOk);
  }
  SECTION("quick, asked for, opens each file") {
    JsonStoreOptions o;
    o.verify = VerifyResponses::kQuick;
    JsonManifestStore store(root.path(), o, RealDisk());
    CHECK(**store.Lookup(kSeries, a.composite_key()) == SliceStatus::kPending);
    CHECK(**store.Lookup(kSeries, b.composite_key()) == SliceStatus::kOk);
  }
  SECTION("a manifest older than responses/ (a crash before its write) gets the quick check") {
    fs::last_write_time(responses, fs::last_write_time(manifest) + std::chrono::seconds(10));
    JsonManifestStore store(root.path(), {}, RealDisk());
    CHECK(**store.Lookup(kSeries, a.composite_key()) == SliceStatus::kPending);
    CHECK(**store.Lookup(kSeries, b.composite_key()) == SliceStatus::kOk);
  }
}

TEST_CASE("a series with an invalid symbol is refused", "[store]") {
  qlir::testing::ScratchDir root;
  JsonManifestStore store(root.path(), {}, RealDisk());
  CHECK_FALSE(store.LoadStatuses(SeriesId{"klines", "../etc", "1m"}).ok());
}

TEST_CASE("statuses are answered page after page in key order", "[store]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  JsonManifestStore store(root.path(), clock.Options(), RealDisk());
  std::vector<std::string> keys;
  for (int i = 1; i <= 5; ++i) {
    auto k = Slice(i);
    REQUIRE(store.Record(kSeries, StoreRecord(k, SliceStatus::kFailed)).ok());
    keys.push_back(k.composite_key());
  }
  std::sort(keys.begin(), keys.end());
  auto first = store.LoadStatusPage(kSeries, "", 2);
  REQUIRE(first.ok());
  REQUIRE(first->slices.size() == 2);
  CHECK(first->more);
  CHECK(first->slices[0].first == keys[0]);
  CHECK(first->slices[1].first == keys[1]);
  auto second = store.LoadStatusPage(kSeries, first->slices.back().first, 2);
  REQUIRE(second.ok());
  CHECK(second->slices.size() == 2);
  CHECK(second->more);
  auto last = store.LoadStatusPage(kSeries, second->slices.back().first, 2);
  REQUIRE(last.ok());
  REQUIRE(last->slices.size() == 1);
  CHECK(last->slices[0].first == keys[4]);
  CHECK(last->slices[0].second == SliceStatus::kFailed);
  CHECK_FALSE(last->more);
  // Past the end, and a page size of 0 (taken as 1).
  CHECK(store.LoadStatusPage(kSeries, keys[4], 2)->slices.empty());
  CHECK(store.LoadStatusPage(kSeries, "", 0)->slices.size() == 1);
  CHECK(store.LoadStatuses(kSeries)->size() == 5);
}

TEST_CASE("written series are dropped from memory past the cap and read back when asked",
          "[store]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  JsonStoreOptions o = clock.Options();
  o.max_cached_slices = 2;
  JsonManifestStore store(root.path(), o, RealDisk());
  const SeriesId other{"klines", "ETHUSDT", "1m"};
  auto a = Slice(1);
  auto b = Slice(2);
  REQUIRE(store.Record(kSeries, StoreRecord(a, SliceStatus::kFailed)).ok());
  REQUIRE(store.Record(kSeries, StoreRecord(b, SliceStatus::kFailed)).ok());
  REQUIRE(store.Record(other, StoreRecord(a, SliceStatus::kFailed)).ok());
  CHECK(store.cached_slices() == 3);  // unwritten updates are never dropped
  REQUIRE(store.Flush().ok());
  // BTCUSDT was used least recently: dropped; ETHUSDT stays.
  CHECK(store.evictions() == 1);
  CHECK(store.cached_slices() == 1);
  CHECK(store.Peek(kSeries) == nullptr);
  CHECK(store.LoadedSeries().size() == 2);  // still recovered in this run
  // Asked again: read from manifest.json, the same entries.
  auto back = store.LoadStatuses(kSeries);
  REQUIRE(back.ok());
  CHECK(back->size() == 2);
  CHECK(back->at(b.composite_key()) == SliceStatus::kFailed);
  auto entry = store.Entry(kSeries, a.composite_key());
  REQUIRE(entry.ok());
  REQUIRE(entry->has_value());
  CHECK((*entry)->http_status == 500);
  CHECK(store.cached_slices() == 3);
}

TEST_CASE("loading series one after another keeps the cache near its cap without a flush",
          "[store]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  // Ten written series of 3 slices each.
  {
    JsonManifestStore writer(root.path(), clock.Options(), RealDisk());
    for (int s = 0; s < 10; ++s) {
      const SeriesId id{"klines", "SYM" + std::to_string(s) + "USDT", "1m"};
      for (int i = 1; i <= 3; ++i) {
        REQUIRE(writer.Record(id, StoreRecord(Slice(i), SliceStatus::kFailed)).ok());
      }
    }
    REQUIRE(writer.Flush().ok());
  }
  JsonStoreOptions o = clock.Options();
  o.max_cached_slices = 6;
  JsonManifestStore store(root.path(), o, RealDisk());
  int64_t most = 0;
  for (int s = 0; s < 10; ++s) {
    const SeriesId id{"klines", "SYM" + std::to_string(s) + "USDT", "1m"};
    REQUIRE(store.LoadStatuses(id)->size() == 3);
    most = std::max(most, store.cached_slices());
  }
  // At most the cap plus the series just loaded, with no flush in between.
  CHECK(most <= 6 + 3);
  CHECK(store.evictions() >= 7);
  CHECK(store.LoadedSeries().size() == 10);
}
