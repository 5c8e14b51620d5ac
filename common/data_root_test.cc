#include "common/data_root.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace qlir;

TEST_CASE("data root: explicit, then QLIR_DATA_ROOT, then ~/qlir_data", "[data_root]") {
  ::setenv("QLIR_DATA_ROOT", "/tmp/from-env", 1);
  CHECK(ResolveDataRoot(std::string("/explicit"))->string() == "/explicit");
  CHECK(ResolveDataRoot(std::nullopt)->string() == "/tmp/from-env");
  ::unsetenv("QLIR_DATA_ROOT");
  ::setenv("HOME", "/users/someone", 1);
  CHECK(ResolveDataRoot(std::nullopt)->string() == "/users/someone/qlir_data");
}

TEST_CASE("layout of a series folder", "[data_root]") {
  auto d = SeriesDir("/data", "klines", "BTCUSDT", "1m");
  REQUIRE(d.ok());
  CHECK(d->string() == "/data/binance/klines/raw/BTCUSDT/1m");
  CHECK(ResponseRelativePath("08014f774df4dcb1257ea1efbc3b3eae") ==
        "responses/08014f774df4dcb1257ea1efbc3b3eae.json");
  CHECK_FALSE(SeriesDir("/data", "klines", "../x", "1m").ok());
  CHECK_FALSE(SeriesDir("/data", "klines", "BTCUSDT", "../1m").ok());
}

TEST_CASE("names in responses/ are classified", "[data_root]") {
  std::string id;
  CHECK(ClassifyResponseName("08014f774df4dcb1257ea1efbc3b3eae.json", &id) ==
        ResponseName::kResponse);
  CHECK(id == "08014f774df4dcb1257ea1efbc3b3eae");
  CHECK(ClassifyResponseName("08014f774df4dcb1257ea1efbc3b3eae.json.123.0.tmp", nullptr) ==
        ResponseName::kTemporary);
  CHECK(ClassifyResponseName("notes.txt", nullptr) == ResponseName::kOther);
  CHECK(ClassifyResponseName("08014F774df4dcb1257ea1efbc3b3eae.json", nullptr) ==
        ResponseName::kOther);
}

TEST_CASE("names in a series folder, and the names kept aside, are made and classified here",
          "[data_root]") {
  CHECK(CorruptManifestName(1735689683000) == "manifest.json.corrupt-20250101T000123Z");
  CHECK(ClassifySeriesName(CorruptManifestName(1735689683000)) == SeriesName::kCorruptManifest);
  CHECK(ClassifySeriesName("manifest.json") == SeriesName::kManifest);
  CHECK(ClassifySeriesName("responses") == SeriesName::kResponsesDir);
  CHECK(ClassifySeriesName("manifest.json.12.0.tmp") == SeriesName::kManifestTemporary);
  CHECK(ClassifySeriesName("manifest.json.bak") == SeriesName::kOther);
  const std::string response = "08014f774df4dcb1257ea1efbc3b3eae.json";
  const std::string aside = UnreadableResponseName(response, 1735689683000);
  CHECK(aside == response + ".unreadable-20250101T000123Z");
  CHECK(IsUnreadableResponseName(aside));
  CHECK_FALSE(IsUnreadableResponseName("notes.txt.unreadable-20250101T000123Z"));
  CHECK(kLockFileName == ".persister.lock");
}

