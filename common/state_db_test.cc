#include "common/state_db.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/data_root.h"
#include "common/manifest.h"
#include "tests/test_util.h"

using namespace qlir;
namespace fs = std::filesystem;
using qlir::testing::ScratchDir;

namespace {

const std::string kDigest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

ManifestEntry Entry(const std::string& id, SliceStatus status) {
  ManifestEntry e;
  e.slice_id = id;
  e.relative_path = ResponseRelativePath(id);
  e.status = status;
  return e;
}

// Every field shape a manifest.json entry can take: nulls, optional fields absent and present,
// text that needs JSON escapes, an HTTP status and timestamps at their extremes.
Manifest RichManifest() {
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1m";
  m.limit = 1000;
  m.last_evaluated_at = "2025-01-02T03:04:05Z";
  ManifestEntry ok = Entry("08014f774df4dcb1257ea1efbc3b3eae", SliceStatus::kOk);
  ok.http_status = 200;
  ok.n_items = 1000;
  ok.first_ts = 1500000000000;
  ok.last_ts = 1500059940000;
  ok.requested_at = "2025-01-01T00:00:00Z";
  ok.completed_at = "2025-01-01T00:00:01Z";
  ok.digest = kDigest;
  m.slices["BTCUSDT|1m|1500000000000|1500059999999"] = ok;
  ManifestEntry holes = ok;
  holes.slice_id = "18014f774df4dcb1257ea1efbc3b3eae";
  holes.relative_path = ResponseRelativePath(holes.slice_id);
  holes.n_items = 998;
  holes.holes_confirmed_at = "2025-01-03T00:00:00Z";
  m.slices["BTCUSDT|1m|1500060000000|1500119999999"] = holes;
  ManifestEntry failed = Entry("28014f774df4dcb1257ea1efbc3b3eae", SliceStatus::kFailed);
  failed.http_status = 418;
  failed.requested_at = "2025-01-01T00:00:02Z";
  failed.error = "HTTP 418: \"teapot\"\n\ttab \\ unicode \xc3\xa9 \x01";
  m.slices["BTCUSDT|1m|1500120000000|1500179999999"] = failed;
  ManifestEntry pending = Entry("38014f774df4dcb1257ea1efbc3b3eae", SliceStatus::kPending);
  m.slices["BTCUSDT|1m|1500180000000|1500239999999"] = pending;
  ManifestEntry partial = Entry("48014f774df4dcb1257ea1efbc3b3eae", SliceStatus::kPartial);
  partial.http_status = 200;
  partial.n_items = 0;
  partial.first_ts = INT64_MIN;
  partial.last_ts = INT64_MAX;
  partial.completed_at = "2025-01-01T00:00:03Z";
  partial.digest = kDigest;
  m.slices["BTCUSDT|1m|1500240000000|1500299999999"] = partial;
  return m;
}

// Manifest has no operator==: every field, and the entries (ManifestEntry has one).
bool Same(const Manifest& a, const Manifest& b) {
  return a.version == b.version && a.endpoint == b.endpoint && a.symbol == b.symbol &&
         a.interval == b.interval && a.limit == b.limit &&
         a.last_evaluated_at == b.last_evaluated_at && a.slices == b.slices;
}

std::unique_ptr<StateDb> OpenOrDie(const fs::path& root, StateDb::Mode mode) {
  auto db = StateDb::Open(root, mode);
  INFO(db.error());
  REQUIRE(db.ok());
  return std::move(*db);
}

// A SQLite database made without StateDb (another program's, or ours damaged).
void RawSql(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("state db: Manifest -> rows -> Manifest is the identity, byte for byte", "[state_db]") {
  ScratchDir dir;
  auto db = OpenOrDie(dir.path(), StateDb::Mode::kReadWrite);
  CHECK(fs::exists(dir.path() / "state.sqlite3"));
  const Manifest m = RichManifest();
  REQUIRE(db->ReplaceManifest(m).ok());
  Manifest other = m;
  other.symbol = "ETHUSDT";
  other.interval = "1s";
  other.limit = 500;
  other.slices.clear();
  other.last_evaluated_at = "2024-12-31T23:59:59Z";
  REQUIRE(db->ReplaceManifest(other).ok());

  auto back = db->ReadManifest("klines", "BTCUSDT", "1m");
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  CHECK(Same(**back, m));
  CHECK(SerializeManifest(**back) == SerializeManifest(m));
  // The codec agrees too: what the rows give is what manifest.json parses to.
  auto parsed = ParseManifest(SerializeManifest(m), "test");
  REQUIRE(parsed.ok());
  CHECK(SerializeManifest(*parsed) == SerializeManifest(**back));

  auto empty = db->ReadManifest("klines", "ETHUSDT", "1s");
  REQUIRE(empty.ok());
  REQUIRE(empty->has_value());
  CHECK(Same(**empty, other));
  CHECK(SerializeManifest(**empty) == SerializeManifest(other));

  auto none = db->ReadManifest("klines", "XRPUSDT", "1m");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  auto series = db->ListSeries();
  REQUIRE(series.ok());
  REQUIRE(series->size() == 2);
  CHECK((*series)[0].symbol == "BTCUSDT");
  CHECK((*series)[1].symbol == "ETHUSDT");
  CHECK((*series)[1].interval == "1s");

  auto summary = db->Summary((*series)[0].id);
  REQUIRE(summary.ok());
  const ManifestSummary want = m.Summary();
  CHECK(summary->total_slices == want.total_slices);
  CHECK(summary->ok_slices == want.ok_slices);
  CHECK(summary->failed_slices == want.failed_slices);
  CHECK(summary->last_evaluated_at == want.last_evaluated_at);
  auto counts = db->Counts((*series)[0].id);
  REQUIRE(counts.ok());
  CHECK(*counts == StateDb::SliceCounts{5, 2, 1, 1, 1});
  CHECK(db->Summary(12345).status().IsNotFound());

  // A reopened file gives the same (the rows are durable, not a connection's cache).
  db.reset();
  auto ro = OpenOrDie(dir.path(), StateDb::Mode::kReadOnly);
  auto again = ro->ReadManifest("klines", "BTCUSDT", "1m");
  REQUIRE(again.ok());
  REQUIRE(again->has_value());
  CHECK(SerializeManifest(**again) == SerializeManifest(m));
}

TEST_CASE("state db: ReplaceManifest makes the rows exactly the manifest's", "[state_db]") {
  ScratchDir dir;
  auto db = OpenOrDie(dir.path(), StateDb::Mode::kReadWrite);
  Manifest m = RichManifest();
  REQUIRE(db->ReplaceManifest(m).ok());
  m.slices.erase(m.slices.begin());
  m.slices.begin()->second.status = SliceStatus::kPending;
  m.last_evaluated_at = "2026-01-01T00:00:00Z";
  m.limit = 1500;
  REQUIRE(db->ReplaceManifest(m).ok());
  auto back = db->ReadManifest(m.endpoint, m.symbol, m.interval);
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  CHECK(Same(**back, m));

  // Inside the caller's transaction it is part of it: a rollback undoes it.
  REQUIRE(db->Begin().ok());
  Manifest cleared = m;
  cleared.slices.clear();
  REQUIRE(db->ReplaceManifest(cleared).ok());
  REQUIRE(db->Rollback().ok());
  back = db->ReadManifest(m.endpoint, m.symbol, m.interval);
  REQUIRE(back.ok());
  CHECK(Same(**back, m));
}

TEST_CASE("state db: entries page in key order, strictly after the last key", "[state_db]") {
  ScratchDir dir;
  auto db = OpenOrDie(dir.path(), StateDb::Mode::kReadWrite);
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1s";
  m.last_evaluated_at = "2025-01-01T00:00:00Z";
  for (int i = 0; i < 250; ++i) {
    char key[64];
    std::snprintf(key, sizeof key, "BTCUSDT|1s|%013d|x", i * 1000);
    char id[40];
    std::snprintf(id, sizeof id, "%032x", i);
    m.slices[key] = Entry(id, i % 3 ? SliceStatus::kOk : SliceStatus::kPending);
  }
  REQUIRE(db->ReplaceManifest(m).ok());
  auto id = db->FindSeries("klines", "BTCUSDT", "1s");
  REQUIRE(id.ok());
  REQUIRE(id->has_value());

  std::vector<std::string> seen;
  std::vector<size_t> pages;
  std::string after;
  for (;;) {
    size_t n = 0;
    REQUIRE(db->ForEachEntry(**id, after, 100, [&](const std::string& key, const ManifestEntry& e) {
                CHECK(e == m.slices.at(key));
                seen.push_back(key);
                after = key;
                ++n;
              }).ok());
    if (n == 0) break;
    pages.push_back(n);
  }
  CHECK(pages == std::vector<size_t>{100, 100, 50});
  std::vector<std::string> want;
  for (const auto& [k, e] : m.slices) want.push_back(k);
  CHECK(seen == want);

  // max 0 reads nothing; an unknown series has no entries.
  size_t calls = 0;
  REQUIRE(db->ForEachEntry(**id, "", 0, [&](const auto&, const auto&) { ++calls; }).ok());
  REQUIRE(db->ForEachEntry(**id + 99, "", 10, [&](const auto&, const auto&) { ++calls; }).ok());
  CHECK(calls == 0);
}

TEST_CASE("state db: UpsertEntry inserts and replaces one row, ReadEntry reads it", "[state_db]") {
  ScratchDir dir;
  auto db = OpenOrDie(dir.path(), StateDb::Mode::kReadWrite);
  Manifest header;
  header.endpoint = "aggTrades";
  header.symbol = "ETHUSDT";
  header.interval = "id";
  header.last_evaluated_at = "2025-01-01T00:00:00Z";
  auto id = db->EnsureSeries(header);
  REQUIRE(id.ok());
  auto same = db->EnsureSeries(header);
  REQUIRE(same.ok());
  CHECK(*same == *id);

  const std::string key = "ETHUSDT|id|0|999";
  auto missing = db->ReadEntry(*id, key);
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  ManifestEntry e = Entry("58014f774df4dcb1257ea1efbc3b3eae", SliceStatus::kPending);
  REQUIRE(db->UpsertEntry(*id, key, e).ok());
  auto read = db->ReadEntry(*id, key);
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK(**read == e);

  e.status = SliceStatus::kOk;
  e.http_status = 200;
  e.n_items = 1000;
  e.digest = kDigest;
  e.completed_at = "2025-01-01T00:00:09Z";
  REQUIRE(db->UpsertEntry(*id, key, e).ok());
  read = db->ReadEntry(*id, key);
  REQUIRE(read.ok());
  CHECK(**read == e);
  auto counts = db->Counts(*id);
  REQUIRE(counts.ok());
  CHECK(*counts == StateDb::SliceCounts{1, 1, 0, 0, 0});

  REQUIRE(db->SetLastEvaluatedAt(*id, "2025-06-01T00:00:00Z").ok());
  auto m = db->ReadManifest("aggTrades", "ETHUSDT", "id");
  REQUIRE(m.ok());
  REQUIRE(m->has_value());
  CHECK((*m)->last_evaluated_at == "2025-06-01T00:00:00Z");
  CHECK((*m)->slices.size() == 1);

  // A transaction rolled back leaves nothing; one committed keeps everything.
  REQUIRE(db->Begin().ok());
  CHECK(db->InTransaction());
  REQUIRE(db->UpsertEntry(*id, "ETHUSDT|id|1000|1999", e).ok());
  REQUIRE(db->Rollback().ok());
  CHECK_FALSE(db->InTransaction());
  CHECK(db->Counts(*id)->total == 1);
  REQUIRE(db->Begin().ok());
  REQUIRE(db->UpsertEntry(*id, "ETHUSDT|id|1000|1999", e).ok());
  REQUIRE(db->Commit().ok());
  CHECK(db->Counts(*id)->total == 2);
}

TEST_CASE("state db: a reader opens beside the writer and sees only committed rows (WAL)",
          "[state_db]") {
  ScratchDir dir;
  auto writer = OpenOrDie(dir.path(), StateDb::Mode::kReadWrite);
  Manifest m = RichManifest();
  REQUIRE(writer->ReplaceManifest(m).ok());
  auto id = writer->FindSeries(m.endpoint, m.symbol, m.interval);
  REQUIRE(id.ok());
  // The writer holds a write transaction open while the reader opens and reads.
  REQUIRE(writer->Begin().ok());
  ManifestEntry extra = Entry("68014f774df4dcb1257ea1efbc3b3eae", SliceStatus::kPending);
  REQUIRE(writer->UpsertEntry(**id, "BTCUSDT|1m|9|9", extra).ok());
  CHECK(fs::exists(dir.path() / "state.sqlite3-wal"));

  auto reader = OpenOrDie(dir.path(), StateDb::Mode::kReadOnly);
  auto seen = reader->ReadManifest(m.endpoint, m.symbol, m.interval);
  REQUIRE(seen.ok());
  REQUIRE(seen->has_value());
  CHECK(Same(**seen, m));  // the uncommitted row is not visible

  REQUIRE(writer->Commit().ok());
  seen = reader->ReadManifest(m.endpoint, m.symbol, m.interval);
  REQUIRE(seen.ok());
  CHECK((*seen)->slices.size() == m.slices.size() + 1);

  // The reader cannot write.
  Status w = reader->UpsertEntry(**id, "BTCUSDT|1m|8|8", extra);
  CHECK_FALSE(w.ok());
  CHECK(w.message().find((dir.path() / "state.sqlite3").string()) != std::string::npos);
  // And the writer goes on while the reader is open.
  REQUIRE(writer->UpsertEntry(**id, "BTCUSDT|1m|7|7", extra).ok());
  CHECK(reader->Counts(**id)->total == static_cast<int64_t>(m.slices.size()) + 2);
}

TEST_CASE("state db: a missing file is NotFound for a reader, and not created", "[state_db]") {
  ScratchDir dir;
  auto db = StateDb::Open(dir.path(), StateDb::Mode::kReadOnly);
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().IsNotFound());
  CHECK(db.error().find((dir.path() / "state.sqlite3").string()) != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "state.sqlite3"));
}

