// A service left running (issue 15), end to end: the real simulator, persister, fetchers and
// planner as processes. Start-up under each fault kind on exchangeInfo, time and the listing
// requests; an exchange unreachable at the start of a pipeline left running; a planner killed
// with SIGKILL while the fetchers spend the whole budget; hundreds of series under a limit that
// only exchangeInfo states. Limits and windows are scaled down (10 s windows) to keep it short.
// Waits poll with deadlines; nothing asserts on timing.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "tests/pipeline_harness.h"
#include "tests/supervisor_util.h"
#include "tests/test_util.h"
#include "tools/exchange-sim/faults.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

const std::vector<std::string> kFastFetcher = {
    "--concurrency",  "3",  "--backoff-base-ms", "50",   "--backoff-max-ms", "300",
    "--max-attempts", "30", "--timeout-ms",      "4000", "--heartbeat-ms",   "500"};

bool WaitFor(const std::function<bool()>& done, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

// The whole log (ReadLog keeps only a tail, for failure messages).
bool LogHas(const fs::path& log, const std::string& s) {
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.find(s) != std::string::npos;
}

size_t ResponseFiles(const fs::path& root) {
  size_t n = 0;
  const fs::path raw = root / "binance" / "klines" / "raw";
  if (!fs::exists(raw)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(raw)) {
    if (e.is_regular_file() && e.path().parent_path().filename() == "responses" &&
        e.path().extension() == ".json") {
      ++n;
    }
  }
  return n;
}

int64_t IpCount(const nlohmann::json& counters, const char* what) {
  const auto& ip = counters["ips"]["127.0.0.1"];
  return ip.contains(what) ? ip[what].get<int64_t>() : 0;
}

// The fault key the simulator uses for a request (faults.h): endpoint + sorted query.
const std::vector<std::string> kStartupKeys = {
    "exchangeInfo?", "time?", "klines?interval=1d&limit=1&startTime=0&symbol=BTCUSDT"};

// A seed with which the first two attempts of every start-up request get `kind` and one of the
// next three succeeds, so that each start-up request is seen failing once at least, for sure
// (libcurl itself sends a request again once when a reused connection dies before any answer).
uint64_t SeedFailingFirst(sim::FaultConfig c, sim::FaultKind kind) {
  for (uint64_t seed = 1; seed < 1000000; ++seed) {
    c.seed = seed;
    bool good = true;
    for (const std::string& key : kStartupKeys) {
      if (sim::DecideFault(c, key, 0).kind != kind || sim::DecideFault(c, key, 1).kind != kind) {
        good = false;
        break;
      }
      bool later_ok = false;
      for (uint64_t a = 2; a <= 4; ++a)
        later_ok |= sim::DecideFault(c, key, a).kind == sim::FaultKind::kNone;
      good = good && later_ok;
    }
    if (good) return seed;
  }
  return 0;
}

}  // namespace

TEST_CASE("start-up survives each fault kind on exchangeInfo, time and the listing requests",
          "[resilience]") {
  const std::pair<sim::FaultKind, std::string> kinds[] = {
      {sim::FaultKind::kServerError, "server-error"},
      {sim::FaultKind::kTimeout, "timeout"},
      {sim::FaultKind::kTruncated, "truncated"},
      {sim::FaultKind::kMalformed, "malformed"},
      {sim::FaultKind::kHtml, "html"},
      {sim::FaultKind::kReset, "reset"},
      {sim::FaultKind::kHang, "hang"}};
  for (const auto& [kind, flag] : kinds) {
    DYNAMIC_SECTION("fault " << flag) {
      sim::FaultConfig c;
      const std::string member = flag == "server-error" ? "server_error" : flag;
      REQUIRE(sim::ApplyFaultsJson("{\"" + member + "\":0.5}", &c).ok());
      c.endpoints = {"exchangeInfo", "time", "klines"};
      const uint64_t seed = SeedFailingFirst(c, kind);
      REQUIRE(seed != 0);
      ScratchDir dir;
      Simulator sim(dir.path(),
                    {"--fault-" + flag, "0.5", "--fault-endpoints", "exchangeInfo,time,klines",
                     "--seed", std::to_string(seed), "--hang-ms", "1500"});
      Pipeline p(dir.path(), sim.base_url());
      p.StartPersister();
      p.StartFetchers(1, kFastFetcher);
      auto planner = p.StartPlanner({"--symbols", "BTCUSDT", "--intervals", "1d",
                                     "--exchange-backoff-max-ms", "300", "--heartbeat-ms", "500"});
      auto st = planner->Wait(90000);
      const fs::path log = dir.path() / "planner-0.log";
      INFO(p.Logs());
      REQUIRE(st);
      CHECK(*st == 0);
      CHECK(LogHas(log, "exchangeInfo: attempt 1 failed"));
      CHECK(LogHas(log, "time: attempt 1 failed"));
      CHECK(LogHas(log, "listing of BTCUSDT/1d: attempt 1 failed"));
      const auto counters = sim.Counters();
      CHECK(counters["ips"]["127.0.0.1"]["faults"][std::string(sim::FaultName(kind))]
                .get<int64_t>() >= 3);
      CHECK(ResponseFiles(p.data_root()) >= 1);
      CHECK(p.StopAll());
    }
  }
}

