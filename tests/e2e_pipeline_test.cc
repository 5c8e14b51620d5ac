// End to end: the real exchange simulator, persister, fetchers and planner, over real sockets
// and real files. Checks the layout, manifests and response files against docs/on-disk-format.md,
// byte-identical data, no duplicate fetching, and statuses around listing, gaps and the open tail.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/klines/interval.h"
#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "tests/data_root_check.h"
#include "tests/pipeline_harness.h"
#include "tests/test_util.h"
#include "tools/exchange-sim/candles.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

constexpr int64_t kStart = 1704067200000;             // 2024-01-01T00:00:00Z
constexpr int64_t kEth = kStart + 5 * 3600000;        // ETHUSDT listing, inside the range
constexpr int64_t kGapStart = kStart + 10 * 3600000;  // an outage of ETHUSDT, inside the range
constexpr int64_t kGapEnd = kStart + 12 * 3600000;

sim::SymbolSpec Spec(const std::string& symbol, int64_t listing,
                     std::vector<sim::GapWindow> gaps = {}) {
  sim::SymbolSpec s;
  s.symbol = symbol;
  s.listing_ms = listing;
  s.gaps = std::move(gaps);
  return s;
}

std::string SymbolFlag(const sim::SymbolSpec& s) {
  std::string f = s.symbol + ",listing=" + std::to_string(s.listing_ms);
  for (const auto& g : s.gaps) {
    f += ",gap=" + std::to_string(g.start_ms) + "/" + std::to_string(g.end_ms);
  }
  return f;
}

// Checks one series folder against the expected slices with the shared oracle
// (tests/data_root_check.h): every slice ok with the exchange's bytes, or partial where
// `expect_partial` says, each stored from a live HTTP 200; returns the manifest.
Manifest CheckSeries(const fs::path& root, const sim::SymbolSpec& spec, const std::string& interval,
                     int64_t start, int64_t end, int64_t now_ms,
                     const std::set<std::string>& expect_partial = {}) {
  INFO(spec.symbol << " " << interval);
  testing::DataRootChecker checker(
      root, {{spec, interval, start, end}},
      {.partial = expect_partial, .live_entries = true, .now_ms = now_ms});
  const testing::CheckReport r = checker.Run(/*final=*/true);
  INFO(r.Text());
  CHECK(r.problems.empty());
  CHECK(r.expected > 0);
  CHECK(r.ok + r.partial == r.expected);
  REQUIRE(checker.manifest(spec.symbol, interval) != nullptr);
  return *checker.manifest(spec.symbol, interval);
}

// The slice windows asked for: klines requests with an endTime. The planner's requests for a
// series' first candle (startTime=0&limit=1, no endTime) are not slices.
std::set<std::string> KlinesWindows(const nlohmann::json& counters) {
  std::set<std::string> out;
  for (const auto& [k, v] : counters["windows"].items()) {
    if (k.find("-:") == std::string::npos) out.insert(k);
  }
  return out;
}

}  // namespace

