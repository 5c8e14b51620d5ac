#include "persister/sqlite_manifest_store.h"

#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>

#include "common/data_root.h"
#include "common/manifest.h"
#include "common/state_db.h"
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
  SqliteStoreOptions Options() {
    SqliteStoreOptions o;
    o.clock = &clock;
    return o;
  }
};

std::unique_ptr<SqliteManifestStore> OpenStore(const fs::path& root, SqliteStoreOptions o = {}) {
  auto s = SqliteManifestStore::Open(root, std::move(o), RealDisk());
  REQUIRE(s.ok());
  return std::move(*s);
}

// What another connection (a reader such as qlir-status) sees committed: an empty manifest
// when the series is not there.
Manifest Committed(const fs::path& root, const SeriesId& id = kSeries) {
  auto db = StateDb::Open(root, StateDb::Mode::kReadOnly);
  REQUIRE(db.ok());
  auto m = (*db)->ReadManifest(id.endpoint, id.symbol, id.interval);
  REQUIRE(m.ok());
  return m->value_or(Manifest{});
}

// Stores `keys` as ok, each with its response file, then stops cleanly (Close) or only commits
// (Flush: the series keeps its open mark, as after a crash).
void StoreOk(const fs::path& root, const std::vector<klines::KlineSliceKey>& keys, bool close) {
  auto store = OpenStore(root);
  for (const auto& k : keys) {
    WriteResponse(root, k, k.end_ms + 1000);
    REQUIRE(store->Record(kSeries, StoreRecord(k, SliceStatus::kOk)).ok());
  }
  REQUIRE((close ? store->Close() : store->Flush()).ok());
}

}  // namespace

TEST_CASE("sqlite: records become the documented entries, committed in groups", "[sqlite]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  auto o = clock.Options();
  o.commit_every = 3;
  o.commit_ms = 1000;
  auto store = OpenStore(root.path(), o);
  auto ok = Slice(1);
  auto failed = Slice(2);
  REQUIRE(store->LoadStatuses(kSeries).ok());
  CHECK(fs::exists(root.path() / kStateDbName));
  WriteResponse(root.path(), ok, ok.end_ms + 1000);
  REQUIRE(*store->Record(kSeries, StoreRecord(ok, SliceStatus::kOk)) == SliceStatus::kOk);
  REQUIRE(*store->Record(kSeries, StoreRecord(failed, SliceStatus::kFailed)) ==
          SliceStatus::kFailed);
  // Not committed yet: another connection does not see them; this store does.
  CHECK(Committed(root.path()).slices.empty());
  CHECK(store->LoadStatuses(kSeries)->size() == 2);
  REQUIRE(store->NextFlushMs() == clock.now() + 1000);
  REQUIRE(store->FlushDue(clock.now() + 999).ok());
  CHECK(Committed(root.path()).slices.empty());
  REQUIRE(store->FlushDue(clock.now() + 1000).ok());
  Manifest m = Committed(root.path());
  CHECK(m.endpoint == "klines");
  CHECK(m.limit == 1000);
  CHECK(m.last_evaluated_at == "2025-01-01T00:01:23Z");
  const ManifestEntry& e = m.slices.at(ok.composite_key());
  CHECK(e.slice_id == ok.slice_id());
  CHECK(e.relative_path == "responses/" + ok.slice_id() + ".json");
  CHECK(e.status == SliceStatus::kOk);
  CHECK(e.http_status == 200);
  CHECK(e.n_items == 3);
  CHECK(e.first_ts == ok.start_ms);
  CHECK(e.error == std::nullopt);
  const ManifestEntry& f = m.slices.at(failed.composite_key());
  CHECK(f.status == SliceStatus::kFailed);
  CHECK(f.error == "HTTP 500");
  CHECK_FALSE(store->NextFlushMs().has_value());
  // commit_every updates: due at once.
  for (int i = 3; i <= 5; ++i)
    REQUIRE(store->Record(kSeries, StoreRecord(Slice(i), SliceStatus::kFailed)).ok());
  REQUIRE(store->NextFlushMs() == clock.now());
  REQUIRE(store->FlushDue(clock.now()).ok());
  CHECK(Committed(root.path()).slices.size() == 5);
  CHECK_FALSE(fs::exists(SeriesPath(root.path()) / "manifest.json"));  // never written
}

