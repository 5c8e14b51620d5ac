// The launcher end to end: scripts/start-data-server --once under a real supervisord, against
// the exchange simulator, then scripts/stop-data-server finding nothing left running.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/manifest.h"
#include "tests/pipeline_harness.h"
#include "tests/process.h"
#include "tests/supervisor_util.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace qlir;
using qlir::testing::ChildProcess;
using qlir::testing::ScratchDir;
using qlir::testing::Simulator;

using qlir::testing::FreePortBase;
using qlir::testing::SupervisedPid;

TEST_CASE("start-data-server --once runs the pipeline under supervisord and stops it", "[launcher]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  const fs::path data = scratch.path() / "data";
  ::setenv("QLIR_BIN_DIR", QLIR_BINARY_DIR, 1);
  const std::string src = QLIR_SOURCE_DIR;
  ChildProcess launcher({"/bin/bash", src + "/scripts/start-data-server", "--no-build", "--once",
                         "--symbols", "BTCUSDT,NOPEUSDT", "--intervals", "1h,1m", "--start",
                         "2024-01-01", "--end", "2024-03-01", "--base-url", sim.base_url(),
                         "--data-root", data.string(), "--fetchers", "2", "--run-dir",
                         run.string(), "--port-base", std::to_string(port_base)},
                        scratch.path() / "launcher.log");
  auto st = launcher.Wait(300000);
  INFO(qlir::testing::ReadLog(scratch.path() / "launcher.log"));
  INFO(qlir::testing::ReadLog(run / "logs" / "planner.log"));
  REQUIRE(st.has_value());
  REQUIRE(*st == 0);
  // The unknown symbol was named and skipped; the known one is complete.
  CHECK(qlir::testing::ReadLog(run / "logs" / "planner.log").find("NOPEUSDT") != std::string::npos);
  for (const char* interval : {"1h", "1m"}) {
    auto dir = SeriesDir(data, "klines", "BTCUSDT", interval);
    auto m = ParseManifest(*ReadFile(*dir / "manifest.json"), "manifest");
    REQUIRE(m.ok());
    CHECK(m->Summary().ok_slices == m->Summary().total_slices);
    CHECK(m->Summary().total_slices > 0);
  }
  CHECK(fs::exists(run / "logs" / "persister.log"));
  CHECK(fs::exists(run / "logs" / "fetcher-00.log"));
  CHECK(fs::exists(run / "logs" / "fetcher-01.log"));
  // scripts/status finds the data root and the processes' counters through the run directory.
  ChildProcess status({"/bin/bash", src + "/scripts/status", "--run-dir", run.string(), "--json"},
                      scratch.path() / "status.json");
  REQUIRE(status.Wait(60000) == 0);
  auto report = nlohmann::json::parse(qlir::testing::ReadLog(scratch.path() / "status.json"));
  CHECK(report["data_root"] == data.string());
  CHECK(report["series"].size() == 2);
  int fetchers = 0;
  for (const auto& p : report["processes"]["processes"]) {
    INFO(p.dump());
    if (p["process"] == "planner") {
      CHECK(p["counters"]["slices_ok"] == p["counters"]["slices_total"]);
      CHECK(p["counters"]["slices_total"] > 0);
    } else if (p["process"] == "persister") {
      CHECK(p["counters"]["recorded_ok"] > 0);
    } else if (p["process"] == "fetcher" && p["source"] != "planner") {
      ++fetchers;
      CHECK(p["counters"]["http_418"] == 0);
    }
  }
  CHECK(fetchers == 2);
  ChildProcess text({"/bin/bash", src + "/scripts/status", "--run-dir", run.string()},
                    scratch.path() / "status.txt");
  REQUIRE(text.Wait(60000) == 0);
  const std::string shown = qlir::testing::ReadLog(scratch.path() / "status.txt");
  CHECK(shown.find("supervisord (" + run.string() + "): not running") != std::string::npos);
  CHECK(shown.find("processes (counters from") != std::string::npos);
  // Everything it started has stopped: stop-data-server finds nothing running.
  ChildProcess stop({"/bin/bash", src + "/scripts/stop-data-server", "--run-dir", run.string()},
                    scratch.path() / "stop.log");
  REQUIRE(stop.Wait(60000) == 0);
  CHECK(qlir::testing::ReadLog(scratch.path() / "stop.log").find("nothing is running") !=
        std::string::npos);
}

TEST_CASE("start-data-server rejects a bad flag with a clear message", "[launcher]") {
  ScratchDir scratch;
  const std::string src = QLIR_SOURCE_DIR;
  ChildProcess bad({"/bin/bash", src + "/scripts/start-data-server", "--no-build", "--fetchers",
                    "zero"},
                   scratch.path() / "bad.log");
  CHECK(bad.Wait(30000) == 64);
  CHECK(qlir::testing::ReadLog(scratch.path() / "bad.log").find("--fetchers") != std::string::npos);
  ChildProcess unknown({"/bin/bash", src + "/scripts/start-data-server", "--no-build", "--bogus"},
                       scratch.path() / "unknown.log");
  CHECK(unknown.Wait(30000) == 64);
  CHECK(qlir::testing::ReadLog(scratch.path() / "unknown.log").find("--bogus") != std::string::npos);
}


