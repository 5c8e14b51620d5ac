// Crash isolation and fault tolerance of the whole pipeline (issue #7), with the real processes
// against the exchange simulator. Jepsen style (docs/conventions.md, "Tests"): a nemesis kills
// processes or injects faults on a schedule drawn from a printed seed, then a checker reads the
// data root offline and looks for lost, unexpected, damaged and doubly fetched slices.
//
// Every test prints one summary line ("crash_test: ...") with its figures. Reproduce a run with
// QLIR_CRASH_SEED=<seed> (the simulator's faults and the kill schedule follow it; the timing of
// the processes does not).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/exit_codes.h"
#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "common/wire.h"
#include "tests/data_root_check.h"
#include "tests/pipeline_harness.h"
#include "tests/skip.h"
#include "tests/supervisor_util.h"
#include "tests/test_util.h"
#include "tools/exchange-sim/candles.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

constexpr int64_t kStart = 1704067200000;     // 2024-01-01T00:00:00Z, on the 1m slice grid
constexpr int64_t kSlice1m = 60000LL * 1000;  // one 1m slice: 1000 candles
constexpr int64_t kListing = 1502942400000;   // 2017-08-17T04:00Z

using Clock = std::chrono::steady_clock;

// The seed of this test case: QLIR_CRASH_SEED, else random; printed either way.
uint64_t TestSeed(const char* test) {
  uint64_t seed = 0;
  if (const char* s = std::getenv("QLIR_CRASH_SEED"); s && *s) {
    seed = std::strtoull(s, nullptr, 10);
  } else {
    seed = std::random_device{}();
  }
  std::printf("crash_test: %s seed=%llu (QLIR_CRASH_SEED=%llu to repeat)\n", test,
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

// With QLIR_CRASH_KEEP=DIR, copies the scratch directory's logs into DIR/<test>/ when the test
// ends (passed or not), for reading after a failure.
class KeepLogs {
 public:
  KeepLogs(const fs::path& scratch, std::string name) : scratch_(scratch), name_(std::move(name)) {}
  ~KeepLogs() {
    const char* keep = std::getenv("QLIR_CRASH_KEEP");
    if (!keep || !*keep) return;
    std::error_code ec;
    const fs::path to = fs::path(keep) / name_;
    fs::create_directories(to, ec);
    for (const auto& e : fs::recursive_directory_iterator(scratch_, ec)) {
      if (e.path().extension() == ".log") {
        fs::copy_file(e.path(), to / e.path().filename(), fs::copy_options::overwrite_existing, ec);
      }
    }
  }
  KeepLogs(const KeepLogs&) = delete;
  KeepLogs& operator=(const KeepLogs&) = delete;

 private:
  fs::path scratch_;
  std::string name_;
};

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The wanted data: symbols x 1m over a fixed range in the past (every slice closed, so every
// stored byte is a pure function of the symbol and can be recomputed by the checker).
struct Universe {
  std::vector<sim::SymbolSpec> specs;
  std::string interval = "1m";
  int64_t start = kStart;
  int64_t end = 0;

  std::vector<std::string> SimFlags(std::vector<std::string> extra = {}) const {
    std::vector<std::string> f;
    for (const auto& s : specs) {
      f.push_back("--symbol");
      f.push_back(s.symbol + ",listing=" + std::to_string(s.listing_ms));
    }
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }
  std::string Symbols() const {
    std::string out;
    for (const auto& s : specs) out += (out.empty() ? "" : ",") + s.symbol;
    return out;
  }
  // Planner flags: the range, and short heartbeats and waits so that a dead peer is noticed
  // quickly (a small universe keeps the test short).
  std::vector<std::string> PlannerFlags(std::vector<std::string> extra = {}) const {
    std::vector<std::string> f = {"--symbols",
                                  Symbols(),
                                  "--intervals",
                                  interval,
                                  "--start",
                                  std::to_string(start),
                                  "--end",
                                  std::to_string(end),
                                  "--heartbeat-ms",
                                  "300",
                                  "--durable-wait-ms",
                                  "5000",
                                  "--lease-timeout-ms",
                                  "20000",
                                  "--status-retry-ms",
                                  "500",
                                  "--progress-ms",
                                  "2000",
                                  "--retry-base-ms",
                                  "200",
                                  "--retry-max-ms",
                                  "2000"};
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }
  // What the data root must hold, for DataRootChecker.
  std::vector<qlir::testing::WantedSeries> Wanted() const {
    std::vector<qlir::testing::WantedSeries> out;
    for (const auto& s : specs) out.push_back({s, interval, start, end});
    return out;
  }
  std::vector<klines::KlineSliceKey> Keys() const {
    std::vector<klines::KlineSliceKey> out;
    for (const auto& s : specs) {
      auto keys = klines::GenerateKlineSlices(s.symbol, interval, start, end);
      if (keys.ok()) out.insert(out.end(), keys->begin(), keys->end());
    }
    return out;
  }
};

Universe MakeUniverse(int slices_per_series,
                      std::vector<std::string> symbols = {"BTCUSDT", "ETHUSDT"}) {
  Universe u;
  for (const auto& name : symbols) {
    sim::SymbolSpec s;
    s.symbol = name;
    s.listing_ms = kListing;
    u.specs.push_back(s);
  }
  u.end = kStart + slices_per_series * kSlice1m - 1;
  return u;
}

std::vector<std::string> FetcherFlags(std::vector<std::string> extra = {}) {
  std::vector<std::string> f = {"--concurrency",    "4",     "--heartbeat-ms",         "300",
                                "--timeout-ms",     "10000", "--backoff-base-ms",      "100",
                                "--backoff-max-ms", "1000",  "--reconnect-initial-ms", "100"};
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

// Simulator counters.
struct WindowCount {
  int64_t requests = 0;
  int64_t ok = 0;
};
std::map<std::string, WindowCount> Windows(const nlohmann::json& c) {
  std::map<std::string, WindowCount> out;
  for (const auto& [k, w] : c["windows"].items()) {
    if (k.find("-:") != std::string::npos) continue;  // the planner's first-candle request
    out[k] = {w["requests"].get<int64_t>(), w["ok"].get<int64_t>()};
  }
  return out;
}
size_t OkWindows(const nlohmann::json& c) {
  size_t n = 0;
  for (const auto& [k, w] : c["windows"].items()) {
    if (k.find("-:") != std::string::npos) continue;  // the planner's first-candle request
    n += w["ok"].get<int64_t>() > 0;
  }
  return n;
}
int64_t SumOverIps(const nlohmann::json& c, const std::string& field) {
  int64_t n = 0;
  for (const auto& [ip, v] : c["ips"].items()) n += v[field].get<int64_t>();
  return n;
}
std::map<std::string, int64_t> FaultsByKind(const nlohmann::json& c) {
  std::map<std::string, int64_t> out;
  for (const auto& [ip, v] : c["ips"].items()) {
    for (const auto& [kind, n] : v["faults"].items()) out[kind] += n.get<int64_t>();
  }
  return out;
}

// Keys the planners logged as re-handed ("re-handing job N (why, fetcher F) key=K").
std::set<std::string> RehandedKeys(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("planner-", 0) != 0) continue;
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("re-handing job") == std::string::npos) continue;
      auto k = line.find("key=");
      if (k != std::string::npos) out.insert(line.substr(k + 4));
    }
  }
  return out;
}

