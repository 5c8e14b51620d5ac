#include "tools/qlir-status/process_stats.h"

#include <catch2/catch.hpp>

#include "common/atomic_file.h"
#include "common/stats.h"
#include "tools/qlir-status/cli.h"
#include "tools/qlir-status/test_util.h"

namespace qlir::status_tool {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

constexpr int64_t kNow = 1700000000000;

void WriteAll(const fs::path& dir) {
  StatsFile planner(dir / "planner.json", "planner", "planner", kNow - 60000);
  planner.Write(kNow - 1000, {{"slices_total", 300}, {"slices_ok", 120}, {"queued", 150}},
                {{"fetchers",
                  {{"f1", {{"seen_ago_ms", 500}, {"counters", {{"jobs_ok", 99}}}}},
                   {"remote:7", {{"seen_ago_ms", 1500}, {"counters", {{"jobs_ok", 21}}}}}}}});
  StatsFile persister(dir / "persister.json", "persister", "persister", kNow - 60000);
  persister.Write(kNow - 45000, {{"recorded_ok", 120}, {"bytes_written", 3 * 1024 * 1024}});
  StatsFile f1(dir / "fetcher-f1.json", "fetcher", "f1", kNow - 60000);
  f1.Write(kNow - 200, {{"jobs_ok", 100}, {"http_429", 2}});
}

TEST_CASE("process stats are read from every file and fetchers known only to the planner join",
          "[process_stats]") {
  ScratchDir dir;
  WriteAll(dir.path());
  REQUIRE(WriteFileAtomic(dir.path() / "junk.json", "[1,2").ok());
  auto r = ReadProcessStats(dir.path());
  REQUIRE(r.ok());
  REQUIRE(r->processes.size() == 4);
  CHECK(r->processes[0].process == "planner");
  CHECK(r->processes[1].process == "persister");
  // f1 has its own file (fresher, 100 jobs): shown once, from it. remote:7 only via the planner.
  CHECK(r->processes[2].id == "f1");
  CHECK(r->processes[2].source == "fetcher-f1.json");
  CHECK(r->processes[2].counters["jobs_ok"] == 100);
  CHECK(r->processes[3].id == "remote:7");
  CHECK(r->processes[3].source == "planner");
  CHECK(r->processes[3].updated_at_ms == kNow - 1000 - 1500);
  REQUIRE(r->errors.size() == 1);
  CHECK_THAT(r->errors[0], Catch::Contains("junk.json"));

  const std::string text = RenderProcessStatsText(*r, kNow);
  CHECK_THAT(text, Catch::Contains("planner planner (pid"));
  CHECK_THAT(text, Catch::Contains("slices_ok=120"));
  CHECK_THAT(text, Catch::Contains("bytes_written=3.0 MiB"));
  CHECK_THAT(text, Catch::Contains("fetcher remote:7 (via the planner)"));
  CHECK_THAT(text, Catch::Contains("http_429=2"));
  // The persister last wrote 45 s ago.
  CHECK_THAT(text, Catch::Contains("updated 45 s ago [stale"));
  CHECK_THAT(text, Catch::Contains("unreadable:"));

  auto j = ProcessStatsJson(*r, kNow);
  REQUIRE(j["processes"].size() == 4);
  CHECK(j["processes"][1]["stale"] == true);
  CHECK(j["processes"][0]["stale"] == false);
  CHECK(j["processes"][3]["counters"]["jobs_ok"] == 21);
}

TEST_CASE("a missing stats directory is an error naming it", "[process_stats]") {
  ScratchDir dir;
  auto r = ReadProcessStats(dir.path() / "nope");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("nope"));
}

TEST_CASE("the stats-dir flag is parsed for status and refused for verify", "[process_stats]") {
  auto o = ParseArgs({"--stats-dir", "/tmp/x"});
  REQUIRE(o.ok());
  CHECK(o->stats_dir == "/tmp/x");
  CHECK_FALSE(ParseArgs({"verify", "--stats-dir", "/tmp/x"}).ok());
  CHECK_FALSE(ParseArgs({"--stats-dir="}).ok());
}

}  // namespace
}  // namespace qlir::status_tool
