#include "tools/qlir-status/migrate.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <sstream>

#include "common/data_root_lock.h"
#include "common/state_db.h"
#include "tools/qlir-status/cli.h"
#include "tools/qlir-status/test_util.h"

namespace qlir::status_tool {
namespace {

using testing::kBase;
using testing::ScratchDir;
using testing::SeriesBuilder;
namespace fs = std::filesystem;

// Every regular file under `root` (relative path -> bytes), the lock file left out.
std::map<std::string, std::string> Files(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), root).string();
    if (rel == ".persister.lock") continue;
    auto text = ReadFile(e.path());
    REQUIRE(text.ok());
    out[rel] = *text;
  }
  return out;
}

// The files whose name says what they are.
std::map<std::string, std::string> Only(const std::map<std::string, std::string>& files,
                                        const std::string& suffix) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : files) {
    if (k.ends_with(suffix)) out[k] = v;
  }
  return out;
}

ino_t Inode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

int RunCli(std::vector<std::string> args, std::string* out, std::string* err) {
  std::ostringstream o, e;
  const int code = Run(args, o, e);
  *out = o.str();
  *err = e.str();
  return code;
}

// Three series of every entry shape (ok with digest and confirmed holes, partial, failed with an
// error text that needs escapes, pending), two endpoints.
void WriteRoot(const fs::path& root) {
  SeriesBuilder btc(root);
  btc.Stored(kBase);
  btc.Stored(kBase + 1, SliceStatus::kOk, 997).holes_confirmed_at = "2025-01-02T00:00:00Z";
  btc.Failed(kBase + 2, 503, "HTTP 503: \"busy\"\n\tretry \xc3\xa9");
  btc.Pending(kBase + 3);
  btc.Stored(kBase + 4, SliceStatus::kPartial, 0);
  btc.Write();
  SeriesBuilder eth(root, "ETHUSDT", "1s", 1000);
  eth.Stored(kBase * 60);
  eth.Pending(kBase * 60 + 1);
  eth.Write();
  const Endpoint& e = *FindEndpoint("aggTrades");
  testing::WriteSeries(root, "aggTrades", "id",
                       {{e.GridSlice("BTCUSDT", "id", 0, 1000), SliceStatus::kOk}},
                       [](const SliceKey&) {
                         return std::string(
                             "[{\"a\":0,\"p\":\"1.0\",\"q\":\"1.0\",\"f\":0,"
                             "\"l\":0,\"T\":1500000000000,\"m\":true,"
                             "\"M\":true}]");
                       });
}

}  // namespace

TEST_CASE("migrate: JSON -> SQLite -> JSON gives back every manifest.json byte for byte",
          "[migrate]") {
  ScratchDir dir;
  const fs::path root = dir.path();
  WriteRoot(root);
  const auto before = Files(root);
  const auto manifests = Only(before, "manifest.json");
  REQUIRE(manifests.size() == 3);
  std::map<std::string, std::string> responses;
  for (const auto& [rel, bytes] : before) {
    if (rel.find("/responses/") != std::string::npos) responses[rel] = bytes;
  }
  REQUIRE(responses.size() == 5);
  const fs::path some_response = root / responses.begin()->first;
  const ino_t inode = Inode(some_response);

  std::string out, err;
  REQUIRE(RunCli({"migrate", "--to", "sqlite", "--data-root", root.string()}, &out, &err) == 0);
  INFO(out << err);
  CHECK_THAT(out, Catch::Contains("is now sqlite: 3 series, 8 slices moved from json") &&
                      Catch::Contains("3 manifest.json files removed"));
  CHECK(DetectStateBackend(root) == StateBackend::kSqlite);
  auto mid = Files(root);
  CHECK(Only(mid, "manifest.json").empty());
  CHECK(mid.count("state.sqlite3") == 1);
  CHECK_FALSE(fs::exists(root / "state.sqlite3-wal"));
  CHECK_FALSE(fs::exists(root / "state.sqlite3-shm"));
  // The response files are untouched: the same bytes, the same files.
  for (const auto& [rel, bytes] : responses) CHECK(mid.at(rel) == bytes);
  CHECK(mid.size() == responses.size() + 1);  // and the database: nothing else
  CHECK(Inode(some_response) == inode);
  // The database holds exactly the manifests.
  {
    auto db = StateDb::Open(root, StateDb::Mode::kReadOnly);
    REQUIRE(db.ok());
    for (const auto& [rel, bytes] : manifests) {
      auto m = ParseManifest(bytes, rel);
      REQUIRE(m.ok());
      auto from_db = (*db)->ReadManifest(m->endpoint, m->symbol, m->interval);
      REQUIRE(from_db.ok());
      REQUIRE(from_db->has_value());
      CHECK(SerializeManifest(**from_db) == bytes);
    }
  }

  REQUIRE(RunCli({"migrate", "--to", "json", "--data-root", root.string()}, &out, &err) == 0);
  CHECK_THAT(out, Catch::Contains("is now json: 3 series, 8 slices moved from sqlite"));
  CHECK(DetectStateBackend(root) == StateBackend::kJson);
  const auto after = Files(root);
  CHECK(after == before);  // every manifest.json byte for byte, every response file, nothing else
  CHECK(Inode(some_response) == inode);

  // Once more each way: the same again.
  REQUIRE(Migrate(root, StateBackend::kSqlite).ok());
  REQUIRE(Migrate(root, StateBackend::kJson).ok());
  CHECK(Files(root) == before);
}

