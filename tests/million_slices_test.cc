// A series of 1,000,000 slices end to end (issue 20): aggTrades of BTCUSDT with ids in the
// billions (the simulator's tape at 1,000 trades a minute), a data root that already holds all
// but a few of its slices, and the real persister, planner, fetchers and simulator. The persister
// answers the planner's statuses page after page (docs/protocol.md, STATUS_REQUEST), the planner
// hands out only the missing slices, the run completes (--once exits 0) and the state then holds
// every slice, ok. Figures (pages, bytes, the planner's time to its first job and peak memory)
// are printed, never asserted.
//
// Size and backend: QLIR_MILLION_SLICES (default 100,000: two pages, within the suite's time in
// the sanitized build) and QLIR_MILLION_STATE (json, the default, or sqlite: the root is moved
// into state.sqlite3 by `qlir-status migrate --to sqlite` before the run). The full size:
//   QLIR_MILLION_SLICES=1000000 build/test/tests/million_slices_test
// (about 6 minutes in the sanitized build; README.md, "Large series", has the figures).
//
// The synthetic root: one valid response file (the simulator's exact body for the first stored
// slice, written with common/response_file.h) and every stored slice's file a hard link to it
// (a directory entry each, no data; a copy of it for every 60,000, ext4 allowing 65,000 links), and
// a manifest written with common/manifest.h whose entries carry that file's digest. Recovery's
// default check (--verify-responses quick) opens each listed file and checks its framing, which
// every link passes.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/json.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/slice_key.h"
#include "common/state_db.h"
#include "common/time_util.h"
#include "tests/pipeline_harness.h"
#include "tests/test_util.h"
#include "tools/exchange-sim/config.h"
#include "tools/exchange-sim/tape.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

constexpr int64_t kIds = 1000;  // ids a slice
// The symbol as the simulator is started with it: BTCUSDT's listing, 1,000 aggregate trades a
// minute (about 16 a second, BTCUSDT's rate in 2020), so that its ids pass 2.8 billion by 2023.
const char* const kSymbolFlag = "BTCUSDT,listing=2017-08-17T04:00:00Z,trades_per_minute=1000";
constexpr int64_t kStartMs = 1672531200000;  // 2023-01-01T00:00Z

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// A /proc/<pid>/status field in kB (VmHWM: peak resident memory), -1 when unreadable.
int64_t StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// The wall-clock ms of the first log line holding `needle` ("2026-...Z LEVEL ..."), -1 if none.
int64_t FirstLineMs(const fs::path& log, const std::string& needle) {
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) == std::string::npos) continue;
    auto ms = ParseTimeUtc(line.substr(0, line.find(' ')));
    return ms ? *ms : -1;
  }
  return -1;
}

SliceKey KeyOf(int64_t slice) {
  return SliceKey{"BTCUSDT", "id", slice * kIds, slice * kIds + kIds - 1, 1000};
}

// The manifest's summary, read from the head of the file (it comes before the slices): the
// persister's own count of what it holds, without parsing 300 MB.
nlohmann::json SummaryOf(const fs::path& manifest) {
  std::ifstream in(manifest);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const size_t at = head.find("\"summary\"");
  const size_t open = head.find('{', at);
  const size_t close = head.find('}', open);
  REQUIRE(at != std::string::npos);
  REQUIRE(close != std::string::npos);
  return nlohmann::json::parse(head.substr(open, close - open + 1));
}

}  // namespace