// Windows the simulator served in full more than once: each must be one the planner re-handed
// (`rehanded`). Returns how many there were.
int64_t CheckRepeatsWereRehanded(const nlohmann::json& counters,
                                 const std::set<std::string>& rehanded) {
  int64_t repeats = 0;
  for (const auto& [key, w] : Windows(counters)) {
    if (w.ok > 1) {
      ++repeats;
      INFO(key);
      CHECK(rehanded.count(key) == 1);
    }
  }
  return repeats;
}

std::string AllLogs(const fs::path& dir, const std::string& prefix) {
  std::string out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || e.path().extension() != ".log") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    out += ss.str();
  }
  return out;
}

size_t CountOccurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Asks a running persister (control socket, STATUS_REQUEST) for the keys it holds as ok, as
// the planner does. nullopt when it does not answer within timeout_ms.
std::optional<std::set<std::string>> PersisterOkKeys(const std::string& control, const Universe& u,
                                                     int timeout_ms = 20000) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(control);
  std::set<std::string> ok;
  uint64_t id = 1000;
  for (const auto& spec : u.specs) {
    ++id;
    const std::string req =
        wire::Encode(wire::StatusRequest{id, "klines", spec.symbol, u.interval});
    s.send(zmq::buffer(req), zmq::send_flags::dontwait);
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    bool answered = false;
    while (!answered && Clock::now() < deadline) {
      zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t msg;
      if (!s.recv(msg, zmq::recv_flags::dontwait)) continue;
      auto decoded = wire::Decode(msg.to_string_view());
      if (!decoded.ok()) continue;
      if (auto* reply = std::get_if<wire::StatusReply>(&*decoded);
          reply && reply->request_id == id) {
        if (!reply->error.empty()) return std::nullopt;
        for (const auto& st : reply->slices) {
          if (st.status == "ok") ok.insert(st.key);
        }
        answered = true;
      }
    }
    if (!answered) return std::nullopt;
  }
  return ok;
}

// Every running process of the pipeline, for "no process exited".
bool AllRunning(Pipeline& p) {
  if (!p.persister().running()) return false;
  for (auto& f : p.fetchers()) {
    if (!f || !f->running()) return false;
  }
  return true;
}

// The opening every crash test shares (a fixture, TEST_CASE_METHOD): the seed, printed, with a
// generator drawn from it; a scratch directory whose logs QLIR_CRASH_KEEP keeps; the wanted
// data, the simulator serving it and the pipeline over it, whose processes each test starts
// with its own flags; and the closing check of the data root.
class CrashScenario {
 protected:
  // `name` is printed with the seed; `keep_as` names the test's folder under QLIR_CRASH_KEEP.
  void Open(const char* name, const char* keep_as) {
    seed = TestSeed(name);
    rng.seed(seed);
    t0 = Clock::now();
    keep_.emplace(scratch.path(), keep_as);
  }
  // Starts the simulator serving `universe` (now the scenario's `u`), with `sim_flags` added.
  Simulator& Serve(Universe universe, std::vector<std::string> sim_flags = {}) {
    u = std::move(universe);
    sim_.emplace(scratch.path(), u.SimFlags(std::move(sim_flags)));
    return *sim_;
  }
  // The pipeline over the scratch directory and the simulator, with its persister (and
  // `persister_flags`) and `fetchers` fetchers (FetcherFlags(fetcher_flags)) started; each test
  // starts its planners.
  Pipeline& StartPipeline(int fetchers, std::vector<std::string> fetcher_flags = {},
                          std::vector<std::string> persister_flags = {}) {
    pipeline_.emplace(scratch.path(), sim_->base_url());
    pipeline_->StartPersister(std::move(persister_flags));
    pipeline_->StartFetchers(fetchers, FetcherFlags(std::move(fetcher_flags)));
    return *pipeline_;
  }
  // The data root at the end of a run: every check of DataRootChecker passes.
  CheckReport CheckFinal(DataRootChecker& checker) {
    CheckReport r = checker.Run(/*final=*/true);
    INFO(r.Text());
    CHECK(r.problems.empty());
    return r;
  }
  CheckReport CheckFinal(const fs::path& data_root) {
    DataRootChecker checker(data_root, u.Wanted());
    return CheckFinal(checker);
  }

  uint64_t seed = 0;
  std::mt19937_64 rng;
  Clock::time_point t0;
  ScratchDir scratch;
  Universe u;

 private:
  // Destroyed in reverse: the processes stop, then the simulator, then the logs are kept, then
  // the scratch directory goes.
  std::optional<KeepLogs> keep_;
  std::optional<Simulator> sim_;
  std::optional<Pipeline> pipeline_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// (a) Fetchers killed with SIGKILL in the middle of transfers, again and again, each restarted
// at once (as supervisord does): the run completes, every slice is ok with the exchange's exact
// bytes, and a window was served in full twice only if the planner re-handed it.
TEST_CASE_METHOD(CrashScenario,
                 "fetcher kill -9 storm during a run loses nothing and stores nothing twice",
                 "[crash]") {
  Open("fetcher storm", "fetcher-storm");
  // Latency keeps each transfer in flight for 100-300 ms, so the kills land mid-transfer.
  Simulator& sim = Serve(MakeUniverse(120), {"--latency-ms", "100", "--jitter-ms", "200", "--seed",
                                             std::to_string(seed % 1000000)});  // 2 x 120 slices
  Pipeline& p = StartPipeline(3);
  auto planner = p.StartPlanner(u.PlannerFlags());

  constexpr int kWantKills = 8;
  int kills = 0;
  int64_t in_flight_at_kills = 0;
  size_t served_at_last_kill = 0;
  while (kills < kWantKills && planner->running()) {
    // The nemesis waits for the pipeline to make progress (new windows served, transfers in
    // flight), then a random 0-250 ms, then kills a random fetcher.
    nlohmann::json c;
    PollUntil(
        [&] {
          c = sim.Counters();
          return !planner->running() ||
                 (OkWindows(c) >= served_at_last_kill + 12 && c["in_flight"].get<int64_t>() > 0);
        },
        60000);
    if (!planner->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 250));
    const size_t victim = rng() % p.fetchers().size();
    in_flight_at_kills += sim.Counters()["in_flight"].get<int64_t>();
    p.KillFetcher(victim);
    ++kills;
    served_at_last_kill = OkWindows(sim.Counters());
    p.RestartFetcher(victim);
  }
  auto status = planner->Wait(180000);
  INFO(p.Logs());
  REQUIRE(status.has_value());
  REQUIRE(*status == 0);
  CHECK(kills == kWantKills);
  REQUIRE(p.StopAll());