TEST_CASE("migrate: a root already on the backend asked for is left alone, and says so",
          "[migrate]") {
  ScratchDir dir;
  WriteRoot(dir.path());
  const auto before = Files(dir.path());
  std::string out, err;
  CHECK(RunCli({"migrate", "--to", "json", "--data-root", dir.path().string()}, &out, &err) == 0);
  CHECK_THAT(out, Catch::Contains("is already json; nothing to move"));
  CHECK(Files(dir.path()) == before);
  REQUIRE(Migrate(dir.path(), StateBackend::kSqlite).ok());
  const auto sqlite = Files(dir.path());
  CHECK(RunCli({"migrate", "--to", "sqlite", "--data-root", dir.path().string()}, &out, &err) == 0);
  CHECK_THAT(out, Catch::Contains("is already sqlite; nothing to move"));
  CHECK(Files(dir.path()) == sqlite);
}

TEST_CASE("migrate: refused while a persister holds the data root, nothing changed", "[migrate]") {
  ScratchDir dir;
  WriteRoot(dir.path());
  const auto before = Files(dir.path());
  auto lock = DataRootLock::Acquire(dir.path());
  REQUIRE(lock.ok());
  std::string out, err;
  CHECK(RunCli({"migrate", "--to", "sqlite", "--data-root", dir.path().string()}, &out, &err) ==
        kExitCannotStart);
  CHECK_THAT(err, Catch::Contains("another persister is running") &&
                      Catch::Contains("stop the persister first"));
  CHECK(out.empty());
  CHECK(Files(dir.path()) == before);
  CHECK(DetectStateBackend(dir.path()) == StateBackend::kJson);
  lock->reset();
  CHECK(RunCli({"migrate", "--to", "sqlite", "--data-root", dir.path().string()}, &out, &err) == 0);
}

TEST_CASE("migrate: a corrupt manifest stops it before any change, named", "[migrate]") {
  ScratchDir dir;
  WriteRoot(dir.path());
  const fs::path bad = dir.path() / "binance/klines/raw/ETHUSDT/1s/manifest.json";
  SECTION("not JSON") { testing::WriteRaw(bad, "{\"version\": 1, \"slices\": {"); }
  SECTION("another series' manifest") {
    auto other = ReadFile(dir.path() / "binance/klines/raw/BTCUSDT/1m/manifest.json");
    REQUIRE(other.ok());
    testing::WriteRaw(bad, *other);
  }
  const auto before = Files(dir.path());
  std::string out, err;
  CHECK(RunCli({"migrate", "--to", "sqlite", "--data-root", dir.path().string()}, &out, &err) ==
        kExitError);
  INFO(err);
  CHECK_THAT(err,
             Catch::Contains(bad.string()) && Catch::Contains("the data root still reads as json"));
  CHECK(Files(dir.path()) == before);  // no database, no temporary, every manifest in place
  CHECK(DetectStateBackend(dir.path()) == StateBackend::kJson);
}

TEST_CASE("migrate: a damaged database stops the way back to JSON before any change", "[migrate]") {
  ScratchDir dir;
  WriteRoot(dir.path());
  REQUIRE(Migrate(dir.path(), StateBackend::kSqlite).ok());
  testing::WriteRaw(dir.path() / "state.sqlite3", std::string(8192, 'q'));
  const auto before = Files(dir.path());
  std::string out, err;
  CHECK(RunCli({"migrate", "--to", "json", "--data-root", dir.path().string()}, &out, &err) ==
        kExitError);
  CHECK_THAT(err, Catch::Contains((dir.path() / "state.sqlite3").string()) &&
                      Catch::Contains("the data root still reads as sqlite"));
  CHECK(Files(dir.path()) == before);
}