TEST_CASE("two symbols x 1m and 1s complete byte-identical and a rerun fetches nothing", "[e2e]") {
  ScratchDir scratch;
  const auto btc = Spec("BTCUSDT", 1502942400000);
  const auto eth = Spec("ETHUSDT", kEth, {{kGapStart, kGapEnd}});
  Simulator sim(scratch.path(), {"--symbol", SymbolFlag(btc), "--symbol", SymbolFlag(eth)});
  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister();
  p.StartFetchers(2);

  const int64_t end = kStart + 150LL * 1000000 - 1;  // ~150 1s slices and 3 1m slices per symbol
  const std::vector<std::string> range = {"--symbols", "BTCUSDT,ETHUSDT",  "--intervals",
                                          "1m,1s",     "--start",          std::to_string(kStart),
                                          "--end",     std::to_string(end)};
  int status = p.RunPlannerOnce(range);
  INFO(p.Logs());
  REQUIRE(status == 0);
  // The persister acknowledges a slice once its response file is durable and group-commits the
  // manifest later; SIGTERM makes it flush, so read the manifests after stopping it.
  REQUIRE(p.StopAll());

  const int64_t now = WallClockMs();
  size_t total = 0;
  for (const auto* spec : {&btc, &eth}) {
    for (const std::string interval : {"1m", "1s"}) {
      // --start before a listing is clamped to it: no slice wholly before the first candle.
      Manifest m =
          CheckSeries(p.data_root(), *spec, interval, std::max(kStart, spec->listing_ms), end, now);
      total += m.slices.size();
    }
  }
  CHECK(total > 250);

  // ETHUSDT's slices inside its outage are complete with no candles; none is before its listing.
  auto eth_1s = ParseManifest(
      *ReadFile(*SeriesDir(p.data_root(), "klines", "ETHUSDT", "1s") / "manifest.json"), "eth");
  REQUIRE(eth_1s.ok());
  int empty = 0;
  for (const auto& [k, e] : eth_1s->slices) {
    auto key = klines::ParseCompositeKey(k);
    CHECK(key->end_ms >= kEth);
    if (key->start_ms >= kGapStart && key->end_ms < kGapEnd) {
      CHECK(e.n_items == 0);
      CHECK(e.status == SliceStatus::kOk);
      ++empty;
    }
  }
  CHECK(empty >= 5);

  // Every window was asked for exactly once, and nobody was limited or banned.
  auto counters = sim.Counters();
  CHECK(counters["duplicate_ok_windows"] == 0);
  CHECK(KlinesWindows(counters).size() == total);
  for (const auto& [k, w] : counters["windows"].items()) {
    INFO(k);
    CHECK(w["requests"] == 1);
  }
  for (const auto& [ip, c] : counters["ips"].items()) {
    CHECK(c["418"] == 0);
    CHECK(c["429"] == 0);
  }

  // A second run over the same range, with a restarted persister, fetches nothing.
  p.StartPersister();
  p.StartFetchers(2);
  sim.ResetCounters();
  REQUIRE(p.RunPlannerOnce(range) == 0);
  CHECK(KlinesWindows(sim.Counters()).empty());

  // Extending the range fetches only the new slices.
  sim.ResetCounters();
  const int64_t end2 = end + 20LL * 1000000;
  std::vector<std::string> range2 = range;
  range2.back() = std::to_string(end2);
  REQUIRE(p.RunPlannerOnce(range2) == 0);
  std::set<std::string> want;
  for (const auto* spec : {&btc, &eth}) {
    for (const std::string interval : {"1m", "1s"}) {
      const int64_t from = std::max(kStart, spec->listing_ms);
      auto before = klines::GenerateKlineSlices(spec->symbol, interval, from, end);
      auto after = klines::GenerateKlineSlices(spec->symbol, interval, from, end2);
      std::set<std::string> old;
      for (const auto& k : *before) old.insert(k.composite_key());
      for (const auto& k : *after) {
        if (!old.count(k.composite_key())) want.insert(k.composite_key());
      }
    }
  }
  CHECK(want.size() >= 40);
  CHECK(KlinesWindows(sim.Counters()) == want);
  REQUIRE(p.StopAll());
  for (const auto* spec : {&btc, &eth}) {
    for (const std::string interval : {"1m", "1s"}) {
      CheckSeries(p.data_root(), *spec, interval, std::max(kStart, spec->listing_ms), end2,
                  WallClockMs());
    }
  }
}

TEST_CASE("listing found by the planner and the open tail slice stored as partial", "[e2e]") {
  ScratchDir scratch;
  const int64_t now = WallClockMs();
  // Listed 40 minutes ago: with --start listing (the default) the first slice is the listing's.
  const auto fresh = Spec("NEWUSDT", now - 40 * 60000);
  Simulator sim(scratch.path(), {"--symbol", SymbolFlag(fresh)});
  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister();
  p.StartFetchers(1);
  int status = p.RunPlannerOnce({"--symbols", "NEWUSDT", "--intervals", "1s,1m"});
  INFO(p.Logs());
  REQUIRE(status == 0);
  REQUIRE(p.StopAll());
  const int64_t later = WallClockMs();
  for (const std::string interval : {"1s", "1m"}) {
    INFO(interval);
    auto dir = SeriesDir(p.data_root(), "klines", "NEWUSDT", interval);
    auto m = ParseManifest(*ReadFile(*dir / "manifest.json"), "m");
    REQUIRE(m.ok());
    REQUIRE_FALSE(m->slices.empty());
    // Slices from the listing's slice to the one holding "now"; the last one was still open.
    const int64_t ms = *klines::IntervalToMs(interval);
    auto first = klines::ParseCompositeKey(m->slices.begin()->first);
    CHECK(first->start_ms == klines::GridIndex(fresh.listing_ms, ms) * ms * 1000);
    auto last = klines::ParseCompositeKey(m->slices.rbegin()->first);
    CHECK(last->start_ms <= later);
    CHECK(last->end_ms >= now);
    CHECK(m->slices.rbegin()->second.status == SliceStatus::kPartial);
    std::set<std::string> partial = {m->slices.rbegin()->first};
    CheckSeries(p.data_root(), fresh, interval, fresh.listing_ms,
                std::max(fresh.listing_ms, last->start_ms), later, partial);
  }
}