TEST_CASE("a pipeline left running while the exchange is unreachable catches up without help",
          "[resilience]") {
  ScratchDir dir;
  // A port nothing listens on, below the ephemeral range, so no connection takes it meanwhile.
  const int port = qlir::testing::FreePortBase();
  REQUIRE(port > 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  Pipeline p(dir.path(), base);
  p.StartPersister();
  p.StartFetchers(2, kFastFetcher);
  // 2024-01-01 to 2024-01-08: 11 slices of 1m (1000 minutes each, on the global grid) + 1 of 1h.
  auto planner = p.StartPlanner(
      {"--symbols", "BTCUSDT", "--intervals", "1m,1h", "--start", "2024-01-01", "--end",
       "2024-01-08", "--exchange-backoff-max-ms", "2000", "--heartbeat-ms", "500"},
      /*once=*/false);
  const fs::path log = dir.path() / "planner-0.log";
  // Unreachable for 30 s (a minute, scaled down): it says why on each attempt and stays up.
  REQUIRE(WaitFor([&] { return LogHas(log, "exchangeInfo: attempt 3 failed"); }, 30000));
  std::this_thread::sleep_for(std::chrono::seconds(25));  // the rest of the outage
  CHECK(planner->running());
  for (auto& f : p.fetchers()) CHECK(f->running());
  CHECK(LogHas(log, "Couldn't connect"));  // libcurl's reason, logged on each attempt
  CHECK(ResponseFiles(p.data_root()) == 0);
  // The exchange comes back on the same address.
  Simulator sim(dir.path(), {"--listen", "127.0.0.1:" + std::to_string(port)});
  const int64_t start = 1704067200000, end = 1704672000000;
  const size_t want = static_cast<size_t>((end / 60000000 - start / 60000000 + 1) +
                                          (end / 3600000000 - start / 3600000000 + 1));
  INFO(p.Logs());
  CHECK(WaitFor([&] { return ResponseFiles(p.data_root()) == want; }, 90000));
  CHECK(planner->running());
  planner->Signal(SIGTERM);
  auto st = planner->Wait(30000);
  REQUIRE(st);
  CHECK(*st == 0);
  CHECK(p.StopAll());
}

TEST_CASE("a planner killed with SIGKILL while fetchers spend the whole budget: no 418",
          "[resilience]") {
  ScratchDir dir;
  // 300 weight per 10 s, stated only by exchangeInfo; the fetchers assume 6000 per minute.
  Simulator sim(dir.path(), {"--weight-limit", "300", "--window-ms", "10000"});
  Pipeline p(dir.path(), sim.base_url());
  p.StartPersister();
  p.StartFetchers(2, {"--concurrency", "4", "--heartbeat-ms", "500"});
  // 2024-01-01 plus 240 slices of 1m: about 480 weight, two windows and more.
  const std::vector<std::string> flags = {"--symbols",
                                          "BTCUSDT",
                                          "--intervals",
                                          "1m",
                                          "--start",
                                          "2024-01-01",
                                          "--end",
                                          "2024-06-16",
                                          "--heartbeat-ms",
                                          "500",
                                          "--lease-timeout-ms",
                                          "20000"};
  auto first = p.StartPlanner(flags);
  REQUIRE(WaitFor([&] { return ResponseFiles(p.data_root()) >= 40; }, 60000));
  first->Signal(SIGKILL);
  first->Wait(10000);
  // What supervisord does: start it again.
  auto second = p.StartPlanner(flags);
  auto st = second->Wait(120000);
  INFO(p.Logs());
  REQUIRE(st);
  CHECK(*st == 0);
  const auto c = sim.Counters();
  const int64_t requests = IpCount(c, "requests");
  INFO(c.dump());
  CHECK(IpCount(c, "418") == 0);
  CHECK(IpCount(c, "429") * 100 <= requests);
  CHECK(p.StopAll());
}

TEST_CASE("hundreds of series under a limit only exchangeInfo states: no 418, no exit",
          "[resilience]") {
  ScratchDir dir;
  // 200 symbols listed 2025-06-01: 200 listing requests and 200 slices of 1d, 800 weight at 300
  // per 10 s. The fetchers are not told the limit: they learn it from the planner's jobs.
  std::string symbols = "{\"symbols\":[";
  std::string names;
  for (int i = 0; i < 200; ++i) {
    std::string name = std::to_string(i);
    name = "S" + std::string(3 - name.size(), '0') + name + "USDT";
    symbols +=
        std::string(i ? "," : "") + "{\"symbol\":\"" + name + "\",\"listing\":\"2025-06-01\"}";
    names += std::string(i ? "," : "") + name;
  }
  symbols += "]}";
  std::ofstream(dir.path() / "symbols.json") << symbols;
  Simulator sim(dir.path(), {"--symbols-file", (dir.path() / "symbols.json").string(),
                             "--weight-limit", "300", "--window-ms", "10000"});
  Pipeline p(dir.path(), sim.base_url());
  p.StartPersister();
  p.StartFetchers(3, {"--concurrency", "4", "--heartbeat-ms", "500"});
  auto planner = p.StartPlanner({"--symbols", names, "--intervals", "1d", "--heartbeat-ms", "500"});
  auto st = planner->Wait(150000);
  INFO(p.Logs());
  REQUIRE(st);
  CHECK(*st == 0);
  for (auto& f : p.fetchers()) CHECK(f->running());
  const auto c = sim.Counters();
  INFO(c.dump());
  const int64_t requests = IpCount(c, "requests");
  CHECK(requests >= 401);
  CHECK(IpCount(c, "418") == 0);
  CHECK(IpCount(c, "429") * 100 <= requests);
  CHECK(ResponseFiles(p.data_root()) == 200);
  CHECK(LogHas(dir.path() / "planner-0.log", "exchange weight limit 300 per"));
  CHECK(p.StopAll());
}