TEST_CASE("state db: a file that is not a database is Corruption naming it", "[state_db]") {
  ScratchDir dir;
  const fs::path file = dir.path() / "state.sqlite3";
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(8192, 'x') << "this is not SQLite";
  }
  for (StateDb::Mode mode : {StateDb::Mode::kReadOnly, StateDb::Mode::kReadWrite}) {
    auto db = StateDb::Open(dir.path(), mode);
    REQUIRE_FALSE(db.ok());
    INFO(db.error());
    CHECK(db.status().IsCorruption());
    CHECK(db.error().find(file.string()) != std::string::npos);
  }
  // The garbage is left as it was: moving it aside is the caller's decision.
  CHECK(fs::file_size(file) == 8192 + 18);
}

TEST_CASE("state db: another program's database is Corruption, whatever the mode", "[state_db]") {
  ScratchDir dir;
  const fs::path file = dir.path() / "state.sqlite3";
  SECTION("wrong application_id") {
    RawSql(file, "PRAGMA application_id=1234; PRAGMA user_version=1; CREATE TABLE t(x);");
    for (StateDb::Mode mode : {StateDb::Mode::kReadOnly, StateDb::Mode::kReadWrite}) {
      auto db = StateDb::Open(dir.path(), mode);
      REQUIRE_FALSE(db.ok());
      CHECK(db.status().IsCorruption());
      CHECK(db.error().find(file.string()) != std::string::npos);
      CHECK(db.error().find("application_id 0x000004D2") != std::string::npos);
    }
  }
  SECTION("no application_id but tables: not a blank file to initialise") {
    RawSql(file, "CREATE TABLE t(x);");
    auto db = StateDb::Open(dir.path(), StateDb::Mode::kReadWrite);
    REQUIRE_FALSE(db.ok());
    CHECK(db.status().IsCorruption());
  }
  SECTION("a schema version this program does not read") {
    RawSql(file, "PRAGMA application_id=" + std::to_string(kStateDbApplicationId) +
                     "; PRAGMA user_version=2; CREATE TABLE t(x);");
    auto db = StateDb::Open(dir.path(), StateDb::Mode::kReadOnly);
    REQUIRE_FALSE(db.ok());
    CHECK(db.status().IsCorruption());
    CHECK(db.error().find("version 2") != std::string::npos);
  }
  SECTION("our ids, but not our tables") {
    RawSql(file, "PRAGMA application_id=" + std::to_string(kStateDbApplicationId) +
                     "; PRAGMA user_version=1; CREATE TABLE t(x);");
    auto db = StateDb::Open(dir.path(), StateDb::Mode::kReadOnly);
    REQUIRE_FALSE(db.ok());
    CHECK(db.status().IsCorruption());
    CHECK(db.error().find(file.string()) != std::string::npos);
  }
}

