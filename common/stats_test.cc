#include "common/stats.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

TEST_CASE("a stats file is written when due and read back", "[stats]") {
  qlir::testing::ScratchDir dir;
  const fs::path path = dir.path() / "stats" / "fetcher-f1.json";
  qlir::StatsFile stats(path, "fetcher", "f1", 1000, 2000);
  REQUIRE(stats.enabled());
  CHECK(stats.Due(1000));
  stats.Write(1000, {{"jobs_done", 3}, {"http_429", 1}}, {{"in_flight", 2}});
  CHECK_FALSE(stats.Due(2999));
  CHECK(stats.Due(3000));
  auto j = qlir::ReadStatsFile(path);
  REQUIRE(j.ok());
  CHECK((*j)["process"] == "fetcher");
  CHECK((*j)["id"] == "f1");
  CHECK((*j)["counters"]["jobs_done"] == 3);
  CHECK((*j)["counters"]["http_429"] == 1);
  CHECK((*j)["in_flight"] == 2);
  CHECK((*j)["updated_at_ms"] == 1000);
  CHECK((*j)["started_at"] == "1970-01-01T00:00:01Z");
  // Rewritten whole, no temporary left.
  stats.Write(5000, {{"jobs_done", 4}});
  CHECK((*qlir::ReadStatsFile(path))["counters"]["jobs_done"] == 4);
  int files = 0;
  for (const auto& e : fs::directory_iterator(path.parent_path())) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("a disabled stats file writes nothing and an unwritable one does not throw", "[stats]") {
  qlir::testing::ScratchDir dir;
  qlir::StatsFile off("", "planner", "planner", 0);
  CHECK_FALSE(off.enabled());
  CHECK_FALSE(off.Due(100000));
  off.Write(1, {{"x", 1}});
  // A regular file where the directory should be: the write fails, is logged, nothing throws.
  REQUIRE(qlir::WriteFileAtomic(dir.path() / "file", "x").ok());
  qlir::StatsFile bad(dir.path() / "file" / "s.json", "planner", "planner", 0);
  bad.Write(1, {{"x", 1}});
  bad.Write(2, {{"x", 2}});
  CHECK_FALSE(fs::exists(dir.path() / "file" / "s.json"));
}

TEST_CASE("reading a stats file names the file on every error", "[stats]") {
  qlir::testing::ScratchDir dir;
  auto missing = qlir::ReadStatsFile(dir.path() / "none.json");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error(), Catch::Contains("none.json"));
  REQUIRE(qlir::WriteFileAtomic(dir.path() / "junk.json", "{not json").ok());
  auto junk = qlir::ReadStatsFile(dir.path() / "junk.json");
  REQUIRE_FALSE(junk.ok());
  CHECK_THAT(junk.error(), Catch::Contains("junk.json") && Catch::Contains("not JSON"));
  REQUIRE(qlir::WriteFileAtomic(dir.path() / "other.json", "{\"a\":1}").ok());
  auto other = qlir::ReadStatsFile(dir.path() / "other.json");
  REQUIRE_FALSE(other.ok());
  CHECK_THAT(other.error(), Catch::Contains("not a stats file"));
}
