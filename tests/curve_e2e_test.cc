// End to end with CURVE (issue #9): the real planner, persister and fetchers with keys made by
// qlir-keygen. A fetcher whose key is not allowed, a fetcher without CURVE and a forged
// FETCH_RESULT pushed straight at the persister are all refused: the intruders get no job (the
// simulator they would fetch from sees no klines request) and nothing they send reaches the
// data root (every slice holds the exchange's real bytes). An allowed fetcher then completes
// the range.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/atomic_file.h"
#include "common/curve.h"
#include "common/data_root.h"
#include "common/json.h"
#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "common/wire.h"
#include "tests/data_root_check.h"
#include "tests/pipeline_harness.h"
#include "tests/test_util.h"
#include "tools/exchange-sim/candles.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

constexpr int64_t kStart = 1704067200000;  // 2024-01-01T00:00:00Z
constexpr int64_t kListing = 1502942400000;

// Runs qlir-keygen; returns the public key it printed.
std::string KeyGen(const fs::path& dir, const std::string& name) {
  ChildProcess p({BinaryPath("tools/qlir-keygen/qlir-keygen"), "--dir", dir.string(), name},
                 dir.parent_path() / "keygen.log", /*capture_stdout=*/true);
  auto line = p.ReadLine(30000);
  REQUIRE(p.Wait(30000) == 0);
  REQUIRE(line);
  REQUIRE(line->size() > 41);
  return line->substr(line->size() - 40);
}

size_t CountInLog(const fs::path& log, const std::string& text) {
  auto content = ReadFile(log);
  size_t n = 0;
  if (!content.ok()) return 0;
  for (size_t at = content->find(text); at != std::string::npos; at = content->find(text, at + 1)) {
    ++n;
  }
  return n;
}