TEST_CASE("state db: a row that breaks the schema's types is Corruption naming the slice",
          "[state_db]") {
  ScratchDir dir;
  {
    auto db = OpenOrDie(dir.path(), StateDb::Mode::kReadWrite);
    REQUIRE(db->ReplaceManifest(RichManifest()).ok());
  }
  SECTION("unknown status") {
    RawSql(dir.path() / "state.sqlite3",
           "UPDATE slices SET status='done' WHERE key='BTCUSDT|1m|1500000000000|1500059999999'");
  }
  SECTION("n_items not an integer") {
    RawSql(dir.path() / "state.sqlite3",
           "UPDATE slices SET n_items='many' WHERE key='BTCUSDT|1m|1500000000000|1500059999999'");
  }
  SECTION("digest not 64 hex") {
    RawSql(dir.path() / "state.sqlite3",
           "UPDATE slices SET digest='XYZ' WHERE key='BTCUSDT|1m|1500000000000|1500059999999'");
  }
  auto db = OpenOrDie(dir.path(), StateDb::Mode::kReadOnly);
  auto m = db->ReadManifest("klines", "BTCUSDT", "1m");
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().IsCorruption());
  CHECK(m.error().find("BTCUSDT|1m|1500000000000|1500059999999") != std::string::npos);
}

