// End to end for several endpoints at once (issue 19): klines, aggTrades and fundingRate, each
// with its own planner and fetchers, one persister, one simulator, as scripts/start-data-server
// --endpoints runs them. Under three budgets (the spot weight shared by klines and aggTrades,
// fundingRate's own request limit) the run ends complete with no ban and almost no 429; the
// aggTrades range holds invalidated rows and a gap in trading; the trades agree with the
// candles (qlir-status reconcile); and a fetcher and the persister killed with SIGKILL in the
// middle of such a run cost nothing.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "tests/pipeline_harness.h"
#include "tests/test_util.h"
#include "tools/exchange-sim/config.h"
#include "tools/exchange-sim/tape.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

constexpr int64_t kMinute = 60000;
// BTCUSDT's gap in trading on the simulator (docs/exchange-rules.md, "Known gaps").
constexpr int64_t kGapStart = 1606716000000;  // 2020-11-30T06:00Z
constexpr int64_t kGapEnd = 1606719600000;    // 2020-11-30T07:00Z
// The aggTrades range around it, and the klines range (the trades' range inside it).
constexpr int64_t kAggStart = 1606435200000;        // 2020-11-27T00:00Z
constexpr int64_t kAggEnd = 1606780800000 - 1;      // to 2020-12-01T00:00Z
constexpr int64_t kKlinesStart = 1601510400000;     // 2020-10-01T00:00Z
constexpr int64_t kKlinesEnd = 1606780800000 - 1;   // to 2020-12-01T00:00Z
constexpr int64_t kFundingStart = 1735689600000;    // 2025-01-01T00:00Z
constexpr int64_t kFundingEnd = 1751328000000 - 1;  // to 2025-07-01T00:00Z

sim::SymbolSpec Spec(const std::string& symbol) {
  for (const sim::SymbolSpec& s : sim::DefaultSymbols()) {
    if (s.symbol == symbol) return s;
  }
  FAIL("no simulator symbol " << symbol);
  throw 0;
}

// The manifest of one series; REQUIREs that it parses.
Manifest LoadManifest(const fs::path& root, const std::string& endpoint, const std::string& symbol,
                      const std::string& interval) {
  auto dir = SeriesDir(root, endpoint, symbol, interval);
  REQUIRE(dir.ok());
  auto m = ParseManifestFile((*dir / "manifest.json").string());
  INFO(endpoint << "/" << symbol << "/" << interval);
  REQUIRE(m.ok());
  return std::move(*m);
}

// Every grid slice of the series from the one holding `first` to the one holding `last` (on the
// endpoint's axis) is in the manifest and ok, and nothing else is; returns how many.
int64_t CheckComplete(const fs::path& root, const std::string& endpoint, const std::string& symbol,
                      const std::string& interval, int64_t first, int64_t last) {
  INFO(endpoint << "/" << symbol << "/" << interval);
  const Endpoint& e = *FindEndpoint(endpoint);
  const Manifest m = LoadManifest(root, endpoint, symbol, interval);
  int64_t n = 0;
  for (int64_t k = e.GridIndex(interval, first, 1000); k <= e.GridIndex(interval, last, 1000);
       ++k) {
    const std::string key = e.GridSlice(symbol, interval, k, 1000).composite_key();
    INFO(key);
    auto it = m.slices.find(key);
    REQUIRE(it != m.slices.end());
    CHECK(it->second.status == SliceStatus::kOk);
    ++n;
  }
  CHECK(static_cast<int64_t>(m.slices.size()) == n);
  return n;
}

struct AggCheck {
  int64_t slices = 0, rows = 0, invalidated = 0;
  bool straddles_gap = false;  // two consecutive rows on either side of the gap
};