  CheckReport r = CheckFinal(p.data_root());
  CHECK(r.ok == r.expected);

  // Doubly served windows: only slices the planner re-handed (a killed fetcher held them).
  const auto rehanded = RehandedKeys(scratch.path());
  auto counters = sim.Counters();
  const int64_t duplicates = CheckRepeatsWereRehanded(counters, rehanded);
  for (const auto& key : rehanded) CHECK(Windows(counters)[key].requests >= 1);
  CHECK(SumOverIps(counters, "418") == 0);
  CHECK(kills > 0);
  CHECK(!rehanded.empty());  // the kills did take jobs away
  std::printf(
      "crash_test: fetcher storm: kills=%d (sim transfers in flight at the kills: %lld) "
      "slices=%zu ok=%zu rehanded=%zu windows_served_twice=%lld requests=%lld 418s=%lld "
      "seconds=%.1f\n",
      kills, static_cast<long long>(in_flight_at_kills), r.expected, r.ok, rehanded.size(),
      static_cast<long long>(duplicates),
      static_cast<long long>(counters["requests"].get<int64_t>()),
      static_cast<long long>(SumOverIps(counters, "418")), SecondsSince(t0));
}

// ---------------------------------------------------------------------------------------------
// (b) The persister killed with SIGKILL at random moments while it writes response files and
// (flushing every 10 updates or 100 ms) manifests, and restarted: after each kill, offline,
// every manifest is valid and every slice it marks ok has its file with the exchange's bytes;
// at the end no temporary is left and every slice is ok.
TEST_CASE_METHOD(CrashScenario,
                 "persister kill -9 at random moments while it writes keeps the data root valid",
                 "[crash]") {
  // Both state backends: manifest.json files (rewritten every 10 updates or 100 ms) and
  // state.sqlite3 (committed as often); the SQLite run is shorter (fewer slices and kills).
  const std::string state = GENERATE(as<std::string>{}, "json", "sqlite");
  const bool sqlite = state == "sqlite";
  Open(sqlite ? "persister storm sqlite" : "persister storm",
       sqlite ? "persister-storm-sqlite" : "persister-storm");
  Simulator& sim =
      Serve(MakeUniverse(sqlite ? 60 : 100), {"--latency-ms", "50", "--jitter-ms", "100"});
  Pipeline& p = StartPipeline(
      2, {"--concurrency", "2"},
      {"--flush-every", "10", "--flush-ms", "100", "--no-adaptive-flush", "--state", state});
  auto planner = p.StartPlanner(u.PlannerFlags());
  DataRootChecker checker(p.data_root(), u.Wanted());

  const int kWantKills = sqlite ? 4 : 6;
  int kills = 0;
  size_t temporaries_after_kills = 0;
  size_t ok_after_kills = 0;
  while (kills < kWantKills && planner->running()) {
    // It is writing: new response files appear since its (re)start.
    const size_t before = checker.CountResponseFiles();
    PollUntil([&] { return !planner->running() || checker.CountResponseFiles() >= before + 5; },
              60000);
    if (!planner->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
    p.KillPersister();
    ++kills;
    // Offline check of what the dead persister left.
    CheckReport r = checker.Run(/*final=*/false);
    INFO("after kill " << kills << ": " << r.Text());
    CHECK(r.problems.empty());
    temporaries_after_kills += r.temporaries;
    ok_after_kills = r.ok;
    p.StartPersister();  // the same flags
  }
  auto status = planner->Wait(180000);
  INFO(p.Logs());
  REQUIRE(status.has_value());
  REQUIRE(*status == 0);
  // The run may end before the last kill when the persister is quick; four (three) is the least.
  CHECK(kills >= kWantKills - 2);
  if (sqlite) {
    CHECK(fs::exists(p.data_root() / kStateDbName));
    CHECK_FALSE(fs::exists(p.data_root() / "binance/klines/raw/BTCUSDT/1m/manifest.json"));
  }
  REQUIRE(p.StopAll());
  CheckReport r = CheckFinal(checker);
  CHECK(r.ok == r.expected);
  auto counters = sim.Counters();
  CHECK(SumOverIps(counters, "418") == 0);
  // A window served twice is one whose result died with a persister (taken off the socket,
  // not yet written) and that the planner therefore re-handed.
  const auto rehanded = RehandedKeys(scratch.path());
  const int64_t duplicates = CheckRepeatsWereRehanded(counters, rehanded);
  const auto recovery = AllLogs(scratch.path(), "persister");
  std::printf(
      "crash_test: persister storm (%s): kills=%d slices=%zu ok=%zu ok_at_last_kill=%zu "
      "temporaries_found_after_kills=%zu removed_at_recovery=%zu indexed_at_recovery=%zu "
      "rehanded=%zu windows_served_twice=%lld seconds=%.1f\n",
      state.c_str(), kills, r.expected, r.ok, ok_after_kills, temporaries_after_kills,
      CountOccurrences(recovery, "removed leftover temporary"),
      CountOccurrences(recovery, "indexed response file missing from the manifest"),
      rehanded.size(), static_cast<long long>(duplicates), SecondsSince(t0));
}

// ---------------------------------------------------------------------------------------------
// (c) The planner killed with SIGKILL twice mid-run and restarted: each new planner resumes
// from the persister's statuses, and no window durable at the kill is requested again.
TEST_CASE_METHOD(CrashScenario,
                 "planner kill -9 mid-run resumes from the persister and refetches nothing durable",
                 "[crash]") {
  Open("planner kills", "planner-kills");
  Simulator& sim = Serve(MakeUniverse(100), {"--latency-ms", "50", "--jitter-ms", "100"});
  Pipeline& p = StartPipeline(2);

  constexpr int kKills = 2;
  std::vector<std::set<std::string>> durable_at_kill;
  size_t refetched_durable = 0;
  for (int round = 0; round <= kKills; ++round) {
    auto planner = p.StartPlanner(u.PlannerFlags());
    if (round == kKills) {
      auto status = planner->Wait(180000);
      INFO(p.Logs());
      REQUIRE(status.has_value());
      REQUIRE(*status == 0);
    } else {
      const size_t target = 40 + rng() % 40;
      PollUntil([&] { return !planner->running() || OkWindows(sim.Counters()) >= target; }, 60000);
      INFO(p.Logs());
      REQUIRE(planner->running());
      planner->Signal(SIGKILL);
      planner->Wait(30000);
    }
    // Windows asked since the last kill (the counters were reset right after the persister
    // was asked) must not include any that was durable then.
    auto windows = Windows(sim.Counters());
    if (round > 0) {
      for (const auto& key : durable_at_kill.back()) {
        INFO("durable before kill " << round << " yet requested again: " << key);
        CHECK(windows.count(key) == 0);
        refetched_durable += windows.count(key);
      }
    }
    if (round < kKills) {
      auto ok = PersisterOkKeys(p.control_addr(), u);
      REQUIRE(ok.has_value());
      durable_at_kill.push_back(*ok);
      sim.ResetCounters();
    }
  }
  REQUIRE(p.StopAll());
  CheckReport r = CheckFinal(p.data_root());
  CHECK(durable_at_kill.at(0).size() >= 20);
  CHECK(durable_at_kill.at(1).size() > durable_at_kill.at(0).size());
  std::printf(
      "crash_test: planner kills: kills=%d durable_at_kills=%zu,%zu "
      "durable_requested_again=%zu slices=%zu ok=%zu seconds=%.1f\n",
      kKills, durable_at_kill.at(0).size(), durable_at_kill.at(1).size(), refetched_durable,
      r.expected, r.ok, SecondsSince(t0));
}

// ---------------------------------------------------------------------------------------------
// (d) Every fault kind of the simulator at once, 35% of klines requests in all, plus latency and
// a tight weight budget: the run completes with the exchange's exact bytes and no 418.
TEST_CASE_METHOD(CrashScenario,
                 "every fault kind at once at a high rate: complete - byte-identical - zero 418s",
                 "[crash]") {
  Open("all faults", "all-faults");
  // Every fault kind at 5%, hangs of 3 s, and a weight limit of 400 per 2 s.
  std::vector<std::string> flags = {
      "--fault-server-error", "0.05", "--fault-timeout", "0.05", "--fault-truncated", "0.05",
      "--fault-malformed",    "0.05", "--fault-html",    "0.05", "--fault-reset",     "0.05",
      "--fault-hang",         "0.05", "--hang-ms",       "3000", "--latency-ms",      "10",
      "--jitter-ms",          "40",   "--weight-limit",  "400",  "--window-ms",       "2000"};
  flags.push_back("--seed");
  flags.push_back(std::to_string(seed % 1000000000));
  Simulator& sim = Serve(MakeUniverse(100), flags);
  Pipeline& p = StartPipeline(
      2, {"--timeout-ms", "1000", "--weight-limit", "400", "--weight-window-ms", "2000"});
  int status = p.RunPlannerOnce(u.PlannerFlags({"--max-failures", "20"}), 180000);
  INFO(p.Logs());
  REQUIRE(status == 0);
  REQUIRE(AllRunning(p));
  REQUIRE(p.StopAll());
  CheckReport r = CheckFinal(p.data_root());
  auto counters = sim.Counters();
  INFO(counters.dump());
  CHECK(SumOverIps(counters, "418") == 0);
  const auto faults = FaultsByKind(counters);
  int64_t total_faults = 0;
  std::string by_kind;
  for (const auto& [kind, n] : faults) {
    total_faults += n;
    by_kind += " " + kind + "=" + std::to_string(n);
  }
  // Every kind was injected.
  for (const char* kind :
       {"server_error", "timeout", "truncated", "malformed", "html", "reset", "hang"}) {
    INFO(kind);
    CHECK(faults.count(kind) == 1);
  }
  std::printf(
      "crash_test: all faults: slices=%zu ok=%zu requests=%lld faults=%lld (%s ) "
      "429s=%lld 418s=%lld seconds=%.1f\n",
      r.expected, r.ok, static_cast<long long>(counters["requests"].get<int64_t>()),
      static_cast<long long>(total_faults), by_kind.c_str(),
      static_cast<long long>(SumOverIps(counters, "429")),
      static_cast<long long>(SumOverIps(counters, "418")), SecondsSince(t0));
}

// ---------------------------------------------------------------------------------------------
// (e) Garbage on every endpoint a running pipeline binds (planner jobs ROUTER, persister results
// PULL, persister control ROUTER): random bytes, empty and multi-frame messages, truncated and
// wrong-type messages, a fake fetcher that takes jobs and vanishes, and frames over the 16 MB
// limit. Each is logged and dropped, no process exits, and the run completes intact.
namespace {

struct GarbageStats {
  int random = 0, empty = 0, multi_frame = 0, truncated = 0, wrong_type = 0, oversized = 0,
      impostor_ready = 0;
  int total() const {
    return random + empty + multi_frame + truncated + wrong_type + oversized + impostor_ready;
  }
};

void SendFrames(zmq::socket_t& s, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    s.send(zmq::buffer(frames[i]),
           i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// One round of garbage on the three endpoints of `p`.
void SprayGarbage(zmq::context_t& ctx, Pipeline& p, std::mt19937_64& rng, GarbageStats* g) {
  auto make = [&](zmq::socket_type type, const std::string& addr) {
    zmq::socket_t s(ctx, type);
    s.set(zmq::sockopt::linger, 2000);  // deliver what we sent before closing
    s.connect(addr);
    return s;
  };
  const std::string big(static_cast<size_t>(wire::kMaxMessageBytes) + 4096, 'x');
  const std::vector<wire::Message> wrong = {
      wire::Durable{"klines", {{"BTCUSDT:1m:0-59999999:1000", "ok"}}},
      wire::Job{7, "klines", "BTCUSDT:1m:0-59999999:1000"},
      wire::StatusReply{1, "klines", "BTCUSDT", "1m", "", {}},
      wire::Ack{1, "", 3},
      wire::Hello{"stranger"},
  };
  // What every socket gets: 40 random messages, an empty one, a multi-frame one, a truncated
  // one, and every message type that does not belong on it.
  auto spray = [&](zmq::socket_t& s, std::vector<std::string> multi_frame,
                   const std::string& truncated) {
    for (int i = 0; i < 40; ++i, ++g->random) SendFrames(s, {RandomBytes(rng, 1 + rng() % 400)});
    SendFrames(s, {""});
    ++g->empty;
    SendFrames(s, multi_frame);
    ++g->multi_frame;
    SendFrames(s, {truncated});
    ++g->truncated;
    for (const auto& m : wrong) SendFrames(s, {wire::Encode(m)}), ++g->wrong_type;
  };
  // One message over the size limit, on a socket of its own.
  auto oversize = [&](zmq::socket_type type, const std::string& addr) {
    zmq::socket_t s = make(type, addr);
    SendFrames(s, {big});
    ++g->oversized;
  };
  {
    // Planner jobs ROUTER: plus JOB_DONE/JOB_RETURN for jobs it never gave.
    zmq::socket_t s = make(zmq::socket_type::dealer, p.jobs_addr());
    spray(s, {"a", "b", "c"}, wire::Encode(wire::Ready{"x", 4}).substr(0, 5));
    SendFrames(s, {wire::Encode(wire::JobDone{987654, "BTCUSDT:1m:5-1:1000", "ok"})});
    SendFrames(s, {wire::Encode(wire::JobReturn{987655, "nonsense"})});
    g->wrong_type += 2;
  }
  {
    // A fake fetcher: READY with credits, takes jobs, never answers, goes away. The planner
    // must hand its jobs to real fetchers.
    zmq::socket_t s = make(zmq::socket_type::dealer, p.jobs_addr());
    s.set(zmq::sockopt::linger, 0);
    SendFrames(s, {wire::Encode(wire::Ready{"impostor", 2})});
    ++g->impostor_ready;
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(2000));
  }
  oversize(zmq::socket_type::dealer, p.jobs_addr());
  {
    // Persister results PULL: plus results it must refuse.
    zmq::socket_t s = make(zmq::socket_type::push, p.results_addr());
    spray(s, {"a", "b"}, wire::Encode(wire::Ready{"x", 4}).substr(0, 5));
    wire::FetchResult bad;
    bad.endpoint = "klines";
    bad.key = "BTCUSDT:1m:5-1:1000";  // does not parse
    bad.outcome = "ok";
    SendFrames(s, {wire::Encode(bad)});
    bad.key = "BTCUSDT:1m:0-59999999:1000";
    bad.outcome = "maybe";  // no such outcome
    SendFrames(s, {wire::Encode(bad)});
    bad.endpoint = "trades";  // no such endpoint
    SendFrames(s, {wire::Encode(bad)});
    g->wrong_type += 3;
  }
  oversize(zmq::socket_type::push, p.results_addr());
  {
    // Persister control ROUTER.
    zmq::socket_t s = make(zmq::socket_type::dealer, p.control_addr());
    spray(s, {"a", "b"},
          wire::Encode(wire::StatusRequest{1, "klines", "BTCUSDT", "1m"}).substr(0, 7));
    SendFrames(s, {wire::Encode(wire::Ready{"x", 4})});
    SendFrames(s, {wire::Encode(wire::StatusRequest{2, "klines", "BTC/USDT", "1m"})});
    SendFrames(s, {wire::Encode(wire::StatusRequest{3, "klines", "BTCUSDT", "7x"})});
    g->wrong_type += 3;
  }
  oversize(zmq::socket_type::dealer, p.control_addr());
}

}  // namespace

TEST_CASE_METHOD(CrashScenario,
                 "garbage on every endpoint of a running pipeline is dropped and no process exits",
                 "[crash]") {
  Open("garbage", "garbage");
  Simulator& sim = Serve(MakeUniverse(100), {"--latency-ms", "50", "--jitter-ms", "100"});
  Pipeline& p = StartPipeline(2);
  auto planner = p.StartPlanner(u.PlannerFlags());
  zmq::context_t ctx(1);
  GarbageStats g;
  int rounds = 0;
  for (size_t target : {10, 60, 120}) {
    PollUntil([&] { return !planner->running() || OkWindows(sim.Counters()) >= target; }, 60000);
    if (!planner->running()) break;
    SprayGarbage(ctx, p, rng, &g);
    ++rounds;
    INFO(p.Logs());
    REQUIRE(AllRunning(p));
  }
  auto status = planner->Wait(180000);
  INFO(p.Logs());
  REQUIRE(status.has_value());
  REQUIRE(*status == 0);
  CHECK(rounds >= 2);
  CHECK(AllRunning(p));
  const std::string planner_log = AllLogs(scratch.path(), "planner");
  const std::string persister_log = AllLogs(scratch.path(), "persister");
  CHECK(planner_log.find("dropped") != std::string::npos);
  CHECK(persister_log.find("results: dropped") != std::string::npos);
  CHECK(persister_log.find("control: dropped") != std::string::npos);
  REQUIRE(p.StopAll());  // every process still there, and stops cleanly
  CheckReport r = CheckFinal(p.data_root());
  std::printf(
      "crash_test: garbage: rounds=%d messages=%d (random=%d empty=%d multi_frame=%d "
      "truncated=%d wrong_type=%d oversized=%d impostor_ready=%d) planner_drop_lines=%zu "
      "persister_drop_lines=%zu slices=%zu ok=%zu seconds=%.1f\n",
      rounds, g.total(), g.random, g.empty, g.multi_frame, g.truncated, g.wrong_type, g.oversized,
      g.impostor_ready, CountOccurrences(planner_log, "dropped"),
      CountOccurrences(persister_log, "dropped"), r.expected, r.ok, SecondsSince(t0));
}

// ---------------------------------------------------------------------------------------------
// (f) A full disk, then a read-only data root, under a running pipeline. The data root is a
// small tmpfs made by the test (root only; reported as skipped elsewhere); the read-only
// phase is a read-only bind mount of <root>/binance over itself (a tmpfs cannot be remounted
// read-only while the persister holds its lock file open for writing).
namespace {

// A mount made by the test, undone when it goes out of scope, also on failure.
class TestMount {
 public:
  // tmpfs of `size` at `at`.
  static std::unique_ptr<TestMount> Tmpfs(const fs::path& at, const std::string& size,
                                          std::string* error) {
    fs::create_directories(at);
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      *error = "mount -t tmpfs: " + std::string(std::strerror(errno));
      return nullptr;
    }
    return std::unique_ptr<TestMount>(new TestMount(at));
  }
  // `dir` bound over itself, read-only.
  static std::unique_ptr<TestMount> ReadOnlyBind(const fs::path& dir, std::string* error) {
    if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      *error = "mount --bind: " + std::string(std::strerror(errno));
      return nullptr;
    }
    auto m = std::unique_ptr<TestMount>(new TestMount(dir));
    if (::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      *error = "mount -o remount,bind,ro: " + std::string(std::strerror(errno));
      return nullptr;  // m's destructor undoes the bind
    }
    return m;
  }
  ~TestMount() {
    if (::umount2(at_.c_str(), 0) != 0) ::umount2(at_.c_str(), MNT_DETACH);
  }
  TestMount(const TestMount&) = delete;
  TestMount& operator=(const TestMount&) = delete;

 private:
  explicit TestMount(fs::path at) : at_(std::move(at)) {}
  fs::path at_;
};

// Fills the file system of `path` with one file; returns the bytes written.
int64_t FillDisk(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  int64_t total = 0;
  for (size_t chunk : {size_t{1} << 20, size_t{4096}, size_t{1}}) {
    const std::string block(chunk, 'F');
    for (;;) {
      ssize_t n = ::write(fd, block.data(), block.size());
      if (n <= 0) break;
      total += n;
    }
  }
  ::fsync(fd);
  ::close(fd);
  return total;
}

// Every key a live persister reports ok has its response file with the right contents.
void CheckOkKeysOnDisk(const std::string& control, const Universe& u, DataRootChecker* checker,
                       size_t* ok_count) {
  auto ok = PersisterOkKeys(control, u);
  REQUIRE(ok.has_value());
  for (const auto& key : *ok) {
    INFO("the persister says ok: " << key);
    CHECK(checker->CheckFile(key) == "");
  }
  *ok_count = ok->size();
}

}  // namespace