TEST_CASE("state db: damaged pages fail the writer's open as Corruption", "[state_db]") {
  ScratchDir dir;
  const fs::path file = dir.path() / "state.sqlite3";
  {
    auto db = OpenOrDie(dir.path(), StateDb::Mode::kReadWrite);
    Manifest m = RichManifest();
    const ManifestEntry e = m.slices.begin()->second;
    for (int i = 0; i < 3000; ++i) m.slices["BTCUSDT|1m|" + std::to_string(1000000 + i)] = e;
    REQUIRE(db->ReplaceManifest(m).ok());
    REQUIRE(db->Checkpoint().ok());
  }
  REQUIRE_FALSE(fs::exists(dir.path() / "state.sqlite3-wal"));  // closed cleanly
  const uintmax_t size = fs::file_size(file);
  REQUIRE(size > 20 * 4096);
  {
    // Page-sized garbage over the middle of the B-trees (page 1, the header, stays intact).
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2 / 4096 * 4096));
    const std::string junk(3 * 4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto db = StateDb::Open(dir.path(), StateDb::Mode::kReadWrite);
  REQUIRE_FALSE(db.ok());
  INFO(db.error());
  CHECK(db.status().IsCorruption());
  CHECK(db.error().find(file.string()) != std::string::npos);
}