// The aggTrades of BTCUSDT from the first trade at kAggStart to the last at kAggEnd: every slice
// ok with its 1000 ids, each stored answer the simulator's byte for byte.
AggCheck CheckAggTrades(const fs::path& root, int64_t now) {
  const sim::SymbolSpec spec = Spec("BTCUSDT");
  const sim::Tape tape(spec);
  const int64_t first = tape.CountBefore(kAggStart), last = tape.CountBefore(kAggEnd + 1) - 1;
  REQUIRE(first < last);
  AggCheck out;
  out.slices = CheckComplete(root, "aggTrades", "BTCUSDT", "id", first, last);
  const Manifest m = LoadManifest(root, "aggTrades", "BTCUSDT", "id");
  auto dir = SeriesDir(root, "aggTrades", "BTCUSDT", "id");
  REQUIRE(dir.ok());
  int64_t prev_time = -1;
  for (const auto& [key, entry] : m.slices) {
    INFO(key);
    CHECK(entry.n_items == 1000);
    auto text = ReadFile(*dir / entry.relative_path);
    REQUIRE(text.ok());
    auto file = DecodeResponseFile(*text, entry.relative_path);
    REQUIRE(file.ok());
    auto parsed = FindEndpoint("aggTrades")->ParseKey(key);
    REQUIRE(parsed.ok());
    auto want = sim::AggTradesJson(spec, parsed->start_ms, std::nullopt, std::nullopt, 1000, now);
    REQUIRE(want.ok());
    CHECK(file->data == *want);
    for (const auto& row : nlohmann::json::parse(file->data)) {
      ++out.rows;
      if (row["f"].get<int64_t>() == -1) ++out.invalidated;
      const int64_t t = row["T"].get<int64_t>();
      CHECK(!(t >= kGapStart && t < kGapEnd));
      if (prev_time >= 0 && prev_time < kGapStart && t >= kGapEnd) out.straddles_gap = true;
      prev_time = t;
    }
  }
  return out;
}

// The three planners of a run, started at once, each waited for.
struct Planners {
  std::vector<std::pair<std::string, std::unique_ptr<ChildProcess>>> runs;
  void Start(Pipeline& p) {
    auto at = [](int64_t ms) { return std::to_string(ms); };
    runs.emplace_back("klines", p.StartPlanner({"--endpoint", "klines", "--symbols",
                                                "BTCUSDT,ETHUSDT", "--intervals", "1m", "--start",
                                                at(kKlinesStart), "--end", at(kKlinesEnd)},
                                               true, "klines"));
    runs.emplace_back("aggTrades",
                      p.StartPlanner({"--endpoint", "aggTrades", "--symbols", "BTCUSDT", "--start",
                                      at(kAggStart), "--end", at(kAggEnd)},
                                     true, "aggTrades"));
    runs.emplace_back("fundingRate",
                      p.StartPlanner({"--endpoint", "fundingRate", "--symbols", "BTCUSDT,ETHUSDT",
                                      "--start", at(kFundingStart), "--end", at(kFundingEnd)},
                                     true, "fundingRate"));
  }
  // Waits for each planner and checks that it exited 0, then stops the fetchers and the
  // persister.
  void WaitAllDone(Pipeline& p, int timeout_ms = 240000) {
    std::map<std::string, int> exits;
    for (auto& [name, proc] : runs) {
      auto st = proc->Wait(timeout_ms);
      exits[name] = st ? *st : -1;  // -1: still running after the timeout
    }
    INFO(p.Logs());
    CHECK(exits.at("klines") == 0);
    CHECK(exits.at("aggTrades") == 0);
    CHECK(exits.at("fundingRate") == 0);
    REQUIRE(p.StopAll());
  }
};

// Spot weight of 200 per 2 s (klines 2 a request, aggTrades 4), fundingRate 10 requests per 2 s,
// on the simulator and the fetchers; every endpoint with some faults.
std::vector<std::string> SimFlags(std::vector<std::string> more = {}) {
  std::vector<std::string> f = {"--weight-limit",       "200",
                                "--window-ms",          "2000",
                                "--funding-limit",      "10",
                                "--funding-window-ms",  "2000",
                                "--fault-endpoints",    "klines,aggTrades,fundingRate",
                                "--fault-server-error", "0.03",
                                "--fault-truncated",    "0.03"};
  f.insert(f.end(), more.begin(), more.end());
  return f;
}

void StartPools(Pipeline& p) {
  const std::vector<std::string> flags = {"--backoff-base-ms", "50", "--backoff-max-ms",    "500",
                                          "--funding-limit",   "10", "--funding-window-ms", "2000"};
  p.StartFetchers(2, flags, "klines");
  p.StartFetchers(2, flags, "aggTrades");
  p.StartFetchers(1, flags, "fundingRate");
}