TEST_CASE("every series folder under a root is listed, sorted", "[data_root]") {
  const std::filesystem::path root =
      std::filesystem::path(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") /
      ("qlir-data-root-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  CHECK(ListSeries(root).status().IsNotFound());  // no root at all
  std::filesystem::create_directories(root);
  auto empty = ListSeries(root);
  REQUIRE(empty.ok());
  CHECK(empty->empty());  // no binance/ yet: no series
  for (const char* d : {"binance/klines/raw/ETHUSDT/1m", "binance/klines/raw/BTCUSDT/1s",
                        "binance/klines/raw/BTCUSDT/1m", "binance/trades/raw/BTCUSDT/x"}) {
    std::filesystem::create_directories(root / d);
  }
  std::ofstream(root / "binance/klines/raw/BTCUSDT/notes.txt") << "not a series";
  auto all = ListSeries(root);
  REQUIRE(all.ok());
  std::vector<std::string> names;
  for (const SeriesLocation& s : *all) names.push_back(s.Name());
  CHECK(names == std::vector<std::string>{"klines/BTCUSDT/1m", "klines/BTCUSDT/1s",
                                          "klines/ETHUSDT/1m", "trades/BTCUSDT/x"});
  CHECK((*all)[0].dir == root / "binance/klines/raw/BTCUSDT/1m");
  CHECK(*SeriesDir(root, "klines", "BTCUSDT", "1m") == (*all)[0].dir);  // one layout
  std::filesystem::remove_all(root);
}

TEST_CASE("the SQLite state's names in the root are made and classified here", "[data_root]") {
  CHECK(kStateDbName == "state.sqlite3");
  CHECK(CorruptStateDbName(1735689683000) == "state.sqlite3.corrupt-20250101T000123Z");
  CHECK(TemporaryStateDbName(4242) == "state.sqlite3.4242.tmp");
  CHECK(ClassifyRootName("state.sqlite3") == RootName::kStateDb);
  CHECK(ClassifyRootName("state.sqlite3-wal") == RootName::kStateDbSidecar);
  CHECK(ClassifyRootName("state.sqlite3-shm") == RootName::kStateDbSidecar);
  CHECK(ClassifyRootName("state.sqlite3.4242.tmp") == RootName::kStateDbTemporary);
  CHECK(ClassifyRootName("state.sqlite3.4242.tmp-wal") == RootName::kStateDbTemporary);
  CHECK(ClassifyRootName("state.sqlite3.4242.tmp-shm") == RootName::kStateDbTemporary);
  const std::string aside = CorruptStateDbName(1735689683000);
  CHECK(ClassifyRootName(aside) == RootName::kCorruptStateDb);
  CHECK(ClassifyRootName(aside + "-wal") == RootName::kCorruptStateDb);
  CHECK(ClassifyRootName(aside + "-shm") == RootName::kCorruptStateDb);
  CHECK(ClassifyRootName(".persister.lock") == RootName::kLock);
  CHECK(ClassifyRootName("binance") == RootName::kBinanceDir);
  CHECK(ClassifyRootName("state.sqlite3.bak") == RootName::kOther);
  CHECK(ClassifyRootName("state.sqlite3.x.tmp") == RootName::kOther);
  CHECK(ClassifyRootName("state.sqlite3.corrupt-") == RootName::kOther);
  CHECK(ClassifyRootName("state.sqlite3-journal") == RootName::kOther);
  CHECK(StateBackendName(StateBackend::kSqlite) == "sqlite");
  CHECK(StateBackendName(StateBackend::kJson) == "json");
}

TEST_CASE("the presence of state.sqlite3 decides a root's backend", "[data_root]") {
  const std::filesystem::path root =
      std::filesystem::path(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") /
      ("qlir-data-root-backend-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  CHECK(DetectStateBackend(root) == StateBackend::kJson);  // no root at all
  std::filesystem::create_directories(root / "binance/klines/raw/BTCUSDT/1m");
  std::ofstream(root / "binance/klines/raw/BTCUSDT/1m/manifest.json") << "{}";
  CHECK(DetectStateBackend(root) == StateBackend::kJson);
  // Only the database itself decides; its leftovers and kept-aside copies do not.
  std::ofstream(root / "state.sqlite3-wal") << "";
  std::ofstream(root / CorruptStateDbName(1735689683000)) << "";
  std::ofstream(root / TemporaryStateDbName(12)) << "";
  CHECK(DetectStateBackend(root) == StateBackend::kJson);
  std::ofstream(root / "state.sqlite3") << "";
  CHECK(DetectStateBackend(root) == StateBackend::kSqlite);
  // The series are found the same way whatever lies in the root.
  auto all = ListSeries(root);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].Name() == "klines/BTCUSDT/1m");
  std::filesystem::remove_all(root);
}