TEST_CASE_METHOD(CrashScenario,
                 "a full disk and a read-only data root are reported and nothing unwritten is ok",
                 "[crash]") {
  const std::string state = GENERATE(as<std::string>{}, "json", "sqlite");
  Open(state == "sqlite" ? "full disk sqlite" : "full disk",
       state == "sqlite" ? "full-disk-sqlite" : "full-disk");
  std::string error;
  auto tmpfs = TestMount::Tmpfs(scratch.path() / "data", "12m", &error);
  if (!tmpfs) {
    QLIR_SKIP("crash_test: full disk test: cannot make a tmpfs data root ("
              << error << "); it needs root or CAP_SYS_ADMIN");
  }
  Simulator& sim = Serve(MakeUniverse(40, {"BTCUSDT"}),
                         {"--latency-ms", "100", "--jitter-ms", "100"});  // 40 x ~150 kB
  {
    Pipeline p(scratch.path(), sim.base_url());
    p.StartPersister({"--state", state});
    p.StartFetchers(1, FetcherFlags({"--concurrency", "2"}));
    auto planner = p.StartPlanner(u.PlannerFlags());
    DataRootChecker checker(p.data_root(), u.Wanted());
    auto persister_log = [&] { return AllLogs(scratch.path(), "persister"); };

    // Phase 1: the disk fills up once a few slices are stored.
    REQUIRE(PollUntil([&] { return checker.CountResponseFiles() >= 5; }, 60000));
    const fs::path filler = p.data_root() / "filler";
    const int64_t filled = FillDisk(filler);
    REQUIRE(filled > 0);
    const std::string kNoSpace = "No space left on device";
    INFO(p.Logs());
    REQUIRE(PollUntil([&] { return CountOccurrences(persister_log(), kNoSpace) >= 3; }, 60000));
    REQUIRE(AllRunning(p));
    REQUIRE(planner->running());
    size_t ok_when_full = 0;
    CheckOkKeysOnDisk(p.control_addr(), u, &checker, &ok_when_full);
    CheckReport full = checker.Run(/*final=*/false);
    INFO(full.Text());
    CHECK(full.problems.empty());
    const std::string log_full = persister_log();
    CHECK(log_full.find("cannot store response, not acknowledged") != std::string::npos);

    // Space comes back: it carries on.
    fs::remove(filler);
    const size_t files_after_space = checker.CountResponseFiles();
    REQUIRE(PollUntil(
        [&] {
          return !planner->running() || checker.CountResponseFiles() >= files_after_space + 5;
        },
        60000));

    // Phase 2: the data root turns read-only.
    size_t erofs_lines = 0, ok_when_ro = 0;
    bool ro_done = false;
    if (planner->running()) {
      auto ro = TestMount::ReadOnlyBind(p.data_root() / "binance", &error);
      if (!ro) {
        std::printf("crash_test: read-only phase skipped: %s\n", error.c_str());
      } else {
        const std::string kReadOnly = "Read-only file system";
        REQUIRE(PollUntil(
            [&] {
              return CountOccurrences(persister_log(), kReadOnly) >= 3 || !planner->running();
            },
            60000));
        REQUIRE(AllRunning(p));
        CheckOkKeysOnDisk(p.control_addr(), u, &checker, &ok_when_ro);
        erofs_lines = CountOccurrences(persister_log(), kReadOnly);
        ro_done = erofs_lines >= 3;
      }  // read-write again
    }
    auto status = planner->Wait(180000);
    REQUIRE(status.has_value());
    REQUIRE(*status == 0);
    REQUIRE(p.StopAll());
    CheckReport r = CheckFinal(checker);
    CHECK(ro_done);
    std::printf(
        "crash_test: full disk (%s): tmpfs=12m filler=%lld bytes enospc_log_lines=%zu "
        "ok_when_full=%zu erofs_log_lines=%zu ok_when_read_only=%zu slices=%zu ok=%zu "
        "seconds=%.1f\n",
        state.c_str(), static_cast<long long>(filled), CountOccurrences(persister_log(), kNoSpace),
        ok_when_full, erofs_lines, ok_when_ro, r.expected, r.ok, SecondsSince(t0));
  }  // every process stopped before the tmpfs goes
}