TEST_CASE("verify --repair through the real persister refetches a damaged slice", "[e2e]") {
  ScratchDir scratch;
  const auto btc = Spec("BTCUSDT", 1502942400000);
  Simulator sim(scratch.path(), {"--symbol", SymbolFlag(btc)});
  Pipeline p(scratch.path(), sim.base_url());
  const fs::path stats = scratch.path() / "stats";
  p.StartPersister({"--stats-file", (stats / "persister.json").string()});
  p.StartFetchers(1, {"--fetcher-id", "f0", "--stats-file", (stats / "fetcher-f0.json").string()});
  const int64_t end = kStart + 6LL * 60000000 - 1;  // seven 1m slices (kStart is off the grid)
  auto keys = klines::GenerateKlineSlices("BTCUSDT", "1m", kStart, end);
  REQUIRE(keys.ok());
  const int64_t n = static_cast<int64_t>(keys->size());
  const std::vector<std::string> range = {"--symbols", "BTCUSDT",          "--intervals",
                                          "1m",        "--start",          std::to_string(kStart),
                                          "--end",     std::to_string(end)};
  std::vector<std::string> with_stats = range;
  with_stats.insert(with_stats.end(), {"--stats-file", (stats / "planner.json").string()});
  REQUIRE(p.RunPlannerOnce(with_stats) == 0);
  INFO(p.Logs());
  REQUIRE(p.StopAll());

  // Every process left its counters, and qlir-status shows them.
  auto planner_stats = nlohmann::json::parse(*ReadFile(stats / "planner.json"));
  CHECK(planner_stats["counters"]["slices_total"] == n);
  CHECK(planner_stats["counters"]["slices_ok"] == n);
  CHECK(planner_stats["counters"]["jobs_handed"] >= n);
  auto persister_stats = nlohmann::json::parse(*ReadFile(stats / "persister.json"));
  CHECK(persister_stats["counters"]["recorded_ok"] == n);
  CHECK(persister_stats["counters"]["bytes_written"] > n * 1000);
  auto fetcher_stats = nlohmann::json::parse(*ReadFile(stats / "fetcher-f0.json"));
  CHECK(fetcher_stats["counters"]["jobs_ok"] == n);
  CHECK(fetcher_stats["counters"]["http_418"] == 0);
  CHECK(fetcher_stats["counters"]["http_requests"] >= n);
  // The planner's file carries the fetcher's counters too (sent in its heartbeats), as it would
  // for a fetcher on another machine.
  CHECK(planner_stats["fetchers"].contains("f0"));
  std::string text;
  CHECK(RunStatusTool(scratch.path(),
                      {"--data-root", p.data_root().string(), "--stats-dir", stats.string()},
                      &text) == 0);
  CHECK_THAT(text, Catch::Contains("processes (counters from") &&
                       Catch::Contains("jobs_ok=" + std::to_string(n)) &&
                       Catch::Contains("recorded_ok=" + std::to_string(n)));

  // Damage one stored slice so that only a full re-read notices: drop its last candle.
  auto dir = *SeriesDir(p.data_root(), "klines", "BTCUSDT", "1m");
  const klines::KlineSliceKey victim = (*keys)[2];
  const fs::path file = dir / "responses" / (victim.slice_id() + ".json");
  auto decoded = DecodeResponseFile(*ReadFile(file), file.string());
  REQUIRE(decoded.ok());
  auto data = nlohmann::json::parse(decoded->data);
  REQUIRE(data.size() > 1);
  data.erase(data.size() - 1);
  REQUIRE(WriteFileAtomic(file, EncodeResponseFile(decoded->meta, data.dump())).ok());

  // verify finds it; --repair asks the running persister to mark it pending.
  p.StartPersister();
  std::string report;
  const int rc = RunStatusTool(scratch.path(),
                               {"verify", "--data-root", p.data_root().string(), "--repair",
                                "--persister", p.control_addr(), "--json"},
                               &report);
  INFO(report);
  CHECK(rc == 1);  // a problem was found (and repaired)
  auto j = nlohmann::json::parse(report);
  CHECK(j["repair"]["marked"] == 1);
  CHECK(report.find(victim.composite_key()) != std::string::npos);

  // The next run fetches that window again, and only it; then verify is clean.
  p.StartFetchers(1);
  sim.ResetCounters();
  REQUIRE(p.RunPlannerOnce(range) == 0);
  CHECK(KlinesWindows(sim.Counters()) == std::set<std::string>{victim.composite_key()});
  REQUIRE(p.StopAll());
  CHECK(RunStatusTool(scratch.path(), {"verify", "--data-root", p.data_root().string()}, &report) ==
        0);
  CheckSeries(p.data_root(), btc, "1m", kStart, end, WallClockMs());
}
