// Fetchers on other hosts (issue #9), with hosts made of network namespaces (virtual_lan.h):
// the planner and the persister on "server" (10.231.0.1), the exchange simulator on "exchange"
// (10.231.0.2), and 1, 2 then 3 fetcher hosts (10.231.0.11..13), every link over TCP with CURVE;
// then, untimed, one fetcher host beside an intruder host (10.231.0.99) whose fetcher's key is
// not allowed.
// The simulator keeps a weight budget per client IP, so each fetcher host has its own: the
// throughput grows with the hosts. Asserts correctness only (every slice ok and byte-identical,
// each host's IP seen by the exchange, no 418, no window fetched twice, the intruder refused by
// key and address and never seen by the exchange); the throughput is
// printed, one JSON line per run:
//   {"bench":"netns_scaling","hosts":2,"slices":120,"seconds":...,"req_per_s":...,...}
// Where namespaces cannot be made (not root, a container without CAP_SYS_ADMIN) it says why and
// reports itself skipped (tests/skip.h), never passed. QLIR_NETNS_SLICES and QLIR_NETNS_WEIGHT
// change the run's size and the exchange's weight limit per second (klines weigh 2).
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/curve.h"
#include "common/data_root.h"
#include "common/json.h"
#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "tests/data_root_check.h"
#include "tests/process.h"
#include "tests/skip.h"
#include "tests/test_util.h"
#include "tests/virtual_lan.h"
#include "tools/exchange-sim/candles.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

constexpr int64_t kListing = 1502942400000;
constexpr int64_t kStart = 1704067000000;  // 2023-12-31T23:56:40Z, on the 1s slice grid
constexpr int kServer = 1, kExchange = 2, kFirstFetcher = 11, kIntruder = 99;
constexpr int kWindowMs = 1000;

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : def;
}

std::string Logs(const fs::path& dir) {
  std::string out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".log") {
      out += "==== " + e.path().string() + "\n" + ReadLog(e.path()) + "\n";
    }
  }
  return out;
}

// Every slice of the range is ok and holds the simulator's bytes (tests/data_root_check.h).
void CheckDataRoot(const fs::path& root, const sim::SymbolSpec& spec,
                   const std::vector<klines::KlineSliceKey>& slices) {
  REQUIRE(!slices.empty());
  testing::DataRootChecker checker(root,
                                   {{spec, "1s", slices.front().start_ms, slices.back().end_ms}});
  const testing::CheckReport r = checker.Run(/*final=*/false);
  INFO(r.Text());
  CHECK(r.problems.empty());
  CHECK(r.expected == slices.size());
  CHECK(r.ok == slices.size());
}

}  // namespace