// ---------------------------------------------------------------------------------------------
// (g) Damage found at start: a corrupt manifest.json, a truncated response file, stray
// temporaries, a directory and a dangling symlink where response files belong, an unknown
// name. The restarted persister says what it found in clear log lines, the run completes, only
// the damaged slices are fetched again, and the data root ends complete.
TEST_CASE_METHOD(CrashScenario, "a restarted persister repairs a damaged data root and says so",
                 "[crash]") {
  Open("damaged data root", "damage");
  Simulator& sim = Serve(MakeUniverse(20));
  Pipeline& p = StartPipeline(1);
  {
    int status = p.RunPlannerOnce(u.PlannerFlags(), 120000);
    INFO(p.Logs());
    REQUIRE(status == 0);
  }
  REQUIRE(p.StopAll());
  DataRootChecker checker(p.data_root(), u.Wanted());
  REQUIRE(checker.Run(/*final=*/true).problems.empty());

  const fs::path btc = *SeriesDir(p.data_root(), "klines", "BTCUSDT", "1m");
  const fs::path eth = *SeriesDir(p.data_root(), "klines", "ETHUSDT", "1m");
  std::vector<klines::KlineSliceKey> eth_keys;
  for (const auto& k : u.Keys()) {
    if (k.symbol == "ETHUSDT") eth_keys.push_back(k);
  }
  REQUIRE(eth_keys.size() >= 5);
  auto response = [&](const klines::KlineSliceKey& k) {
    return eth / "responses" / (k.slice_id() + ".json");
  };
  // BTCUSDT: the manifest cut short.
  {
    auto text = ReadFile(btc / "manifest.json");
    REQUIRE(text.ok());
    std::ofstream(btc / "manifest.json", std::ios::trunc) << text->substr(0, text->size() / 2);
  }
  // ETHUSDT: a response file cut in half, one replaced by a directory, one by a dangling
  // symlink, stray temporaries next to the files and the manifest, and a name nobody knows.
  {
    auto text = ReadFile(response(eth_keys[0]));
    REQUIRE(text.ok());
    std::ofstream(response(eth_keys[0]), std::ios::trunc) << text->substr(0, text->size() / 2);
  }
  fs::remove(response(eth_keys[1]));
  fs::create_directory(response(eth_keys[1]));
  fs::remove(response(eth_keys[2]));
  fs::create_symlink("/nonexistent/qlir-dangling", response(eth_keys[2]));
  std::ofstream(eth / "responses" / (eth_keys[3].slice_id() + ".json.4242.0.tmp")) << "{\"meta\":";
  std::ofstream(eth / "manifest.json.4242.1.tmp") << "{";
  std::ofstream(eth / "responses" / "notes.txt") << "an operator's note";

  sim.ResetCounters();
  p.StartPersister();
  p.StartFetchers(1, FetcherFlags());
  int status = p.RunPlannerOnce(u.PlannerFlags(), 120000);
  INFO(p.Logs());
  REQUIRE(status == 0);
  REQUIRE(p.StopAll());

  const std::string log = AllLogs(scratch.path(), "persister");
  CHECK(log.find("recovery: corrupt manifest moved aside") != std::string::npos);
  CHECK(log.find("response file damaged (" + response(eth_keys[0]).string()) != std::string::npos);
  CHECK(log.find(response(eth_keys[1]).string()) != std::string::npos);
  CHECK(log.find(response(eth_keys[2]).string()) != std::string::npos);
  CHECK(CountOccurrences(log, "recovery: removed leftover temporary") == 2);
  CHECK(log.find("recovery: leaving unknown name alone: " +
                 (eth / "responses" / "notes.txt").string()) != std::string::npos);
  CHECK(fs::exists(eth / "responses" / "notes.txt"));  // never touched
  size_t aside = 0;
  for (const auto& e : fs::directory_iterator(btc)) {
    aside += e.path().filename().string().rfind("manifest.json.corrupt-", 0) == 0;
  }
  CHECK(aside == 1);

  // Only the three damaged ETHUSDT slices were fetched again; BTCUSDT was rebuilt from its
  // response files without asking the exchange.
  std::set<std::string> want = {eth_keys[0].composite_key(), eth_keys[1].composite_key(),
                                eth_keys[2].composite_key()};
  std::set<std::string> asked;
  for (const auto& [key, w] : Windows(sim.Counters())) asked.insert(key);
  CHECK(asked == want);

  // The directory was kept aside under a name that says why; the names the operator owns
  // (the note, what was kept aside) are removed here so that the checker sees only slices.
  size_t unreadable = 0;
  for (const auto& e : fs::directory_iterator(eth / "responses")) {
    const std::string name = e.path().filename().string();
    if (name.rfind(eth_keys[1].slice_id() + ".json.unreadable-", 0) == 0) {
      ++unreadable;
      CHECK(fs::is_directory(e.path()));
      fs::remove_all(e.path());
    }
  }
  CHECK(unreadable == 1);
  CHECK(log.find("is not a regular file (a directory?); moved aside") != std::string::npos);
  fs::remove(eth / "responses" / "notes.txt");
  CheckReport r = CheckFinal(checker);
  std::printf(
      "crash_test: damaged data root: damages=7 (corrupt manifest, truncated response, "
      "directory, dangling symlink, 2 temporaries, unknown name) refetched=%zu "
      "slices=%zu ok=%zu seconds=%.1f\n",
      asked.size(), r.expected, r.ok, SecondsSince(t0));
}