TEST_CASE("supervisord restarts a fetcher killed with SIGKILL and stop-data-server stops all",
          "[launcher]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  ::setenv("QLIR_BIN_DIR", QLIR_BINARY_DIR, 1);
  const std::string src = QLIR_SOURCE_DIR;
  ChildProcess launcher({"/bin/bash", src + "/scripts/start-data-server", "--no-build",
                         "--symbols", "BTCUSDT", "--intervals", "1h", "--start", "2024-01-01",
                         "--base-url", sim.base_url(), "--data-root",
                         (scratch.path() / "data").string(), "--fetchers", "1", "--run-dir",
                         run.string(), "--port-base", std::to_string(port_base)},
                        scratch.path() / "launcher.log");
  REQUIRE(launcher.Wait(120000) == 0);  // without --once it returns once supervisord runs
  const fs::path tmp = scratch.path() / "ctl.out";
  int first = 0;
  for (int i = 0; i < 300 && first == 0; ++i) {
    first = SupervisedPid(run, "qlir:fetcher-00", tmp);
    if (first == 0) ::usleep(100000);
  }
  INFO(qlir::testing::ReadLog(run / "logs" / "supervisord.log"));
  REQUIRE(first > 0);
  REQUIRE(::kill(first, SIGKILL) == 0);
  int second = 0;
  for (int i = 0; i < 300; ++i) {
    second = SupervisedPid(run, "qlir:fetcher-00", tmp);
    if (second > 0 && second != first) break;
    ::usleep(100000);
  }
  CHECK(second > 0);
  CHECK(second != first);
  ChildProcess stop({"/bin/bash", src + "/scripts/stop-data-server", "--run-dir", run.string()},
                    scratch.path() / "stop.log");
  REQUIRE(stop.Wait(120000) == 0);
  CHECK(::kill(second, 0) != 0);  // the restarted fetcher is gone too
  CHECK(SupervisedPid(run, "qlir:persister", tmp) == 0);
}

TEST_CASE("start-data-server --curve-keys runs every link with CURVE", "[launcher][curve]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  const fs::path data = scratch.path() / "data";
  const fs::path keys = scratch.path() / "keys";
  ::setenv("QLIR_BIN_DIR", QLIR_BINARY_DIR, 1);
  const std::string src = QLIR_SOURCE_DIR;
  const std::vector<std::string> start = {
      "/bin/bash", src + "/scripts/start-data-server", "--no-build", "--once", "--symbols",
      "BTCUSDT", "--intervals", "1h", "--start", "2024-01-01", "--end", "2024-03-01",
      "--base-url", sim.base_url(), "--data-root", data.string(), "--fetchers", "1",
      "--run-dir", run.string(), "--port-base", std::to_string(port_base), "--curve-keys",
      keys.string()};

  // Missing keys: refused before anything starts, with the commands that make them.
  fs::create_directories(keys);
  ChildProcess missing(start, scratch.path() / "missing.log");
  CHECK(missing.Wait(30000) == 64);
  CHECK(qlir::testing::ReadLog(scratch.path() / "missing.log").find("scripts/qlir-keygen") !=
        std::string::npos);

  ChildProcess server_key({"/bin/bash", src + "/scripts/qlir-keygen", "--dir", keys.string(),
                           "server"},
                          scratch.path() / "keygen.log");
  REQUIRE(server_key.Wait(30000) == 0);
  ChildProcess local_key({"/bin/bash", src + "/scripts/qlir-keygen", "--dir",
                          (keys / "fetchers").string(), "local"},
                         scratch.path() / "keygen.log");
  REQUIRE(local_key.Wait(30000) == 0);

  ChildProcess launcher(start, scratch.path() / "launcher.log");
  auto st = launcher.Wait(300000);
  INFO(qlir::testing::ReadLog(scratch.path() / "launcher.log"));
  INFO(qlir::testing::ReadLog(run / "logs" / "planner.log"));
  INFO(qlir::testing::ReadLog(run / "logs" / "persister.log"));
  REQUIRE(st == 0);
  auto dir = SeriesDir(data, "klines", "BTCUSDT", "1h");
  auto m = ParseManifest(*ReadFile(*dir / "manifest.json"), "manifest");
  REQUIRE(m.ok());
  CHECK(m->Summary().ok_slices == m->Summary().total_slices);
  CHECK(m->Summary().total_slices > 0);
  const std::string persister_log = qlir::testing::ReadLog(run / "logs" / "persister.log");
  CHECK(persister_log.find("CURVE with 1 allowed") != std::string::npos);
  CHECK(persister_log.find("accepted local") != std::string::npos);
  CHECK(persister_log.find("accepted data-server") != std::string::npos);
  CHECK(qlir::testing::ReadLog(run / "logs" / "planner.log").find("accepted local") !=
        std::string::npos);
}