TEST_CASE("state db: a blank file left by an interrupted creation is initialised by the writer",
          "[state_db]") {
  ScratchDir dir;
  { std::ofstream out(dir.path() / "state.sqlite3"); }
  auto ro = StateDb::Open(dir.path(), StateDb::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().IsCorruption());
  auto db = OpenOrDie(dir.path(), StateDb::Mode::kReadWrite);
  auto series = db->ListSeries();
  REQUIRE(series.ok());
  CHECK(series->empty());
}

TEST_CASE("state_db: statuses page by page, and the open marks", "[state_db]") {
  qlir::testing::ScratchDir root;
  auto db = StateDb::Open(root.path(), StateDb::Mode::kReadWrite);
  REQUIRE(db.ok());
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1m";
  m.last_evaluated_at = "2025-01-01T00:00:00Z";
  for (int i = 0; i < 5; ++i) {
    ManifestEntry e;
    e.slice_id = std::string(32, 'a');
    e.relative_path = "responses/" + e.slice_id + ".json";
    e.status = i % 2 ? SliceStatus::kFailed : SliceStatus::kPending;
    m.slices.emplace("BTCUSDT:1m:" + std::to_string(i) + "-9:1000", e);
  }
  REQUIRE((*db)->ReplaceManifest(m).ok());
  auto id = (*db)->FindSeries("klines", "BTCUSDT", "1m");
  REQUIRE(id.ok());
  REQUIRE(id->has_value());
  std::vector<std::pair<std::string, SliceStatus>> got;
  auto collect = [&](const std::string& k, SliceStatus s) { got.emplace_back(k, s); };
  REQUIRE((*db)->ForEachStatus(**id, "", 2, collect).ok());
  REQUIRE(got.size() == 2);
  CHECK(got[0].first == "BTCUSDT:1m:0-9:1000");
  CHECK(got[1].second == SliceStatus::kFailed);
  REQUIRE((*db)->ForEachStatus(**id, got.back().first, 10, collect).ok());
  CHECK(got.size() == 5);
  CHECK(got.back().first == "BTCUSDT:1m:4-9:1000");
  // Open marks: set, listed with their series, cleared.
  CHECK((*db)->OpenSeries()->empty());
  REQUIRE((*db)->MarkOpen(**id).ok());
  REQUIRE((*db)->MarkOpen(**id).ok());  // twice: one mark
  auto open = (*db)->OpenSeries();
  REQUIRE(open.ok());
  REQUIRE(open->size() == 1);
  CHECK((*open)[0].symbol == "BTCUSDT");
  REQUIRE((*db)->ClearOpen().ok());
  CHECK((*db)->OpenSeries()->empty());
}