TEST_CASE("sqlite: precedence, entries and pages as the JSON store", "[sqlite]") {
  qlir::testing::ScratchDir root;
  auto store = OpenStore(root.path());
  auto k = Slice(1);
  auto p = Slice(2);
  REQUIRE(*store->Record(kSeries, StoreRecord(k, SliceStatus::kOk)) == SliceStatus::kOk);
  CHECK(*store->Record(kSeries, StoreRecord(k, SliceStatus::kFailed)) == SliceStatus::kOk);
  CHECK(*store->Record(kSeries, StoreRecord(k, SliceStatus::kPartial)) == SliceStatus::kOk);
  REQUIRE(*store->Record(kSeries, StoreRecord(p, SliceStatus::kFailed)) == SliceStatus::kFailed);
  CHECK(*store->Record(kSeries, StoreRecord(p, SliceStatus::kPartial)) == SliceStatus::kPartial);
  CHECK(*store->Record(kSeries, StoreRecord(p, SliceStatus::kFailed)) == SliceStatus::kPartial);
  auto e = store->Entry(kSeries, k.composite_key());
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  CHECK((*e)->http_status == 200);
  CHECK((*e)->error == std::nullopt);
  CHECK_FALSE(store->Entry(kSeries, Slice(9).composite_key())->has_value());
  CHECK(*store->Lookup(kSeries, p.composite_key()) == SliceStatus::kPartial);
  // Overwrite replaces even ok (a recheck's answer).
  CHECK(*store->Overwrite(kSeries, StoreRecord(k, SliceStatus::kPartial)) == SliceStatus::kPartial);
  for (int i = 3; i <= 7; ++i)
    REQUIRE(store->Record(kSeries, StoreRecord(Slice(i), SliceStatus::kFailed)).ok());
  std::vector<std::string> keys;
  std::string after;
  int pages = 0;
  for (;;) {
    auto page = store->LoadStatusPage(kSeries, after, 3);
    REQUIRE(page.ok());
    ++pages;
    for (auto& [key, st] : page->slices) keys.push_back(key);
    if (!page->more) break;
    after = page->slices.back().first;
  }
  CHECK(pages == 3);
  CHECK(keys.size() == 7);
  CHECK(std::is_sorted(keys.begin(), keys.end()));
  int seen = 0;
  auto limit =
      store->ForEachEntry(kSeries, [&](const std::string&, const ManifestEntry&) { ++seen; });
  REQUIRE(limit.ok());
  CHECK(*limit == 1000);
  CHECK(seen == 7);
  CHECK(store->LoadedSeries() == std::vector<SeriesId>{kSeries});
  CHECK_FALSE(store->LoadStatuses(SeriesId{"klines", "../etc", "1m"}).ok());
}

TEST_CASE("sqlite: marks pending are durable at once", "[sqlite]") {
  qlir::testing::ScratchDir root;
  auto store = OpenStore(root.path());
  auto k = Slice(1);
  WriteResponse(root.path(), k, k.end_ms + 1000);
  REQUIRE(store->Record(kSeries, StoreRecord(k, SliceStatus::kOk)).ok());
  REQUIRE(store->Flush().ok());
  auto n = store->MarkPending(kSeries, {k.composite_key(), "BTCUSDT:1m:1-2:1000"}, 0);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  Manifest m = Committed(root.path());
  const ManifestEntry& e = m.slices.at(k.composite_key());
  CHECK(e.status == SliceStatus::kPending);
  CHECK(e.digest == std::nullopt);
  CHECK(e.error == "marked pending by MARK_PENDING");
}

TEST_CASE("sqlite: a crash before the commit loses nothing stored", "[sqlite]") {
  qlir::testing::ScratchDir root;
  auto a = Slice(1);
  auto b = Slice(2);
  {
    auto store = OpenStore(root.path());
    WriteResponse(root.path(), a, a.end_ms + 1000);
    REQUIRE(store->Record(kSeries, StoreRecord(a, SliceStatus::kOk)).ok());
    REQUIRE(store->Flush().ok());
    WriteResponse(root.path(), b, b.end_ms + 1000);
    REQUIRE(store->Record(kSeries, StoreRecord(b, SliceStatus::kOk)).ok());
    // "crash": the store goes away without Flush; its transaction is rolled back.
  }
  CHECK(Committed(root.path()).slices.size() == 1);
  auto store = OpenStore(root.path());
  // responses/ changed after the database's last commit: recovered at start.
  SeriesLocation loc{"klines", "BTCUSDT", "1m", SeriesPath(root.path())};
  CHECK(store->CheckAtStart(loc).lagging);
  auto statuses = store->LoadStatuses(kSeries);
  REQUIRE(statuses.ok());
  CHECK(statuses->size() == 2);
  CHECK(statuses->at(b.composite_key()) == SliceStatus::kOk);
  REQUIRE(store->Flush().ok());
  Manifest m = Committed(root.path());
  REQUIRE(m.slices.size() == 2);
  CHECK(m.slices.at(b.composite_key()).digest.has_value());  // indexed from its file
  // Stopped cleanly: the next start has nothing to recover.
  REQUIRE(store->Close().ok());
  store.reset();
  auto again = OpenStore(root.path());
  CHECK_FALSE(again->CheckAtStart(loc).lagging);
}