TEST_CASE("a series of a million slices - paged statuses - the missing few fetched - complete",
          "[e2e][million]") {
  const char* size_env = std::getenv("QLIR_MILLION_SLICES");
  const int64_t kSlices = size_env && *size_env ? std::atoll(size_env) : 100000;
  REQUIRE(kSlices >= 1000);
  const char* state_env = std::getenv("QLIR_MILLION_STATE");
  const std::string state = state_env && *state_env ? state_env : "json";
  REQUIRE((state == "json" || state == "sqlite"));
  ScratchDir dir;
  auto spec = sim::ParseSymbolFlag(kSymbolFlag);
  REQUIRE(spec.ok());
  const sim::Tape tape(*spec);
  // The range the planner makes of --start and --end: from the first id at or after --start to
  // the last id before --end + 1 ms (planner_server.cc). --end is the first time at which that
  // range holds exactly kSlices slices.
  const int64_t start_id = tape.CountBefore(kStartMs);
  const int64_t first = start_id / kIds, last = first + kSlices - 1;
  int64_t lo = kStartMs, hi = kStartMs + 4 * kSlices * 60000;  // end_id(hi) is past `last`
  auto end_id = [&](int64_t end_ms) { return tape.CountBefore(end_ms + 1) - 1; };
  REQUIRE(end_id(hi) >= last * kIds);
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (end_id(mid) >= last * kIds) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  const int64_t end_ms = lo;
  REQUIRE(end_id(end_ms) / kIds == last);
  REQUIRE(start_id > 2000000000LL);  // ids in the billions
  // What the root lacks: 50 slices spread over the range, and the last 10.
  std::set<int64_t> missing;
  for (int64_t k = 0; k < 50; ++k) missing.insert(first + 7 + k * (kSlices / 50));
  for (int64_t i = last - 9; i <= last; ++i) missing.insert(i);
  const int64_t stored = kSlices - static_cast<int64_t>(missing.size());

  // The synthetic root.
  const auto t_root = std::chrono::steady_clock::now();
  const fs::path root = dir.path() / "data";
  auto series_dir = SeriesDir(root, "aggTrades", "BTCUSDT", "id");
  REQUIRE(series_dir.ok());
  fs::create_directories(*series_dir / "responses");
  const int64_t now_ms = 1795000000000;  // after end_ms: every slice closed
  REQUIRE(end_ms < now_ms);
  auto body = sim::AggTradesJson(*spec, first * kIds, std::nullopt, std::nullopt, 1000, now_ms);
  REQUIRE(body.ok());
  // A file takes at most 65,000 links (ext4): one copy of the file for every 60,000 slices.
  const std::string response = EncodeResponseFile(
      {"http://sim/api/v3/aggTrades", KeyOf(first).composite_key(), "2026-11-30T00:00:00Z"}, *body);
  auto proto = [&](int64_t n) {
    return dir.path() / ("response-" + std::to_string(n / 60000) + ".json");
  };
  const std::string digest = BodyDigest(*body);
  int64_t link_errors = 0;
  std::string link_error;
  Manifest m;
  m.endpoint = "aggTrades";
  m.symbol = "BTCUSDT";
  m.interval = "id";
  m.limit = 1000;
  m.last_evaluated_at = "2026-11-30T00:00:00Z";
  for (int64_t i = first; i <= last; ++i) {
    if (missing.contains(i)) continue;
    const SliceKey key = KeyOf(i);
    ManifestEntry e;
    e.slice_id = key.slice_id();
    e.relative_path = ResponseRelativePath(e.slice_id);
    e.status = SliceStatus::kOk;
    e.http_status = 200;
    e.n_items = kIds;
    e.first_ts = key.start_ms;
    e.last_ts = key.end_ms;
    e.requested_at = "2026-11-30T00:00:00Z";
    e.completed_at = "2026-11-30T00:00:01Z";
    e.digest = digest;
    const int64_t n = static_cast<int64_t>(m.slices.size());
    if (n % 60000 == 0) REQUIRE(WriteFileAtomic(proto(n), response).ok());
    std::error_code ec;
    fs::create_hard_link(proto(n), *series_dir / e.relative_path, ec);
    if (ec) {
      ++link_errors;
      link_error = ec.message();
    }
    m.slices.emplace(key.composite_key(), std::move(e));
  }
  INFO(link_error);
  REQUIRE(link_errors == 0);
  REQUIRE(static_cast<int64_t>(m.slices.size()) == stored);
  REQUIRE(WriteFileAtomic(*series_dir / "manifest.json", SerializeManifest(m)).ok());
  m = Manifest{};
  const double root_s = Seconds(t_root);
  const auto manifest_bytes = fs::file_size(*series_dir / "manifest.json");
  double migrate_s = 0;
  if (state == "sqlite") {
    const auto t = std::chrono::steady_clock::now();
    ChildProcess migrate({BinaryPath("tools/qlir-status/qlir-status"), "migrate", "--to", "sqlite",
                          "--data-root", root.string()},
                         dir.path() / "migrate.log");
    auto st = migrate.Wait(600000);
    INFO(ReadLog(dir.path() / "migrate.log"));
    REQUIRE(st);
    REQUIRE(*st == 0);
    REQUIRE(fs::exists(root / "state.sqlite3"));
    migrate_s = Seconds(t);
  }

  // The pipeline.
  Simulator simulator(dir.path(), {"--symbol", kSymbolFlag});
  Pipeline p(dir.path(), simulator.base_url());
  const fs::path persister_stats = dir.path() / "persister-stats.json";
  p.StartPersister({"--stats-file", persister_stats.string(), "--state", state});
  p.StartFetchers(2);
  const int64_t wall_start = WallClockMs();
  const auto t_planner = std::chrono::steady_clock::now();
  auto planner = p.StartPlanner({"--endpoint", "aggTrades", "--symbols", "BTCUSDT", "--start",
                                 std::to_string(kStartMs), "--end", std::to_string(end_ms)});
  int64_t peak_kb = -1;
  std::optional<int> exit;
  while (!(exit = planner->Wait(50))) {
    peak_kb = std::max(peak_kb, StatusKb(planner->pid(), "VmHWM"));
    if (Seconds(t_planner) > 600) break;
  }
  const double planner_s = Seconds(t_planner);
  INFO(p.Logs());
  REQUIRE(exit);
  CHECK(*exit == 0);
  const fs::path planner_log = dir.path() / "planner-0.log";
  const int64_t first_job_ms = FirstLineMs(planner_log, "first job handed");
  const int64_t statuses_ms = FirstLineMs(planner_log, "statuses of BTCUSDT/id");
  const std::string log = ReadLog(planner_log);
  CHECK(log.find("statuses of BTCUSDT/id (") != std::string::npos);  // more than one page
  CHECK(log.find("ok=" + std::to_string(stored) + " partial=0 failed=0 missing=" +
                 std::to_string(missing.size())) != std::string::npos);
  // The persister's counters, written every 2 s and at exit.
  REQUIRE(p.StopAll());
  nlohmann::json counters;
  {
    std::ifstream in(persister_stats);
    counters = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  }
  REQUIRE(counters.is_object());
  const nlohmann::json& c = counters.contains("counters") ? counters["counters"] : counters;
  const int64_t pages = c.value("status_pages", int64_t{-1});
  const int64_t page_bytes = c.value("status_bytes", int64_t{-1});
  CHECK(pages >= (kSlices + 99999) / 100000);  // 100,000 slices a page at most
  CHECK(c.value("status_slices", int64_t{-1}) >= stored);

  // The state: every slice ok.
  if (state == "json") {
    const nlohmann::json summary = SummaryOf(*series_dir / "manifest.json");
    CHECK(summary.value("total_slices", int64_t{-1}) == kSlices);
    CHECK(summary.value("ok_slices", int64_t{-1}) == kSlices);
    CHECK(summary.value("failed_slices", int64_t{-1}) == 0);
  } else {
    auto db = StateDb::Open(root, StateDb::Mode::kReadOnly);
    REQUIRE(db.ok());
    auto id = (*db)->FindSeries("aggTrades", "BTCUSDT", "id");
    REQUIRE(id.ok());
    REQUIRE(id->has_value());
    auto counts = (*db)->Counts(**id);
    REQUIRE(counts.ok());
    CHECK(counts->total == kSlices);
    CHECK(counts->ok == kSlices);
    CHECK(counts->failed == 0);
  }
  // The fetched ones are real files, not links.
  for (int64_t i : missing) {
    const fs::path f = *series_dir / ResponseRelativePath(KeyOf(i).slice_id());
    CHECK(fs::hard_link_count(f) == 1);
  }

  std::printf(
      "million_slices: %s state, %lld slices (ids %lld to %lld), %zu fetched; synthetic root "
      "%.1f s (manifest %.0f MB), migrate %.1f s; STATUS pages %lld, %.1f MB of slices; planner "
      "to its plan %.1f s, to its first job %.1f s, run %.1f s, peak RSS %.0f MB\n",
      state.c_str(), static_cast<long long>(kSlices), static_cast<long long>(first * kIds),
      static_cast<long long>(last * kIds + kIds - 1), missing.size(), root_s,
      static_cast<double>(manifest_bytes) / 1e6, migrate_s, static_cast<long long>(pages),
      static_cast<double>(page_bytes) / 1e6,
      statuses_ms > 0 ? static_cast<double>(statuses_ms - wall_start) / 1000 : -1.0,
      first_job_ms > 0 ? static_cast<double>(first_job_ms - wall_start) / 1000 : -1.0, planner_s,
      static_cast<double>(peak_kb) / 1024);
}