// ---------------------------------------------------------------------------------------------
// (g') A SQLite root whose state.sqlite3 is damaged (garbage over it) or deleted while the
// persister is down, with a response file cut in half beside it: the restarted persister keeps
// the damaged database aside, rebuilds the state from the response files, and only the damaged
// slice is fetched again.
TEST_CASE_METHOD(CrashScenario,
                 "a damaged or deleted state database is rebuilt from the response files",
                 "[crash]") {
  const std::string damage = GENERATE(as<std::string>{}, "garbage", "deleted");
  Open(damage == "garbage" ? "damaged database" : "deleted database",
       damage == "garbage" ? "damaged-db" : "deleted-db");
  Simulator& sim = Serve(MakeUniverse(15));
  Pipeline& p = StartPipeline(1, {}, {"--state", "sqlite"});
  {
    int status = p.RunPlannerOnce(u.PlannerFlags(), 120000);
    INFO(p.Logs());
    REQUIRE(status == 0);
  }
  REQUIRE(p.StopAll());
  DataRootChecker checker(p.data_root(), u.Wanted());
  REQUIRE(checker.Run(/*final=*/true).problems.empty());
  const fs::path db = p.data_root() / kStateDbName;
  REQUIRE(fs::exists(db));

  for (const char* suffix : {"-wal", "-shm"}) fs::remove(db.string() + suffix);
  if (damage == "garbage") {
    std::ofstream(db, std::ios::trunc) << std::string(8192, 'x');
  } else {
    fs::remove(db);
  }
  const klines::KlineSliceKey cut = u.Keys().front();
  const fs::path cut_path = *SeriesDir(p.data_root(), "klines", cut.symbol, cut.interval) /
                            "responses" / (cut.slice_id() + ".json");
  {
    auto text = ReadFile(cut_path);
    REQUIRE(text.ok());
    std::ofstream(cut_path, std::ios::trunc) << text->substr(0, text->size() / 2);
  }

  sim.ResetCounters();
  p.StartPersister();  // --state sqlite, as before
  p.StartFetchers(1, FetcherFlags());
  int status = p.RunPlannerOnce(u.PlannerFlags(), 120000);
  INFO(p.Logs());
  REQUIRE(status == 0);
  REQUIRE(p.StopAll());

  const std::string log = AllLogs(scratch.path(), "persister");
  size_t aside = 0;
  for (const auto& e : fs::directory_iterator(p.data_root())) {
    aside += e.path().filename().string().rfind("state.sqlite3.corrupt-", 0) == 0;
  }
  if (damage == "garbage") {
    CHECK(log.find("state database damaged") != std::string::npos);
    CHECK(aside == 1);
  } else {
    CHECK(aside == 0);
  }
  CHECK(fs::exists(db));
  // Only the cut slice was fetched again: the rest came back from the response files.
  std::set<std::string> asked;
  for (const auto& [key, w] : Windows(sim.Counters())) asked.insert(key);
  CHECK(asked == std::set<std::string>{cut.composite_key()});
  CheckReport r = CheckFinal(checker);
  CHECK(r.ok == r.expected);
  std::printf("crash_test: %s database: refetched=%zu slices=%zu ok=%zu seconds=%.1f\n",
              damage.c_str(), asked.size(), r.expected, r.ok, SecondsSince(t0));
}