void CheckData(Pipeline& p, const fs::path& scratch) {
  const int64_t now = WallClockMs();
  CHECK(CheckComplete(p.data_root(), "klines", "BTCUSDT", "1m", kKlinesStart, kKlinesEnd) == 89);
  CHECK(CheckComplete(p.data_root(), "klines", "ETHUSDT", "1m", kKlinesStart, kKlinesEnd) == 89);
  CHECK(CheckComplete(p.data_root(), "fundingRate", "BTCUSDT", "1h", kFundingStart, kFundingEnd) >=
        4);
  const AggCheck agg = CheckAggTrades(p.data_root(), now);
  CHECK(agg.slices >= 10);
  CHECK(agg.invalidated > 0);
  CHECK(agg.straddles_gap);

  std::string report;
  CHECK(RunStatusTool(scratch, {"verify", "--data-root", p.data_root().string()}, &report) == 0);
  INFO(report);
  // The trades and the candles of BTCUSDT agree, minute by minute.
  CHECK(RunStatusTool(scratch, {"reconcile", "--data-root", p.data_root().string()}, &report) == 0);
  CHECK_THAT(report, Catch::Contains("BTCUSDT"));
}

}  // namespace

TEST_CASE("klines, aggTrades and fundingRate in one run under their three budgets",
          "[e2e][endpoints]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), SimFlags());
  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister();
  StartPools(p);
  Planners planners;
  planners.Start(p);
  planners.WaitAllDone(p);

  const nlohmann::json counters = sim.Counters();
  INFO(counters.dump());
  const auto& ip = counters["ips"]["127.0.0.1"];
  // The figures, for whoever runs the binary by hand.
  std::fprintf(stderr, "endpoints e2e: %s requests, weight %s, 429 x %s, 418 x %s\n",
               ip["requests"].dump().c_str(), ip["weight"].dump().c_str(), ip["429"].dump().c_str(),
               ip["418"].dump().c_str());
  CHECK(ip["418"] == 0);
  // At most 1% of the requests answered 429 (other programs are not sharing this budget).
  CHECK(ip["429"].get<int64_t>() * 100 <= ip["requests"].get<int64_t>());
  CHECK(ip["faults"].size() > 0);
  // klines and aggTrades spent one spot weight budget (the --rate-state file itself, the spot
  // host's), fundingRate its own.
  CHECK(fs::exists(p.dir() / "rate.state"));
  CHECK(fs::exists(p.dir() / "rate.state.fapi.binance.com.fundingRate"));
  for (const auto& e : fs::directory_iterator(p.dir())) {
    const std::string name = e.path().filename().string();
    INFO(name);
    CHECK((name.find("api.binance.com") == std::string::npos ||
           name.find("fapi.binance.com") != std::string::npos));
  }
  CheckData(p, scratch.path());
}

TEST_CASE("a fetcher and the persister killed with SIGKILL in a multi-endpoint run lose nothing",
          "[e2e][endpoints]") {
  ScratchDir scratch;
  // Slower answers, so that the kills land in the middle of the run.
  Simulator sim(scratch.path(), SimFlags({"--latency-ms", "40", "--jitter-ms", "40"}));
  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister();
  StartPools(p);
  Planners planners;
  planners.Start(p);
  auto stored = [&](const std::string& endpoint) {
    int n = 0;
    const fs::path d = p.data_root() / "binance" / endpoint / "raw";
    if (!fs::exists(d)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(d)) {
      n += e.path().parent_path().filename() == "responses" ? 1 : 0;
    }
    return n;
  };
  // The aggTrades fetcher dies once some of its slices are stored; later the persister dies.
  REQUIRE(PollUntil([&] { return stored("aggTrades") >= 3; }, 120000));
  p.KillFetcher(2);  // the first of the aggTrades pool (klines hold 0 and 1)
  p.RestartFetcher(2);
  REQUIRE(PollUntil([&] { return stored("klines") >= 40; }, 120000));
  p.KillPersister();
  p.StartPersister();
  planners.WaitAllDone(p);
  const nlohmann::json counters = sim.Counters();
  INFO(counters.dump());
  CHECK(counters["ips"]["127.0.0.1"]["418"] == 0);
  CheckData(p, scratch.path());
}
