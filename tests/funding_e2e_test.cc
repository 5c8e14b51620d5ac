// End to end for the fundingRate endpoint (issue 19): the real simulator (its USD-M futures side),
// persister, fetchers and a planner run with --endpoint fundingRate, over real sockets and files.
// The data root ends complete (every 1000-hour window ok, or the open one partial), each stored
// answer is the simulator's byte for byte, qlir-status verify is clean, the contract whose
// funding interval changes from 8 h to 4 h is whole, and the exchange banned nobody (0 x 418).
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "tests/pipeline_harness.h"
#include "tests/test_util.h"
#include "tools/exchange-sim/funding.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

constexpr int64_t kHour = 3600000;
constexpr int64_t kStart = 1735689600000;      // 2025-01-01T00:00Z
constexpr int64_t kEnd = 1759276800000 - 1;    // to 2025-10-01T00:00Z
constexpr int64_t kSolChange = 1748736000000;  // 2025-06-01T00:00Z: SOLUSDT 8 h -> 4 h

const sim::FuturesContract& Contract(const std::string& name) {
  for (const sim::FuturesContract& c : sim::DefaultFuturesContracts()) {
    if (c.symbol == name) return c;
  }
  FAIL("no contract " << name);
  throw 0;
}

struct SeriesCheck {
  int64_t slices = 0;
  int64_t events = 0;
  std::vector<int64_t> times;  // every stored fundingTime, ascending
};

// Every grid window from the one holding max(start, first event) to the one holding `end` must
// be in the manifest, ok (or partial when it is still open at `now`), and its stored data must be
// exactly what the simulator answers for it.
SeriesCheck CheckSeries(const fs::path& root, const std::string& symbol, int64_t start, int64_t end,
                        int64_t now) {
  INFO(symbol);
  const Endpoint& e = *FindEndpoint("fundingRate");
  const sim::FuturesContract& c = Contract(symbol);
  auto dir = SeriesDir(root, "fundingRate", symbol, "1h");
  REQUIRE(dir.ok());
  auto m = ParseManifestFile((*dir / "manifest.json").string());
  REQUIRE(m.ok());
  CHECK(m->endpoint == "fundingRate");
  CHECK(m->interval == "1h");
  const int64_t first = e.GridIndex("1h", std::max(start, c.first_event_ms), 1000);
  const int64_t last = e.GridIndex("1h", std::min(end, now), 1000);
  SeriesCheck out;
  for (int64_t k = first; k <= last; ++k) {
    const SliceKey key = e.GridSlice(symbol, "1h", k, 1000);
    INFO(key.composite_key());
    auto it = m->slices.find(key.composite_key());
    REQUIRE(it != m->slices.end());
    const ManifestEntry& entry = it->second;
    const bool open = !key.ClosedAt(now);
    CHECK(entry.status == (open ? SliceStatus::kPartial : SliceStatus::kOk));
    auto text = ReadFile(*dir / entry.relative_path);
    REQUIRE(text.ok());
    auto file = DecodeResponseFile(*text, entry.relative_path);
    REQUIRE(file.ok());
    CHECK(file->meta.slice == key.composite_key());
    CHECK(file->meta.url.find("/fapi/v1/fundingRate?symbol=" + symbol +
                              "&startTime=" + std::to_string(key.start_ms)) != std::string::npos);
    if (!open) {
      // The simulator's answer for this closed window, which no longer depends on the time.
      auto want = sim::FundingRateAnswer({{"symbol", symbol},
                                          {"startTime", std::to_string(key.start_ms)},
                                          {"endTime", std::to_string(key.end_ms)},
                                          {"limit", "1000"}},
                                         sim::DefaultFuturesContracts(), now);
      REQUIRE(std::holds_alternative<std::string>(want));
      CHECK(file->data == std::get<std::string>(want));
    }
    auto summary = e.ValidatePayload(file->data, key);
    REQUIRE(summary.ok());
    CHECK(summary->n_items == entry.n_items);
    for (const auto& row : nlohmann::json::parse(file->data)) {
      out.times.push_back(row["fundingTime"].get<int64_t>());
    }
    out.events += entry.n_items;
    ++out.slices;
  }
  // Nothing outside the range was stored.
  CHECK(static_cast<int64_t>(m->slices.size()) == out.slices);
  return out;
}

}  // namespace