// ---------------------------------------------------------------------------------------------
// (b') The same under the real launcher: scripts/start-data-server --once under supervisord;
// the persister's pid (supervisorctl pid) gets SIGKILL at random moments while it writes, and a
// fetcher once; supervisord restarts them; a second persister on the same data root is refused;
// the launcher exits 0 and the data root is complete.
TEST_CASE_METHOD(
    CrashScenario,
    "under supervisord the persister killed with SIGKILL is restarted and the run completes",
    "[crash]") {
  Open("supervised persister kills", "supervised");
  // Long enough that three kill cycles (8 new files, supervisord's startsecs, a restart: about
  // 5 s each) fit well inside the run even on a loaded machine: 200 slices at 300 +- 300 ms
  // over 2 x 1 transfers is about 40 s alone. With 150 slices at 200 ms over 2 x 2 transfers,
  // and then 200 at 300 ms over 2 x 2, the run sometimes ended after two kills under load.
  Simulator& sim =
      Serve(MakeUniverse(200, {"BTCUSDT"}), {"--latency-ms", "300", "--jitter-ms", "300"});
  const int port_base = qlir::testing::FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  const fs::path data = scratch.path() / "data";
  const fs::path ctl_out = scratch.path() / "ctl.out";
  ::setenv("QLIR_BIN_DIR", QLIR_BINARY_DIR, 1);
  const std::string src = QLIR_SOURCE_DIR;
  ChildProcess launcher({"/bin/bash",     src + "/scripts/start-data-server",
                         "--no-build",    "--once",
                         "--symbols",     "BTCUSDT",
                         "--intervals",   "1m",
                         "--start",       std::to_string(u.start),
                         "--end",         std::to_string(u.end),
                         "--base-url",    sim.base_url(),
                         "--data-root",   data.string(),
                         "--fetchers",    "2",
                         "--concurrency", "1",
                         "--run-dir",     run.string(),
                         "--port-base",   std::to_string(port_base)},
                        scratch.path() / "launcher.log");
  DataRootChecker checker(data, u.Wanted());
  auto logs = [&] {
    return qlir::testing::ReadLog(scratch.path() / "launcher.log") +
           qlir::testing::ReadLog(run / "logs" / "planner.log") +
           qlir::testing::ReadLog(run / "logs" / "persister.log");
  };
  // Running: supervisord says RUNNING (past startsecs, so a kill is a crash, not a failed start).
  auto running_pid = [&](const std::string& program) {
    const std::string st = qlir::testing::Supervisorctl(run, {"status", program}, ctl_out);
    if (st.find("RUNNING") == std::string::npos) return 0;
    return qlir::testing::SupervisedPid(run, program, ctl_out);
  };
  constexpr int kWantKills = 3;
  int kills = 0, fetcher_kills = 0;
  bool second_refused = false;
  std::string second_log;
  int last_pid = 0;
  while (kills < kWantKills && launcher.running()) {
    int pid = 0;
    const size_t before = checker.CountResponseFiles();
    PollUntil(
        [&] {
          if (!launcher.running()) return true;
          if (checker.CountResponseFiles() < before + 8) return false;
          pid = running_pid("persister:persister");
          return pid > 0 && pid != last_pid;
        },
        90000);
    if (!launcher.running() || pid <= 0) break;
    if (kills == 0) {
      // A second persister on the same data root is refused, naming the holder.
      ChildProcess second({BinaryPath("persister/persister"), "--data-root", data.string(),
                           "--results-bind", "ipc://" + (scratch.path() / "r2.ipc").string(),
                           "--control-bind", "ipc://" + (scratch.path() / "c2.ipc").string()},
                          scratch.path() / "second-persister.log");
      auto st = second.Wait(30000);
      second_log = qlir::testing::ReadLog(scratch.path() / "second-persister.log");
      second_refused = st.has_value() && *st == kExitCannotStart;  // 69: the lock is held
      // And a fetcher dies too.
      const int f = running_pid("fetcher:fetcher-00");
      if (f > 0 && ::kill(f, SIGKILL) == 0) ++fetcher_kills;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    last_pid = pid;
    ++kills;
  }
  auto st = launcher.Wait(240000);
  INFO(logs());
  REQUIRE(st.has_value());
  REQUIRE(*st == 0);
  CHECK(kills == kWantKills);
  CHECK(fetcher_kills == 1);
  INFO(second_log);
  CHECK(second_refused);
  CHECK(second_log.find(".persister.lock") != std::string::npos);
  // What the launcher left: valid manifests whose ok entries have their files, and a response
  // file for every slice. A persister killed after its last acknowledgement and before its
  // next group commit leaves the manifest behind the files (by design: acknowledged means the
  // file is durable); its next start indexes them. So start one, let it load the series, stop it.
  CheckReport left = checker.Run(/*final=*/false);
  INFO("as the launcher left it: " << left.Text());
  CHECK(left.problems.empty());
  CHECK(left.response_files == left.expected);
  {
    ChildProcess again({BinaryPath("persister/persister"), "--data-root", data.string(),
                        "--results-bind", "ipc://" + (scratch.path() / "r3.ipc").string(),
                        "--control-bind", "ipc://" + (scratch.path() / "c3.ipc").string()},
                       scratch.path() / "final-persister.log");
    CHECK(PersisterOkKeys("ipc://" + (scratch.path() / "c3.ipc").string(), u).has_value());
    again.Signal(SIGTERM);
    CHECK(again.Wait(60000) == 0);
  }
  CheckReport r = CheckFinal(checker);
  auto counters = sim.Counters();
  CHECK(SumOverIps(counters, "418") == 0);
  std::printf(
      "crash_test: supervised: persister_kills=%d fetcher_kills=%d second_persister=%s "
      "slices=%zu ok_in_manifest_as_left=%zu files_as_left=%zu ok=%zu "
      "windows_served_twice=%lld seconds=%.1f\n",
      kills, fetcher_kills, second_refused ? "refused" : "NOT refused", r.expected, left.ok,
      left.response_files, r.ok,
      static_cast<long long>(counters["duplicate_ok_windows"].get<int64_t>()), SecondsSince(t0));
}