TEST_CASE("migrate: a rerun finishes what an interrupted run left", "[migrate]") {
  ScratchDir dir;
  WriteRoot(dir.path());
  const auto before = Files(dir.path());
  const auto manifests = Only(before, "manifest.json");

  SECTION("to sqlite, stopped after the switch: manifest.json files still there") {
    REQUIRE(Migrate(dir.path(), StateBackend::kSqlite).ok());
    for (const auto& [rel, bytes] : manifests) testing::WriteRaw(dir.path() / rel, bytes);
    testing::WriteRaw(dir.path() / "state.sqlite3.4242.tmp", "half a database");
    testing::WriteRaw(dir.path() / "state.sqlite3.4242.tmp-wal", "its wal");
    std::string out, err;
    REQUIRE(RunCli({"migrate", "--to", "sqlite", "--data-root", dir.path().string()}, &out, &err) ==
            0);
    CHECK_THAT(out, Catch::Contains("already sqlite") &&
                        Catch::Contains("removed 3 manifest.json files an interrupted migrate"));
    const auto now = Files(dir.path());
    CHECK(Only(now, "manifest.json").empty());
    CHECK(Only(now, ".tmp").empty());
    CHECK(Only(now, ".tmp-wal").empty());
  }
  SECTION("to sqlite, stopped before the switch: a temporary database") {
    testing::WriteRaw(dir.path() / "state.sqlite3.4242.tmp", "half a database");
    REQUIRE(Migrate(dir.path(), StateBackend::kSqlite).ok());
    CHECK(Only(Files(dir.path()), ".tmp").empty());
  }
  SECTION("to json, stopped before the switch: some manifest.json files already written") {
    REQUIRE(Migrate(dir.path(), StateBackend::kSqlite).ok());
    const auto& [rel, bytes] = *manifests.begin();
    testing::WriteRaw(dir.path() / rel, bytes.substr(0, 10));  // even a torn one
    REQUIRE(Migrate(dir.path(), StateBackend::kJson).ok());
  }
  REQUIRE(Migrate(dir.path(), StateBackend::kJson).ok());
  CHECK(Files(dir.path()) == before);
}

TEST_CASE("migrate: a series a crash left behind is recovered on either backend", "[migrate]") {
  ScratchDir dir;
  WriteRoot(dir.path());
  const fs::path btc = dir.path() / "binance/klines/raw/BTCUSDT/1m";
  const fs::path eth = dir.path() / "binance/klines/raw/ETHUSDT/1s";
  const fs::path trades = dir.path() / "binance/aggTrades/raw/BTCUSDT/id";
  // BTCUSDT's responses/ changed after its manifest (the JSON backend's sign of a crash); the
  // other two were written after their responses.
  const auto now = fs::file_time_type::clock::now();
  for (const fs::path& d : {eth, trades}) {
    fs::last_write_time(d / "responses", now - std::chrono::hours(2));
    fs::last_write_time(d / "manifest.json", now - std::chrono::hours(1));
  }
  fs::last_write_time(btc / "manifest.json", now - std::chrono::hours(2));
  fs::last_write_time(btc / "responses", now - std::chrono::hours(1));
  auto r = Migrate(dir.path(), StateBackend::kSqlite);
  REQUIRE(r.ok());
  CHECK_THAT(RenderMigrateText(*r, dir.path()),
             Catch::Contains("klines/BTCUSDT/1m: its responses/ changed after its manifest.json"));
  {
    auto db = StateDb::Open(dir.path(), StateDb::Mode::kReadOnly);
    REQUIRE(db.ok());
    auto open = (*db)->OpenSeries();
    REQUIRE(open.ok());
    REQUIRE(open->size() == 1);
    CHECK((*open)[0].symbol == "BTCUSDT");
    CHECK((*open)[0].interval == "1m");
  }
  r = Migrate(dir.path(), StateBackend::kJson);
  REQUIRE(r.ok());
  CHECK_THAT(RenderMigrateText(*r, dir.path()),
             Catch::Contains("klines/BTCUSDT/1m: marked open in the database"));
  // The JSON sign again for BTCUSDT only: responses/ no older than manifest.json.
  CHECK(fs::last_write_time(btc / "manifest.json") <= fs::last_write_time(btc / "responses"));
  CHECK(fs::last_write_time(eth / "manifest.json") > fs::last_write_time(eth / "responses"));
  CHECK(fs::last_write_time(trades / "manifest.json") > fs::last_write_time(trades / "responses"));
}

TEST_CASE("migrate: usage", "[migrate]") {
  std::string out, err;
  CHECK(RunCli({"migrate"}, &out, &err) == kExitUsage);
  CHECK_THAT(err, Catch::Contains("migrate needs --to sqlite or --to json"));
  CHECK(RunCli({"migrate", "--to", "mysql"}, &out, &err) == kExitUsage);
  CHECK_THAT(err, Catch::Contains("--to: 'sqlite' or 'json', not 'mysql'"));
  CHECK(RunCli({"migrate", "--to", "json", "--json"}, &out, &err) == kExitUsage);
  CHECK(RunCli({"verify", "--to", "json"}, &out, &err) == kExitUsage);
  CHECK_THAT(err, Catch::Contains("--to belongs to 'qlir-status migrate'"));
  ScratchDir dir;
  CHECK(RunCli({"migrate", "--to", "json", "--data-root", (dir.path() / "nope").string()}, &out,
               &err) == kExitError);
  CHECK_THAT(err, Catch::Contains("is not a directory"));
  CHECK_FALSE(fs::exists(dir.path() / "nope"));
}

}  // namespace qlir::status_tool