TEST_CASE("fetchers on separate hosts each get their own exchange budget", "[netns][e2e]") {
  auto created = VirtualLan::Create();
  if (!created.ok()) {
    QLIR_SKIP("cannot make network namespaces here (" << created.error()
                                                      << "); run as root on a machine that allows "
                                                         "ip netns");
  }
  VirtualLan& lan = **created;
  ScratchDir scratch;
  const int n_slices = EnvInt("QLIR_NETNS_SLICES", 120);
  const int weight_limit = EnvInt("QLIR_NETNS_WEIGHT", 40);

  // Hosts.
  auto server = lan.AddHost("server", kServer);
  REQUIRE(server.ok());
  auto exchange = lan.AddHost("exchange", kExchange);
  REQUIRE(exchange.ok());
  std::vector<std::string> fetcher_hosts;
  for (int k = 0; k < 3; ++k) {
    auto h = lan.AddHost("fetch" + std::to_string(k + 1), kFirstFetcher + k);
    INFO(h.error());
    REQUIRE(h.ok());
    fetcher_hosts.push_back(*h);
  }
  // One more host whose fetcher has a key the data server does not know.
  auto intruder_host = lan.AddHost("intruder", kIntruder);
  REQUIRE(intruder_host.ok());
  const std::string server_ip = VirtualLan::Address(kServer);
  const std::string exchange_ip = VirtualLan::Address(kExchange);

  // Keys: the data server's pair, one per fetcher host in the allow-list.
  const fs::path keys = scratch.path() / "keys";
  auto server_keys = curve::GenerateKeyPair();
  REQUIRE(server_keys.ok());
  REQUIRE(curve::SaveKeyPair(*server_keys, keys, "server").ok());
  for (int k = 0; k < 3; ++k) {
    auto kp = curve::GenerateKeyPair();
    REQUIRE(kp.ok());
    REQUIRE(curve::SaveKeyPair(*kp, keys / "fetchers", "fetch" + std::to_string(k + 1)).ok());
  }
  auto intruder_keys = curve::GenerateKeyPair();
  REQUIRE(intruder_keys.ok());
  REQUIRE(curve::SaveKeyPair(*intruder_keys, scratch.path() / "intruder", "intruder").ok());
  const std::vector<std::string> server_curve = {"--curve-secret-key",
                                                 (keys / "server.key_secret").string(),
                                                 "--curve-allow", (keys / "fetchers").string()};

  // The exchange, with a small per-IP budget per one-second window.
  sim::SymbolSpec spec;
  spec.symbol = "BTCUSDT";
  spec.listing_ms = kListing;
  ChildProcess sim(
      lan.Exec(*exchange, {BinaryPath("tools/exchange-sim/exchange-sim"), "--listen",
                           exchange_ip + ":0", "--window-ms", std::to_string(kWindowMs),
                           "--weight-limit", std::to_string(weight_limit), "--symbol",
                           "BTCUSDT,listing=" + std::to_string(kListing)}),
      scratch.path() / "sim.log", /*capture_stdout=*/true);
  auto line = sim.ReadLine(30000);
  INFO(ReadLog(scratch.path() / "sim.log"));
  REQUIRE(line);
  REQUIRE(line->rfind("listening on ", 0) == 0);
  const int sim_port = std::stoi(line->substr(line->rfind(':') + 1));
  const std::string base_url = "http://" + exchange_ip + ":" + std::to_string(sim_port);

  // Runs 1-3: 1, 2 and 3 fetcher hosts, timed. Run 4, not timed (its refused handshakes cost
  // the servers a little CPU): one fetcher host and the intruder, over a shorter range.
  std::vector<double> rates;
  for (int phase = 1; phase <= 4; ++phase) {
    const bool intruder = phase == 4;
    const int hosts = intruder ? 1 : phase;
    const int phase_slices = intruder ? std::min(n_slices, 20) : n_slices;
    INFO("run " << phase << ": " << hosts << " fetcher host(s)"
                << (intruder ? " and the intruder" : ""));
    const int64_t end = kStart + static_cast<int64_t>(phase_slices) * 1000000 - 1;
    auto slices = klines::GenerateKlineSlices("BTCUSDT", "1s", kStart, end);
    REQUIRE(slices.ok());
    REQUIRE(static_cast<int>(slices->size()) == phase_slices);  // kStart is on the 1s grid
    const fs::path run = scratch.path() / ("run-" + std::to_string(phase));
    const fs::path data_root = run / "data";
    fs::create_directories(data_root);
    REQUIRE(lan.HttpPost(*exchange, exchange_ip, sim_port, "/sim/reset", "{}").ok());

    auto persister = std::make_unique<ChildProcess>(
        lan.Exec(*server,
                 [&] {
                   std::vector<std::string> a = {BinaryPath("persister/persister"),
                                                 "--data-root",
                                                 data_root.string(),
                                                 "--results-bind",
                                                 "tcp://" + server_ip + ":5702",
                                                 "--control-bind",
                                                 "tcp://127.0.0.1:5703"};
                   a.insert(a.end(), server_curve.begin(), server_curve.end());
                   return a;
                 }()),
        run / "persister.log");
    std::vector<std::unique_ptr<ChildProcess>> fetchers;
    for (int k = 0; k < hosts; ++k) {
      const std::string name = "fetch" + std::to_string(k + 1);
      fetchers.push_back(std::make_unique<ChildProcess>(
          lan.Exec(fetcher_hosts[k], {BinaryPath("fetcher/fetcher"),
                                      "--planner",
                                      "tcp://" + server_ip + ":5701",
                                      "--persister",
                                      "tcp://" + server_ip + ":5702",
                                      "--base-url",
                                      base_url,
                                      "--weight-limit",
                                      std::to_string(weight_limit),
                                      "--weight-window-ms",
                                      std::to_string(kWindowMs),
                                      "--window-grace-ms",
                                      "100",
                                      "--concurrency",
                                      "4",
                                      "--rate-state",
                                      (run / (name + ".rate")).string(),
                                      "--fetcher-id",
                                      name,
                                      "--curve-secret-key",
                                      (keys / "fetchers" / (name + ".key_secret")).string(),
                                      "--curve-server-key",
                                      (keys / "server.key").string()}),
          run / (name + ".log")));
    }
    // The intruder host runs a fetcher too: it must get nothing to do.
    if (intruder) {
      fetchers.push_back(std::make_unique<ChildProcess>(
          lan.Exec(*intruder_host,
                   {BinaryPath("fetcher/fetcher"), "--planner", "tcp://" + server_ip + ":5701",
                    "--persister", "tcp://" + server_ip + ":5702", "--base-url", base_url,
                    "--weight-limit", std::to_string(weight_limit), "--weight-window-ms",
                    std::to_string(kWindowMs), "--rate-state", (run / "intruder.rate").string(),
                    "--fetcher-id", "intruder", "--curve-secret-key",
                    (scratch.path() / "intruder" / "intruder.key_secret").string(),
                    "--curve-server-key", (keys / "server.key").string()}),
          run / "intruder.log"));
    }
    std::vector<std::string> planner_argv = {BinaryPath("planner/planner"),
                                             "--once",
                                             "--base-url",
                                             base_url,
                                             "--jobs-bind",
                                             "tcp://" + server_ip + ":5701",
                                             "--persister",
                                             "tcp://127.0.0.1:5703",
                                             "--symbols",
                                             "BTCUSDT",
                                             "--intervals",
                                             "1s",
                                             "--start",
                                             std::to_string(kStart),
                                             "--end",
                                             std::to_string(end)};
    planner_argv.insert(planner_argv.end(), server_curve.begin(), server_curve.end());
    const auto t0 = std::chrono::steady_clock::now();
    ChildProcess planner(lan.Exec(*server, planner_argv), run / "planner.log");
    auto status = planner.Wait(180000);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(Logs(run));
    REQUIRE(status == 0);

    bool stopped = true;
    for (auto& f : fetchers) f->Signal(SIGTERM);
    for (auto& f : fetchers) stopped = stopped && f->Wait(30000) == 0;
    persister->Signal(SIGTERM);
    stopped = stopped && persister->Wait(60000) == 0;  // flushes the manifest
    CHECK(stopped);

    CheckDataRoot(data_root, spec, *slices);
    auto text = lan.HttpGet(*exchange, exchange_ip, sim_port, "/sim/counters");
    REQUIRE(text.ok());
    auto counters = nlohmann::json::parse(*text);
    size_t slice_windows = 0;  // not the planner's first-candle request (no endTime)
    for (const auto& [k, w] : counters["windows"].items()) {
      slice_windows += k.find("-:") == std::string::npos;
    }
    CHECK(slice_windows == slices->size());
    CHECK(counters["duplicate_ok_windows"] == 0);
    nlohmann::json per_host = nlohmann::json::object();
    uint64_t limited = 0;
    for (int k = 0; k < hosts; ++k) {
      const std::string ip = VirtualLan::Address(kFirstFetcher + k);
      INFO(ip);
      REQUIRE(counters["ips"].contains(ip));  // each host fetched, from its own address
      CHECK(counters["ips"][ip]["requests"].get<uint64_t>() > 0);
      per_host[ip] = counters["ips"][ip]["requests"];
    }
    if (intruder) {
      // Refused by both servers, by key and address; it never reached the exchange.
      const std::string refused =
          "refused key " + intruder_keys->public_key + " from " + VirtualLan::Address(kIntruder);
      CHECK(ReadFile(run / "planner.log")->find(refused) != std::string::npos);
      CHECK(ReadFile(run / "persister.log")->find(refused) != std::string::npos);
      CHECK_FALSE(counters["ips"].contains(VirtualLan::Address(kIntruder)));
    }
    for (const auto& [ip, c] : counters["ips"].items()) {
      INFO(ip);
      CHECK(c["418"] == 0);
      limited += c["429"].get<uint64_t>();
    }
    if (intruder) break;
    const double rate = static_cast<double>(slices->size()) / seconds;
    rates.push_back(rate);
    nlohmann::json figure = {{"bench", "netns_scaling"},
                             {"hosts", hosts},
                             {"slices", slices->size()},
                             {"seconds", std::round(seconds * 1000) / 1000},
                             {"req_per_s", std::round(rate * 10) / 10},
                             {"budget_req_per_s_per_host", weight_limit / 2.0 * 1000 / kWindowMs},
                             {"requests_per_host", per_host},
                             {"http_429", limited},
                             {"curve", true}};
    std::printf("%s\n", figure.dump().c_str());
    std::fflush(stdout);
  }
  // Printed, not asserted (timing depends on the machine): how much 2 and 3 hosts gained.
  std::printf("{\"bench\":\"netns_scaling_ratio\",\"x2\":%.2f,\"x3\":%.2f}\n", rates[1] / rates[0],
              rates[2] / rates[0]);
}