TEST_CASE("fundingRate: four perpetuals complete from one planner run, 8 h -> 4 h included",
          "[e2e][funding]") {
  ScratchDir scratch;
  // fundingRate's own limit made small (10 requests per 2 s, on the simulator and the fetchers,
  // which store it in the host's funding state for the planner too), so the run spans several
  // windows of it; faults on it.
  Simulator sim(scratch.path(), {"--funding-limit", "10", "--funding-window-ms", "2000",
                                 "--fault-endpoints", "fundingRate", "--fault-server-error", "0.05",
                                 "--fault-truncated", "0.05", "--fault-reset", "0.03"});
  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister();
  p.StartFetchers(2, {"--backoff-base-ms", "50", "--backoff-max-ms", "500", "--funding-limit", "10",
                      "--funding-window-ms", "2000"});

  const std::vector<std::string> symbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "HYPEUSDT"};
  int status = p.RunPlannerOnce({"--endpoint", "fundingRate", "--symbols",
                                 "BTCUSDT,ETHUSDT,SOLUSDT,HYPEUSDT,BTCUSDT_260327", "--start",
                                 std::to_string(kStart), "--end", std::to_string(kEnd)});
  INFO(p.Logs());
  // BTCUSDT_260327 is a delivery contract: not a perpetual, so unknown to fundingRate (exit 2).
  CHECK(status == 2);
  CHECK_THAT(p.Logs(), Catch::Contains("BTCUSDT_260327"));
  REQUIRE(p.StopAll());

  const int64_t now = WallClockMs();
  int64_t total_slices = 0;
  for (const std::string& s : symbols) {
    SeriesCheck c = CheckSeries(p.data_root(), s, kStart, kEnd, now);
    total_slices += c.slices;
    CHECK(c.events > 0);
    if (s == "SOLUSDT") {
      // 8 h apart before 2025-06-01, 4 h after, no event missing or doubled.
      int before = 0, after = 0;
      for (size_t i = 1; i < c.times.size(); ++i) {
        const int64_t gap = c.times[i] / kHour - c.times[i - 1] / kHour;
        if (c.times[i] < kSolChange) {
          CHECK(gap == 8);
          ++before;
        } else {
          CHECK(gap == (c.times[i - 1] < kSolChange ? 8 : 4));
          ++after;
        }
      }
      CHECK(before > 100);
      CHECK(after > 500);
    }
    if (s == "HYPEUSDT") {
      // Listed 2025-05-30: --start before it is clamped to its first event, every hour after.
      CHECK(c.times.front() / kHour * kHour == 1748606400000);  // 2025-05-30T12:00Z
      for (size_t i = 1; i < c.times.size(); ++i) {
        CHECK(c.times[i] / kHour - c.times[i - 1] / kHour == 1);
      }
      CHECK(c.times.back() >= kEnd - kHour);  // to the end of the last window (closed)
    }
  }
  CHECK(total_slices >= 4 * 6);

  // The operator's tools read the funding data root through the Endpoint.
  std::string report;
  CHECK(RunStatusTool(scratch.path(), {"verify", "--data-root", p.data_root().string()}, &report) ==
        0);
  INFO(report);
  CHECK(RunStatusTool(scratch.path(), {"--data-root", p.data_root().string()}, &report) == 0);
  CHECK_THAT(report, Catch::Contains("fundingRate/SOLUSDT/1h"));
  CHECK(RunStatusTool(scratch.path(), {"holes", "--data-root", p.data_root().string()}, &report) ==
        0);

  // Its own budget, beside the spot weight's: never banned, every window fetched once in full.
  const nlohmann::json counters = sim.Counters();
  INFO(counters.dump());
  CHECK(counters["ips"]["127.0.0.1"]["418"] == 0);
  CHECK(counters["ips"]["127.0.0.1"]["429"] == 0);
  CHECK(counters["duplicate_ok_windows"] == 0);
  // The faults fired (they are a pure function of the seed and the request) and were retried.
  CHECK(counters["ips"]["127.0.0.1"]["faults"].size() > 0);
  CHECK(fs::exists(p.dir() / "rate.state.fapi.binance.com.fundingRate"));
  CHECK(fs::exists(p.dir() / "rate.state.fapi.binance.com.weight"));
}

TEST_CASE(
    "fundingRate from the listing to now: full 1 h windows, the open one partial, a rerun "
    "fetches only that",
    "[e2e][funding]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {});
  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister();
  p.StartFetchers(1);
  const std::vector<std::string> flags = {"--endpoint", "fundingRate", "--symbols", "HYPEUSDT"};
  int status = p.RunPlannerOnce(flags);
  INFO(p.Logs());
  REQUIRE(status == 0);
  // The plan's time is at fundingRate's own pace: 500 requests per 5 minutes.
  CHECK_THAT(p.Logs(), Catch::Contains("at 100 weight/min"));
  REQUIRE(p.StopAll());
  const int64_t now = WallClockMs();
  SeriesCheck c = CheckSeries(p.data_root(), "HYPEUSDT", 0, now, now);
  CHECK(c.slices >= 13);
  // Every closed window after the first holds one event an hour: 1000, the most a slice can.
  auto m = ParseManifestFile(
      (*SeriesDir(p.data_root(), "fundingRate", "HYPEUSDT", "1h") / "manifest.json").string());
  REQUIRE(m.ok());
  int full = 0;
  for (const auto& [k, e] : m->slices) full += e.n_items == 1000 ? 1 : 0;
  CHECK(full >= c.slices - 2);

  // Again: the closed windows are stored, only the open one is fetched again.
  sim.ResetCounters();
  p.StartPersister();
  p.StartFetchers(1);
  status = p.RunPlannerOnce(flags);
  REQUIRE(status == 0);
  REQUIRE(p.StopAll());
  const nlohmann::json counters = sim.Counters();
  INFO(counters.dump());
  int slice_requests = 0;
  for (const auto& [k, v] : counters["windows"].items()) {
    if (k.find("-:") == std::string::npos) slice_requests += v["requests"].get<int>();
  }
  CHECK(slice_requests <= 1);
  CHECK(counters["ips"]["127.0.0.1"]["418"] == 0);
}