TEST_CASE("sqlite: auto check opens listed files only after an unclean stop", "[sqlite]") {
  qlir::testing::ScratchDir root;
  auto a = Slice(1);
  auto b = Slice(2);
  StoreOk(root.path(), {a, b}, /*close=*/true);
  // Damage from outside our writes.
  { std::ofstream(ResponsePath(root.path(), a), std::ios::trunc) << "x"; }
  {
    // Stopped cleanly: every listed file was whole when committed; the listing is enough.
    auto store = OpenStore(root.path());
    CHECK(**store->Lookup(kSeries, a.composite_key()) == SliceStatus::kOk);
    // This run stops uncleanly: the series keeps its open mark.
  }
  auto store = OpenStore(root.path());
  CHECK(**store->Lookup(kSeries, a.composite_key()) == SliceStatus::kPending);
  CHECK(**store->Lookup(kSeries, b.composite_key()) == SliceStatus::kOk);
}

TEST_CASE("sqlite: a damaged database is moved aside and rebuilt from the response files",
          "[sqlite]") {
  qlir::testing::ScratchDir root;
  auto a = Slice(1);
  auto b = Slice(2);
  {
    auto store = OpenStore(root.path());
    for (const auto& k : {a, b}) {
      WriteResponse(root.path(), k, k.end_ms + 1000);
      REQUIRE(store->Record(kSeries, StoreRecord(k, SliceStatus::kOk)).ok());
    }
    REQUIRE(store->Record(kSeries, StoreRecord(Slice(3), SliceStatus::kFailed)).ok());
    REQUIRE(store->Flush().ok());
  }
  SECTION("overwritten with garbage") {
    fs::remove(root.path() / (std::string(kStateDbName) + "-wal"));
    fs::remove(root.path() / (std::string(kStateDbName) + "-shm"));
    std::ofstream(root.path() / kStateDbName, std::ios::trunc) << "not a database at all, "
                                                                  "but long enough to be read";
    auto store = OpenStore(root.path());
    REQUIRE_FALSE(store->moved_aside().empty());
    CHECK(fs::exists(store->moved_aside()));
    CHECK(store->moved_aside().filename().string().rfind("state.sqlite3.corrupt-", 0) == 0);
    auto statuses = store->LoadStatuses(kSeries);
    REQUIRE(statuses.ok());
    // The two stored slices come back from their files; the failure (no file) is forgotten.
    CHECK(statuses->size() == 2);
    CHECK(statuses->at(a.composite_key()) == SliceStatus::kOk);
  }
  SECTION("deleted") {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::remove(root.path() / (std::string(kStateDbName) + suffix));
    }
    auto store = OpenStore(root.path());
    CHECK(store->moved_aside().empty());
    auto statuses = store->LoadStatuses(kSeries);
    REQUIRE(statuses.ok());
    CHECK(statuses->size() == 2);
    CHECK(statuses->at(b.composite_key()) == SliceStatus::kOk);
  }
  CHECK(Committed(root.path()).slices.size() == 2);
}

TEST_CASE("sqlite: a listed file gone is pending again, and the series' folder too", "[sqlite]") {
  qlir::testing::ScratchDir root;
  auto a = Slice(1);
  auto b = Slice(2);
  StoreOk(root.path(), {a, b}, /*close=*/false);
  SECTION("one file") {
    fs::remove(ResponsePath(root.path(), a));
    auto store = OpenStore(root.path());
    auto statuses = store->LoadStatuses(kSeries);
    REQUIRE(statuses.ok());
    CHECK(statuses->at(a.composite_key()) == SliceStatus::kPending);
    CHECK(statuses->at(b.composite_key()) == SliceStatus::kOk);
    auto pending = store->TakeRecoveredPending();
    CHECK(pending["klines"] == std::vector<std::string>{a.composite_key()});
  }
  SECTION("the whole series folder") {
    fs::remove_all(SeriesPath(root.path()));
    auto store = OpenStore(root.path());
    auto statuses = store->LoadStatuses(kSeries);
    REQUIRE(statuses.ok());
    CHECK(statuses->at(a.composite_key()) == SliceStatus::kPending);
    CHECK(statuses->at(b.composite_key()) == SliceStatus::kPending);
  }
}