// Logs are appended across restarts: waits until `text` occurs more than `before` times.
bool WaitForMoreInLog(const fs::path& log, const std::string& text, size_t before, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (CountInLog(log, text) <= before) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

bool WaitForLog(const fs::path& log, const std::string& text, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto content = ReadFile(log);
    if (content.ok() && content->find(text) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

TEST_CASE("CURVE: unknown keys get no jobs and nothing they send reaches the data root",
          "[e2e][curve]") {
  ScratchDir scratch;
  const fs::path keys = scratch.path() / "keys";
  const std::string server_key = KeyGen(keys, "server");
  const std::string good_key = KeyGen(keys / "fetchers", "good");
  const std::string intruder_key = KeyGen(scratch.path() / "intruders", "intruder");
  const std::string forger_key = KeyGen(scratch.path() / "intruders", "forger");
  const std::string server_secret = (keys / "server.key_secret").string();
  const std::string allow = (keys / "fetchers").string();
  const std::string server_public = (keys / "server.key").string();

  sim::SymbolSpec spec;
  spec.symbol = "BTCUSDT";
  spec.listing_ms = kListing;
  const std::string symbol_flag = "BTCUSDT,listing=" + std::to_string(kListing);
  Simulator sim(scratch.path(), {"--symbol", symbol_flag});
  // The intruders fetch from a simulator of their own: any job they got would show there.
  const fs::path rogue_dir = scratch.path() / "rogue";
  fs::create_directories(rogue_dir);
  Simulator rogue_sim(rogue_dir, {"--symbol", symbol_flag});

  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister({"--curve-secret-key", server_secret, "--curve-allow", allow});
  // An unknown key that knows the server's public key, and a fetcher without CURVE.
  p.StartFetchers(1, {"--base-url", rogue_sim.base_url(), "--curve-secret-key",
                      (scratch.path() / "intruders" / "intruder.key_secret").string(),
                      "--curve-server-key", server_public, "--fetcher-id", "intruder"});
  p.StartFetchers(1, {"--base-url", rogue_sim.base_url(), "--fetcher-id", "plain"});

  const int64_t end = kStart + 20LL * 60000000 - 1;  // about 20 slices of 1m
  auto slices = klines::GenerateKlineSlices("BTCUSDT", "1m", kStart, end);
  REQUIRE(slices.ok());
  REQUIRE(slices->size() >= 20);

  // A forged result for the first slice, pushed straight at the results socket with a key the
  // persister does not know. Were it let in, the slice would be stored as ok with no candles
  // and never fetched for real.
  {
    auto forger = curve::LoadSecretKeyFile(scratch.path() / "intruders" / "forger.key_secret");
    REQUIRE(forger.ok());
    wire::FetchResult forged;
    forged.endpoint = "klines";
    forged.key = slices->front().composite_key();
    forged.url = sim.base_url() + "/api/v3/klines";
    forged.http_status = 200;
    forged.requested_at_ms = forged.completed_at_ms = WallClockMs();
    forged.server_time_ms = WallClockMs();
    forged.outcome = "ok";
    forged.body = "[]";
    forged.attempts = 1;
    zmq::context_t ctx;
    zmq::socket_t push(ctx, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 0);
    REQUIRE(curve::MakeClient(push, *forger, server_key).ok());
    push.connect(p.results_addr());
    push.send(zmq::buffer(wire::Encode(wire::Message(forged))), zmq::send_flags::dontwait);
    INFO(p.Logs());
    REQUIRE(WaitForLog(scratch.path() / "persister.log", "refused key " + forger_key, 60000));
  }

  const std::vector<std::string> planner_argv = {BinaryPath("planner/planner"),
                                                 "--once",
                                                 "--base-url",
                                                 sim.base_url(),
                                                 "--jobs-bind",
                                                 p.jobs_addr(),
                                                 "--persister",
                                                 p.control_addr(),
                                                 "--symbols",
                                                 "BTCUSDT",
                                                 "--intervals",
                                                 "1m",
                                                 "--start",
                                                 std::to_string(kStart),
                                                 "--end",
                                                 std::to_string(end),
                                                 "--curve-secret-key",
                                                 server_secret,
                                                 "--curve-allow",
                                                 allow};
  ChildProcess planner(planner_argv, scratch.path() / "planner.log");
  {
    INFO(p.Logs());
    // The intruder is refused by both servers and named in their logs.
    REQUIRE(WaitForLog(scratch.path() / "planner.log", "refused key " + intruder_key, 60000));
    REQUIRE(WaitForLog(scratch.path() / "persister.log", "refused key " + intruder_key, 60000));
    // The planner reached the persister over CURVE with the shared data-server key pair.
    REQUIRE(WaitForLog(scratch.path() / "persister.log", "accepted data-server", 60000));
  }
  CHECK(planner.running());  // nobody it accepts has taken a job yet

  // Now an allowed fetcher: the range completes.
  p.StartFetchers(1, {"--curve-secret-key", (keys / "fetchers" / "good.key_secret").string(),
                      "--curve-server-key", server_public, "--fetcher-id", "good"});
  auto status = planner.Wait(120000);
  INFO(p.Logs());
  INFO(ReadLog(scratch.path() / "planner.log"));
  REQUIRE(status == 0);
  REQUIRE(p.StopAll());

  // The intruders never got a job: their simulator saw no klines request.
  auto rogue_counters = rogue_sim.Counters();
  CHECK(rogue_counters["windows"].empty());
  CHECK(ReadLog(scratch.path() / "persister.log").find("accepted good") != std::string::npos);
  const std::string persister_log = *ReadFile(scratch.path() / "persister.log");
  const std::string planner_log = *ReadFile(scratch.path() / "planner.log");
  CHECK(persister_log.find("accepted intruder") == std::string::npos);
  // The intruder itself was told why (fetcher-0.log is its log).
  CHECK(ReadFile(scratch.path() / "fetcher-0.log")->find("refused our CURVE key " + intruder_key) !=
        std::string::npos);
  CHECK(planner_log.find("accepted intruder") == std::string::npos);

  // Every slice holds the exchange's bytes, the forged one included (tests/data_root_check.h).
  testing::DataRootChecker checker(p.data_root(), {{spec, "1m", kStart, end}});
  const testing::CheckReport checked = checker.Run(/*final=*/false);
  INFO(checked.Text());
  CHECK(checked.problems.empty());
  CHECK(checked.ok == slices->size());
  const Manifest* m = checker.manifest("BTCUSDT", "1m");
  REQUIRE(m != nullptr);
  for (const auto& [key, e] : m->slices) CHECK(e.n_items == 1000);
  auto dir = SeriesDir(p.data_root(), "klines", "BTCUSDT", "1m");
  REQUIRE(dir.ok());
  size_t slice_windows = 0;  // not the planner's first-candle request (no endTime)
  const nlohmann::json sim_counters = sim.Counters();
  for (const auto& [k, w] : sim_counters["windows"].items()) {
    slice_windows += k.find("-:") == std::string::npos;
  }
  CHECK(slice_windows == slices->size());

  // The control socket lets in the data server's key pair only: an allowed fetcher key cannot
  // mark slices pending, the server's pair (qlir-status verify --repair) can.
  const size_t started = CountInLog(scratch.path() / "persister.log", "ready: serving");
  p.StartPersister({"--curve-secret-key", server_secret, "--curve-allow", allow});
  // Damage a file only once this persister has done its start-up recovery, which would
  // otherwise notice the damage itself and leave verify nothing to repair.
  REQUIRE(WaitForMoreInLog(scratch.path() / "persister.log", "ready: serving", started, 60000));
  const auto& damaged = m->slices.begin()->second;
  REQUIRE(WriteFileAtomic(*dir / damaged.relative_path, "{\"meta\":").ok());
  auto repair = [&](const std::string& secret, const std::string& log) {
    ChildProcess tool(
        {BinaryPath("tools/qlir-status/qlir-status"), "verify", "--data-root",
         p.data_root().string(), "--json", "--repair", "--persister", p.control_addr(),
         "--timeout-ms", "3000", "--curve-secret-key", secret, "--curve-server-key", server_public},
        scratch.path() / log, /*capture_stdout=*/true);
    std::string out;
    while (auto l = tool.ReadLine(60000)) out += *l + "\n";
    auto rc = tool.Wait(60000);
    return std::make_pair(rc ? *rc : -1, out);
  };
  auto [fetcher_rc, fetcher_out] =
      repair((keys / "fetchers" / "good.key_secret").string(), "repair-fetcher.log");
  INFO(fetcher_out << ReadLog(scratch.path() / "repair-fetcher.log"));
  CHECK(fetcher_rc == 2);  // "persister not reachable": the handshake was refused
  // Allowed on results, so this refusal is the control socket's.
  CHECK(WaitForLog(scratch.path() / "persister.log", "refused key " + good_key, 10000));
  auto [server_rc, server_out] = repair(server_secret, "repair-server.log");
  INFO(server_out << ReadLog(scratch.path() / "repair-server.log"));
  CHECK(server_rc == 1);  // problems found, and handed to the persister
  auto report = nlohmann::json::parse(server_out);
  CHECK(report["repair"]["marked"] == 1);
  REQUIRE(p.StopAll());
}