TEST_CASE("sqlite: a failed commit keeps its updates and commits them later", "[sqlite]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  auto store = OpenStore(root.path(), clock.Options());
  REQUIRE(store->Record(kSeries, StoreRecord(Slice(1), SliceStatus::kFailed)).ok());
  REQUIRE(store->Flush().ok());
  // Big entries, then a file-size limit just above the WAL: the commit cannot write (as on a
  // full disk: EFBIG instead of ENOSPC, both an I/O error for SQLite).
  for (int i = 2; i <= 6; ++i) {
    SliceRecord r = StoreRecord(Slice(i), SliceStatus::kFailed);
    r.entry.error = std::string(200000, 'e');
    REQUIRE(store->Record(kSeries, r).ok());
  }
  const fs::path wal = root.path() / (std::string(kStateDbName) + "-wal");
  std::error_code ec;
  const auto wal_size = fs::file_size(wal, ec);
  REQUIRE_FALSE(ec);
  struct rlimit old_limit;
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = wal_size + 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  Status failed = store->Flush();
  Status again = store->Flush();
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  std::signal(SIGXFSZ, old_handler);
  INFO(failed.message());
  CHECK_FALSE(failed.ok());
  CHECK(failed.message().find("5 updates kept") != std::string::npos);
  CHECK_FALSE(again.ok());
  // Nothing of it is committed, yet the store still answers with it.
  CHECK(Committed(root.path()).slices.size() == 1);
  CHECK(store->LoadStatuses(kSeries)->size() == 6);
  // Space again: the next commit is delayed (growing), then writes everything.
  REQUIRE(store->NextFlushMs().has_value());
  CHECK(*store->NextFlushMs() > clock.now());
  REQUIRE(store->FlushDue(clock.now()).ok());  // not due yet: nothing tried
  CHECK(Committed(root.path()).slices.size() == 1);
  clock.clock.Advance(60000);
  REQUIRE(store->FlushDue(clock.now()).ok());
  CHECK(Committed(root.path()).slices.size() == 6);
  CHECK_FALSE(store->NextFlushMs().has_value());
}

TEST_CASE("sqlite: a series whose load cannot be committed is not kept half-loaded", "[sqlite]") {
  qlir::testing::ScratchDir root;
  TestClock clock;
  auto store = OpenStore(root.path(), clock.Options());
  REQUIRE(store->Record(kSeries, StoreRecord(Slice(1), SliceStatus::kFailed)).ok());
  REQUIRE(store->Flush().ok());
  // ETHUSDT has a stored file the database does not know: loading it writes one row.
  const SeriesId eth{"klines", "ETHUSDT", "1m"};
  auto k = Slice(1, "ETHUSDT");
  WriteResponse(root.path(), k, k.end_ms + 1000);
  SliceRecord big = StoreRecord(Slice(2), SliceStatus::kFailed);
  big.entry.error = std::string(400000, 'e');
  REQUIRE(store->Record(kSeries, big).ok());
  const fs::path wal = root.path() / (std::string(kStateDbName) + "-wal");
  struct rlimit old_limit;
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = fs::file_size(wal) + 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto loaded = store->LoadStatuses(eth);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  std::signal(SIGXFSZ, old_handler);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.error().find("cannot load klines/ETHUSDT/1m") != std::string::npos);
  // BTCUSDT's update is still answered, ETHUSDT is not half there.
  CHECK(store->LoadStatuses(kSeries)->size() == 2);
  CHECK(store->LoadedSeries() == std::vector<SeriesId>{kSeries});
  // Later (space again, the retry delay over) it loads whole, and everything is committed.
  clock.clock.Advance(60000);
  auto again = store->LoadStatuses(eth);
  REQUIRE(again.ok());
  CHECK(again->at(k.composite_key()) == SliceStatus::kOk);
  REQUIRE(store->Flush().ok());
  CHECK(Committed(root.path()).slices.size() == 2);
  CHECK(Committed(root.path(), eth).slices.size() == 1);
}

TEST_CASE("sqlite: after an unclean stop the database is checked whole before it is used",
          "[sqlite]") {
  qlir::testing::ScratchDir root;
  {
    auto store = OpenStore(root.path());
    for (int i = 1; i <= 300; ++i) {
      REQUIRE(store->Record(kSeries, StoreRecord(Slice(i), SliceStatus::kFailed)).ok());
    }
    REQUIRE(store->Flush().ok());
    // No Close: BTCUSDT stays marked open, as after a crash.
  }
  const fs::path db = root.path() / kStateDbName;
  REQUIRE(fs::file_size(db) > 6 * 4096);
  {
    // Damage inside the file, the header left whole: only quick_check finds it.
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * 4096);
    const std::string junk(4 * 4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto store = OpenStore(root.path());
  REQUIRE_FALSE(store->moved_aside().empty());
  CHECK(fs::exists(store->moved_aside()));
  // Rebuilt from the response files: failures have none, so nothing is left of them.
  auto statuses = store->LoadStatuses(kSeries);
  REQUIRE(statuses.ok());
  CHECK(statuses->empty());
}
