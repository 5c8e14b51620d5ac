// The launcher end to end (issue 16): scripts/start-data-server, stop-data-server and
// start-fetchers under a real supervisord with the real processes, against the exchange
// simulator, on loopback only. Each case reproduces one way a launcher could mislead its user
// and checks the clear message and the exit code of common/exit_codes.h, and that nothing of the
// run dir is left running after any end. No timed assertions: every wait has a generous bound
// against hangs only.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/exit_codes.h"
#include "common/json.h"
#include "common/manifest.h"
#include "tests/pipeline_harness.h"
#include "tests/process.h"
#include "tests/skip.h"
#include "tests/supervisor_util.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::testing;

namespace {

const std::string kSrc = QLIR_SOURCE_DIR;

// start-data-server's arguments for a run against `sim` with its data root, run dir and ports,
// then `more` (what to fetch, --once, --fetchers ...).
std::vector<std::string> LaunchArgs(const Simulator& sim, const fs::path& data, const fs::path& run,
                                    int port_base, const std::vector<std::string>& more) {
  std::vector<std::string> a = {
      "--base-url", sim.base_url(), "--data-root", data.string(),
      "--run-dir",  run.string(),   "--port-base", std::to_string(port_base)};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

// The small range most cases fetch: two months of BTCUSDT 1h (two slices).
const std::vector<std::string> kTwoMonths = {
    "--symbols", "BTCUSDT", "--intervals", "1h", "--start", "2024-01-01", "--end", "2024-03-01"};

std::vector<std::string> Script(const std::string& name, std::vector<std::string> args) {
  ::setenv("QLIR_BIN_DIR", QLIR_BINARY_DIR, 1);
  std::vector<std::string> argv = {"/bin/bash", kSrc + "/scripts/" + name};
  if (name == "start-data-server" || name == "start-fetchers") argv.push_back("--no-build");
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Runs a script to its end (bounded) and returns its exit status; its stderr goes to `log`.
int RunScript(const std::string& name, std::vector<std::string> args, const fs::path& log,
              int timeout_ms = 240000) {
  ChildProcess p(Script(name, std::move(args)), log);
  auto st = p.Wait(timeout_ms);
  return st ? *st : -1;
}

// A whole file ("" when it cannot be read): ReadLog keeps only the last 6000 bytes.
std::string Whole(const fs::path& p) {
  auto text = ReadFile(p);
  return text.ok() ? *text : "";
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// Listening TCP sockets from /proc/net/tcp: "ADDR:PORT" in hex as the kernel writes them.
bool Listening(const std::string& hex_addr, int port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  char want[32];
  std::snprintf(want, sizeof want, "%s:%04X", hex_addr.c_str(), port);
  while (std::getline(in, line)) {
    if (line.find(want) != std::string::npos && line.find(" 0A ") != std::string::npos) {
      return true;
    }
  }
  return false;
}

int ResponseFiles(const fs::path& data) {
  int n = 0;
  std::error_code ec;
  if (!fs::exists(data)) return 0;
  for (auto it = fs::recursive_directory_iterator(data, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename() != "manifest.json" &&
        it->path().filename().string()[0] != '.') {
      ++n;
    }
  }
  return n;
}

}  // namespace

TEST_CASE(
    "start-data-server --once shows the plan, progress and summary, names unknown "
    "symbols, exits 2 and stops the persister last",
    "[launcher]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  const fs::path data = scratch.path() / "data";
  RunDirCleanup cleanup(run);
  const std::vector<std::string> args =
      LaunchArgs(sim, data, run, port_base,
                 {"--once", "--symbols", "BTCUSDT,NOPEUSDT", "--intervals", "1h,1m", "--start",
                  "2024-01-01", "--end", "2024-03-01", "--fetchers", "2"});
  const int st = RunScript("start-data-server", args, scratch.path() / "launcher.log");
  // Read at once after the return: every process has exited, the final flush is on disk.
  const std::vector<int> left = RunDirPids(run);
  const std::string out = ReadLog(scratch.path() / "launcher.log");
  INFO(out);
  INFO(ReadLog(run / "logs" / "planner.log"));
  CHECK(left.empty());
  REQUIRE(st == kExitDoneWithFailures);  // the unknown symbol was skipped
  for (const char* interval : {"1h", "1m"}) {
    auto dir = SeriesDir(data, "klines", "BTCUSDT", interval);
    auto m = ParseManifest(*ReadFile(*dir / "manifest.json"), "manifest");
    REQUIRE(m.ok());
    CHECK(m->Summary().ok_slices == m->Summary().total_slices);
    CHECK(m->Summary().total_slices > 0);
  }
  // What the user saw, without a terminal: the error, the plan, progress, the summary.
  CHECK(out.find("ERROR planner: unknown symbol NOPEUSDT") != std::string::npos);
  CHECK(out.find("skipped 1 unknown symbol(s): NOPEUSDT") != std::string::npos);
  CHECK(out.find("plan: 2 series, 89 slices in range, 89 to fetch: 89 requests") !=
        std::string::npos);
  CHECK(out.find("summary BTCUSDT/1m slices=87 ok=87 partial=0 failed=0 missing=0") !=
        std::string::npos);
  CHECK(out.find("summary jobs handed=") != std::string::npos);
  CHECK(out.find("progress all ") != std::string::npos);
  CHECK(out.find("complete, with failures for good (exit 2)") != std::string::npos);
  // supervisord stopped the fetchers, then the persister (its own group, last).
  const std::string sd = ReadLog(run / "logs" / "supervisord.log");
  INFO(sd);
  const size_t persister_stopped = sd.find("stopped: persister");
  REQUIRE(persister_stopped != std::string::npos);
  for (const char* f : {"stopped: fetcher-00", "stopped: fetcher-01"}) {
    CHECK(sd.find(f) != std::string::npos);
    CHECK(sd.find(f) < persister_stopped);
  }
  const std::string conf = ReadLog(run / "supervisord.conf");
  CHECK(Count(conf, "exitcodes=0,2,3,64,69") == 3);
  CHECK(Count(conf, "autorestart=unexpected") == 3);

  // scripts/status finds the data root and the processes' counters through the run directory.
  ChildProcess status(Script("status", {"--run-dir", run.string(), "--json"}),
                      scratch.path() / "status.json");
  REQUIRE(status.Wait(60000) == 0);
  auto report = nlohmann::json::parse(ReadLog(scratch.path() / "status.json"));
  CHECK(report["data_root"] == data.string());
  CHECK(report["series"].size() == 2);
  int fetchers = 0;
  for (const auto& p : report["processes"]["processes"]) {
    INFO(p.dump());
    if (p["process"] == "planner") {
      CHECK(p["counters"]["slices_ok"] == p["counters"]["slices_total"]);
    } else if (p["process"] == "fetcher" && p["source"] != "planner") {
      ++fetchers;
      CHECK(p["counters"]["http_418"] == 0);
    }
  }
  CHECK(fetchers == 2);

  // Back to back on the same run dir: this run's start is not the previous run's tail, and the
  // plan counts what is stored (nothing to fetch).
  const int st2 = RunScript("start-data-server", args, scratch.path() / "launcher2.log");
  const std::string out2 = ReadLog(scratch.path() / "launcher2.log");
  INFO(out2);
  CHECK(st2 == kExitDoneWithFailures);
  CHECK(RunDirPids(run).empty());
  CHECK(out2.find("plan: 2 series, 89 slices in range, 0 to fetch") != std::string::npos);
  CHECK(Count(out2, "summary BTCUSDT/1m ") == 1);  // the old log is not replayed
  CHECK(Count(out2, "plan: 2 series") == 1);
  CHECK(ReadLog(run / "logs" / "supervisord.log").find("Another program is already listening") ==
        std::string::npos);

  // Nothing left: stop-data-server finds nothing running.
  CHECK(RunScript("stop-data-server", {"--run-dir", run.string()}, scratch.path() / "stop.log") ==
        0);
  CHECK(ReadLog(scratch.path() / "stop.log").find("nothing is running") != std::string::npos);
}

TEST_CASE("start-data-server refuses bad flags before starting anything", "[launcher]") {
  ScratchDir scratch;
  const fs::path run = scratch.path() / "run";
  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Bad> cases = {
      {{"--fetchers", "zero"}, "--fetchers"},
      {{"--bogus"}, "--bogus"},
      {{"--max-weight-per-minute", "banana"}, "--max-weight-per-minute"},
      {{"--confirm-holes-after-ms", "soon"}, "--confirm-holes-after-ms"},
      {{"--state", "postgres"}, "--state must be auto, json or sqlite, got 'postgres'"},
      {{"--port-base", "70000"}, "--port-base"},
      {{"--symbols"}, "--symbols needs a value"},
      // Endpoint names come from the planner's registry (it names them all when refusing one).
      {{"--endpoints", "klines,trades"},
       "--endpoints: unknown endpoint 'trades' (known: klines, fundingRate"},
      {{"--endpoints", "klines,,fundingRate"}, "an empty endpoint name"},
      {{"--endpoints", "fundingRate,fundingRate"}, "fundingRate is given twice"},
      {{"--endpoint", "klines,fundingRate"}, "give several with --endpoints klines,fundingRate"},
      {{"--endpoint", "klines", "--endpoints", "fundingRate"}, "already given by --endpoint"},
      {{"--symbols-for", "fundingRate=BTCUSDT"},
       "fundingRate is not among the endpoints to run (klines; see --endpoints)"},
      {{"--endpoints", "klines,fundingRate", "--symbols-for", "fundingRate"},
       "--symbols-for 'fundingRate': expected ENDPOINT=LIST"},
      {{"--endpoints", "klines,fundingRate", "--symbols-for", "funding=BTCUSDT"},
       "unknown endpoint 'funding' (known: klines, fundingRate"},
      {{"--endpoints", "klines,fundingRate", "--symbols-for", "fundingRate=BTCUSDT,"},
       "an empty item in fundingRate's list"},
      {{"--endpoints", "klines,fundingRate", "--intervals-for", "klines="},
       "nothing given for klines"},
      {{"--endpoints", "klines,fundingRate", "--intervals-for", "klines=1m", "--intervals-for",
        "klines=1h"},
       "--intervals-for: klines is given twice"},
      {{"--base-url-for", "klines=ftp://mirror"}, "expected http:// or https:// and a host"},
      {{"--start-for", "klines"}, "--start-for 'klines': expected ENDPOINT=LIST"},
      {{"--endpoints", "klines,fundingRate", "--port-base", "65533"},
       "leaves no room for 2 endpoints' jobs ports"},
  };
  for (const Bad& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.begin(), {"--run-dir", run.string()});
    const int st = RunScript("start-data-server", args, scratch.path() / "bad.log", 30000);
    const std::string out = ReadLog(scratch.path() / "bad.log");
    INFO(c.args[0] << ": " << out);
    CHECK(st == kExitUsage);
    CHECK(out.find(c.says) != std::string::npos);
    CHECK(!fs::exists(run / "supervisord.conf"));
  }
}

TEST_CASE("planner usage errors reach the terminal as ERROR lines with exit 64", "[launcher]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  RunDirCleanup cleanup(run);
  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Bad> cases = {
      {{"--intervals", "7m"},
       "ERROR planner: bad usage: flag --intervals: unsupported interval '7m'"},
      {{"--symbols", "btcusdt"},
       "ERROR planner: bad usage: --symbols: no known symbol left (unknown: btcusdt); symbols are "
       "upper case"},
      {{"--end", "banana"}, "ERROR planner: bad usage: flag --end"},
      {{"--start", "2099-06-01"},
       "ERROR planner: bad usage: --start 2099-06-01T00:00:00Z is after"},
      // One planner of two refuses its flags: the run ends with its 64 and says why.
      {{"--endpoints", "klines,fundingRate", "--intervals", "1m", "--start", "2024-01-01", "--end",
        "2024-01-02"},
       "ERROR planner[fundingRate]: bad usage: flag --intervals: unsupported interval '1m'"},
  };
  for (const Bad& c : cases) {
    std::vector<std::string> args = {"--once",
                                     "--base-url",
                                     sim.base_url(),
                                     "--data-root",
                                     (scratch.path() / "data").string(),
                                     "--fetchers",
                                     "1",
                                     "--run-dir",
                                     run.string(),
                                     "--port-base",
                                     std::to_string(port_base)};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const int st = RunScript("start-data-server", args, scratch.path() / "launcher.log");
    const std::string out = ReadLog(scratch.path() / "launcher.log");
    INFO(c.args[0] << " " << c.args[1] << ": " << out);
    CHECK(st == kExitUsage);
    CHECK(out.find(c.says) != std::string::npos);
    CHECK(out.find("bad usage (exit 64)") != std::string::npos);
    if (c.args[0] == "--endpoints") {
      CHECK(out.find("--intervals 1m applies to every endpoint, and fundingRate refuses it") !=
            std::string::npos);
    }
    CHECK(RunDirPids(run).empty());
  }
}

TEST_CASE("a stage that cannot start ends a --once run with its error, never a hang",
          "[launcher]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const fs::path run = scratch.path() / "run";
  const fs::path data = scratch.path() / "data";
  RunDirCleanup cleanup(run);
  auto args = [&](int port_base, std::vector<std::string> more) {
    std::vector<std::string> a = LaunchArgs(sim, data, run, port_base, kTwoMonths);
    a.insert(a.end(), {"--once", "--fetchers", "1"});
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };

  SECTION("the results port P+1 is already in use") {
    const int port_base = FreePortBase();
    REQUIRE(port_base > 0);
    qlir::testing::PortHolder busy(port_base + 1);
    REQUIRE(busy.ok());
    const int st = RunScript("start-data-server", args(port_base, {}), scratch.path() / "l.log");
    const std::string out = ReadLog(scratch.path() / "l.log");
    INFO(out);
    CHECK(st == kExitCannotStart);
    CHECK(out.find("start-data-server: the persister cannot run: ERROR persister") !=
          std::string::npos);
    CHECK(out.find("cannot bind results socket to tcp://127.0.0.1:" +
                   std::to_string(port_base + 1)) != std::string::npos);
    CHECK(out.find("cannot start (exit 69)") != std::string::npos);
    CHECK(RunDirPids(run).empty());
  }

  SECTION("another persister holds the data root's lock") {
    fs::create_directories(data);
    ChildProcess holder(
        {qlir::testing::BinaryPath("persister/persister"), "--data-root", data.string(),
         "--results-bind", "ipc://" + (scratch.path() / "r.ipc").string(), "--control-bind",
         "ipc://" + (scratch.path() / "c.ipc").string()},
        scratch.path() / "holder.log");
    REQUIRE(PollFor(
        [&] { return ReadLog(scratch.path() / "holder.log").find("ready") != std::string::npos; },
        60000));
    const int port_base = FreePortBase();
    REQUIRE(port_base > 0);
    const int st = RunScript("start-data-server", args(port_base, {}), scratch.path() / "l.log");
    const std::string out = ReadLog(scratch.path() / "l.log");
    INFO(out);
    CHECK(st == kExitCannotStart);
    CHECK(out.find("start-data-server: the persister cannot run: ERROR persister") !=
          std::string::npos);
    CHECK(out.find(".persister.lock") != std::string::npos);
    CHECK(RunDirPids(run).empty());
    holder.Signal(SIGTERM);
    CHECK(holder.Wait(60000) == 0);
  }

  SECTION("a fetcher flag passed through -- that the fetcher refuses") {
    const int port_base = FreePortBase();
    REQUIRE(port_base > 0);
    const int st =
        RunScript("start-data-server", args(port_base, {"--", "--no-such-fetcher-flag", "1"}),
                  scratch.path() / "l.log");
    const std::string out = ReadLog(scratch.path() / "l.log");
    INFO(out);
    INFO(ReadLog(run / "logs" / "fetcher-00.log"));
    // The fetcher got the flag (its own refusal names it) and supervisord gave up on it.
    CHECK(out.find("start-data-server: the fetcher-00 cannot run: fetcher: unknown flag "
                   "--no-such-fetcher-flag") != std::string::npos);
    CHECK((st == kExitCannotStart || st == kExitUsage));
    CHECK(RunDirPids(run).empty());
  }
}

TEST_CASE("a --state naming the state the data root does not keep is refused with exit 69",
          "[launcher]") {
  ScratchDir scratch;
  const fs::path root = scratch.path() / "data";
  const fs::path run = scratch.path() / "run";
  RunDirCleanup cleanup(run);
  // A SQLite root asked to run as json, and a root of manifests asked to run as sqlite.
  fs::create_directories(root);
  std::ofstream(root / "state.sqlite3") << "";
  struct Case {
    std::string state;
    std::string says;
  };
  for (const Case& c :
       {Case{"json", "run 'qlir-status migrate --to json' first, or start with --state sqlite"},
        Case{"sqlite",
             "run 'qlir-status migrate --to sqlite' first, or start with --state json"}}) {
    if (c.state == "sqlite") {
      fs::remove(root / "state.sqlite3");
      fs::create_directories(root / "binance/klines/raw/BTCUSDT/1m");
      std::ofstream(root / "binance/klines/raw/BTCUSDT/1m/manifest.json") << "{}";
    }
    const int st = RunScript("start-data-server",
                             {"--once", "--base-url", "http://127.0.0.1:9", "--data-root",
                              root.string(), "--run-dir", run.string(), "--state", c.state},
                             scratch.path() / "l.log", 60000);
    const std::string out = ReadLog(scratch.path() / "l.log");
    INFO(out);
    CHECK(st == kExitCannotStart);
    CHECK(out.find("cannot start: --state " + c.state) != std::string::npos);
    CHECK(out.find(c.says) != std::string::npos);
    CHECK(!fs::exists(run / "supervisord.pid"));
  }
}

TEST_CASE("a read-only data root is refused at once with exit 69", "[launcher]") {
  std::string skipped;
  {
    ScratchDir scratch;
    const fs::path real = scratch.path() / "real";
    fs::create_directories(real);
    const fs::path ro = scratch.path() / "ro";
    qlir::testing::ReadOnlyBindMount mount(real, ro);
    if (!mount.ok()) {
      skipped = "cannot make a read-only bind mount here (needs root and mount rights)";
    } else {
      const fs::path run = scratch.path() / "run";
      RunDirCleanup cleanup(run);
      const int st = RunScript("start-data-server",
                               {"--once", "--base-url", "http://127.0.0.1:9", "--data-root",
                                ro.string(), "--run-dir", run.string()},
                               scratch.path() / "l.log", 60000);
      const std::string out = ReadLog(scratch.path() / "l.log");
      INFO(out);
      CHECK(st == kExitCannotStart);
      CHECK(out.find("cannot start: the data root " + ro.string() +
                     " is not writable (Read-only file system)") != std::string::npos);
      CHECK(!fs::exists(run / "supervisord.pid"));
      CHECK(RunDirPids(run).empty());
    }
  }
  if (!skipped.empty()) QLIR_SKIP(skipped);
}

TEST_CASE(
    "a run dir belongs to one pipeline, orphans of a killed supervisord are found and "
    "stopped, the control port stays on loopback",
    "[launcher]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const fs::path run = scratch.path() / "run";
  RunDirCleanup cleanup(run);
  auto args = [&](int port_base, const std::string& data, const fs::path& run_dir) {
    return std::vector<std::string>{"--symbols",   "BTCUSDT",
                                    "--intervals", "1h",
                                    "--start",     "2024-01-01",
                                    "--base-url",  sim.base_url(),
                                    "--data-root", (scratch.path() / data).string(),
                                    "--fetchers",  "1",
                                    "--bind-host", "0.0.0.0",
                                    "--run-dir",   run_dir.string(),
                                    "--port-base", std::to_string(port_base)};
  };
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  REQUIRE(RunScript("start-data-server", args(port_base, "a", run), scratch.path() / "a.log") == 0);
  // Jobs and results on every interface, control on loopback only.
  REQUIRE(PollFor([&] { return Listening("0100007F", port_base + 2); }, 60000));
  CHECK(Listening("00000000", port_base + 1));
  CHECK(PollFor([&] { return Listening("00000000", port_base); }, 60000));
  CHECK(!Listening("00000000", port_base + 2));

  // A second pipeline on the same run dir is refused, naming the holder.
  const int other_base = FreePortBase();
  const int st =
      RunScript("start-data-server", args(other_base, "b", run), scratch.path() / "b.log");
  std::string out = ReadLog(scratch.path() / "b.log");
  INFO(out);
  CHECK(st == kExitCannotStart);
  CHECK(out.find("the run dir " + run.string() +
                 " is in use by another pipeline (supervisord pid") != std::string::npos);
  CHECK(out.find("data root " + (scratch.path() / "a").string()) != std::string::npos);
  CHECK(!fs::exists(scratch.path() / "b" / "binance"));

  // supervisord killed: its programs stay behind.
  std::ifstream pidfile(run / "supervisord.pid");
  int sd = 0;
  REQUIRE(pidfile >> sd);
  REQUIRE(::kill(sd, SIGKILL) == 0);
  REQUIRE(PollFor([&] { return !qlir::testing::Alive(sd); }, 30000));
  const std::vector<int> orphans = RunDirPids(run);
  REQUIRE(orphans.size() >= 3);  // persister, planner (and its record-exit), fetcher
  // The next launch refuses to start over them, and says what to do.
  CHECK(RunScript("start-data-server", args(other_base, "b", run), scratch.path() / "c.log") ==
        kExitCannotStart);
  out = ReadLog(scratch.path() / "c.log");
  CHECK(out.find("processes of an earlier pipeline still run from " + run.string()) !=
        std::string::npos);
  CHECK(out.find("persister pid") != std::string::npos);
  CHECK(out.find("scripts/stop-data-server --run-dir " + run.string()) != std::string::npos);
  // scripts/status lists them.
  ChildProcess status(Script("status", {"--run-dir", run.string()}), scratch.path() / "status.txt");
  status.Wait(60000);
  CHECK(ReadLog(scratch.path() / "status.txt").find("left behind") != std::string::npos);
  // stop-data-server finds and stops them, and returns only when they are gone.
  CHECK(RunScript("stop-data-server", {"--run-dir", run.string()}, scratch.path() / "stop.log") ==
        0);
  out = ReadLog(scratch.path() / "stop.log");
  INFO(out);
  CHECK(out.find("left behind by supervisord") != std::string::npos);
  CHECK(RunDirPids(run).empty());
  for (int pid : orphans) CHECK(!qlir::testing::Alive(pid));
  CHECK(!Listening("00000000", port_base));
  CHECK(!Listening("0100007F", port_base + 2));

  // Two launches started together on one fresh run dir: exactly one runs.
  const fs::path run2 = scratch.path() / "run2";
  RunDirCleanup cleanup2(run2);
  const int base_a = FreePortBase();
  ChildProcess a(Script("start-data-server", args(base_a, "c", run2)), scratch.path() / "ta.log");
  const int base_b = base_a + 10;
  ChildProcess b(Script("start-data-server", args(base_b, "d", run2)), scratch.path() / "tb.log");
  auto sa = a.Wait(120000), sb = b.Wait(120000);
  INFO(ReadLog(scratch.path() / "ta.log") << ReadLog(scratch.path() / "tb.log"));
  REQUIRE((sa && sb));
  CHECK(((*sa == 0 && *sb == kExitCannotStart) || (*sa == kExitCannotStart && *sb == 0)));
  CHECK(RunScript("stop-data-server", {"--run-dir", run2.string()}, scratch.path() / "stop2.log") ==
        0);
  CHECK(RunDirPids(run2).empty());
}

TEST_CASE(
    "SIGHUP of a --once launcher and stop-data-server stop the run: exit 3, persister "
    "last, nothing left",
    "[launcher]") {
  ScratchDir scratch;
  // Slow answers, so that the run is still going when it is stopped.
  Simulator sim(scratch.path(),
                {"--symbol", "BTCUSDT,listing=1502942400000", "--latency-ms", "300"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  const fs::path data = scratch.path() / "data";
  RunDirCleanup cleanup(run);
  const std::vector<std::string> args =
      LaunchArgs(sim, data, run, port_base,
                 {"--once", "--symbols", "BTCUSDT", "--intervals", "1m", "--start", "2020-01-01",
                  "--end", "2024-01-01", "--fetchers", "1", "--concurrency", "2"});

  {
    ChildProcess launcher(Script("start-data-server", args), scratch.path() / "hup.log");
    REQUIRE(PollFor([&] { return ResponseFiles(data) >= 2; }, 120000));
    launcher.Signal(SIGHUP);
    auto st = launcher.Wait(240000);
    const std::string out = ReadLog(scratch.path() / "hup.log");
    INFO(out);
    REQUIRE(st.has_value());
    CHECK(*st == kExitStopped);
    CHECK(out.find("got SIGHUP; stopping the pipeline") != std::string::npos);
    CHECK(out.find("stopped before completion (exit 3)") != std::string::npos);
    CHECK(RunDirPids(run).empty());
  }

  // Whole files: offsets into a tail (ReadLog) would not be offsets into the file.
  const size_t sd_before = Whole(run / "logs" / "supervisord.log").size();
  ChildProcess launcher(Script("start-data-server", args), scratch.path() / "once.log");
  const int files_before = ResponseFiles(data);
  REQUIRE(PollFor([&] { return ResponseFiles(data) >= files_before + 2; }, 120000));
  const int stop =
      RunScript("stop-data-server", {"--run-dir", run.string()}, scratch.path() / "stop.log");
  // stop-data-server returned: everything is gone, and the manifest is whole.
  CHECK(RunDirPids(run).empty());
  CHECK(stop == 0);
  auto st = launcher.Wait(120000);
  const std::string out = ReadLog(scratch.path() / "once.log");
  INFO(out);
  REQUIRE(st.has_value());
  CHECK(*st == kExitStopped);
  CHECK(out.find("stop requested before the run was complete; exiting 3") != std::string::npos);
  auto dir = SeriesDir(data, "klines", "BTCUSDT", "1m");
  auto m = ParseManifest(*ReadFile(*dir / "manifest.json"), "manifest");
  REQUIRE(m.ok());
  CHECK(m->Summary().ok_slices > 0);
  CHECK(m->Summary().ok_slices < 2105);  // the plan: 2105 slices in range
  CHECK(out.find("plan: 1 series, 2105 slices in range") != std::string::npos);
  // Stop order in this run's part of supervisord's log: planner, fetcher, persister.
  const std::string sd = Whole(run / "logs" / "supervisord.log").substr(sd_before);
  INFO(sd);
  const size_t planner = sd.find("stopped: planner");
  const size_t fetcher = sd.find("stopped: fetcher-00");
  const size_t persister = sd.find("stopped: persister");
  REQUIRE(planner != std::string::npos);
  REQUIRE(fetcher != std::string::npos);
  REQUIRE(persister != std::string::npos);
  CHECK(planner < fetcher);
  CHECK(fetcher < persister);
}

TEST_CASE(
    "a data server with --fetchers 0 and --plan-only, fetchers elsewhere, a fetcher "
    "without CURVE refused, logged by the servers, and quiet",
    "[launcher][curve]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const fs::path run = scratch.path() / "run";
  const fs::path frun = scratch.path() / "fetchers";
  const fs::path data = scratch.path() / "data";
  RunDirCleanup cleanup(run), fcleanup(frun);
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  std::vector<std::string> args = LaunchArgs(sim, data, run, port_base, kTwoMonths);

  // --plan-only: the plan, and nothing fetched.
  {
    std::vector<std::string> a = args;
    a.push_back("--plan-only");
    const int st = RunScript("start-data-server", a, scratch.path() / "plan.log");
    const std::string out = ReadLog(scratch.path() / "plan.log");
    INFO(out);
    CHECK(st == 0);
    CHECK(out.find("plan: 1 series, 2 slices in range, 2 to fetch: 2 requests") !=
          std::string::npos);
    CHECK(ResponseFiles(data) == 0);
    CHECK(RunDirPids(run).empty());
  }

  // --fetchers 0 --once: the run waits for fetchers from elsewhere (here start-fetchers).
  {
    std::vector<std::string> a = args;
    a.insert(a.end(), {"--once", "--fetchers", "0"});
    ChildProcess server(Script("start-data-server", a), scratch.path() / "server.log");
    REQUIRE(PollFor(
        [&] {
          return ReadLog(scratch.path() / "server.log").find("plan: 1 series") != std::string::npos;
        },
        60000));
    CHECK(!fs::exists(run / "logs" / "fetcher-00.log"));
    CHECK(RunScript("start-fetchers",
                    {"--planner", "tcp://127.0.0.1:" + std::to_string(port_base), "--persister",
                     "tcp://127.0.0.1:" + std::to_string(port_base + 1), "--base-url",
                     sim.base_url(), "--fetchers", "1", "--run-dir", frun.string()},
                    scratch.path() / "sf.log") == 0);
    auto st = server.Wait(240000);
    INFO(ReadLog(scratch.path() / "server.log"));
    CHECK(st == 0);
    CHECK(RunScript("stop-data-server", {"--run-dir", frun.string()},
                    scratch.path() / "sf-stop.log") == 0);
    CHECK(RunDirPids(run).empty());
    CHECK(RunDirPids(frun).empty());
  }

  // With CURVE on the data server, a fetcher without CURVE is refused: both servers say so,
  // and the fetcher logs its trouble at most once a minute while it backs off.
  const fs::path keys = scratch.path() / "keys";
  REQUIRE(RunScript("qlir-keygen", {"--dir", keys.string(), "server"}, scratch.path() / "k.log") ==
          0);
  REQUIRE(RunScript("qlir-keygen", {"--dir", (keys / "fetchers").string(), "local"},
                    scratch.path() / "k.log") == 0);
  std::vector<std::string> a = args;
  a.insert(a.end(), {"--fetchers", "0", "--curve-keys", keys.string(), "--end", "2024-06-01"});
  REQUIRE(RunScript("start-data-server", a, scratch.path() / "curve.log") == 0);
  const auto t0 = std::chrono::steady_clock::now();
  ChildProcess plain({qlir::testing::BinaryPath("fetcher/fetcher"), "--planner",
                      "tcp://127.0.0.1:" + std::to_string(port_base), "--persister",
                      "tcp://127.0.0.1:" + std::to_string(port_base + 1), "--base-url",
                      sim.base_url(), "--fetcher-id", "intruder"},
                     scratch.path() / "plain.log");
  const fs::path planner_log = run / "logs" / "planner.log";
  const fs::path persister_log = run / "logs" / "persister.log";
  CHECK(PollFor(
      [&] {
        return ReadLog(planner_log)
                   .find(
                       "refused a peer on the jobs socket from "
                       "tcp://127.0.0.1") != std::string::npos;
      },
      60000));
  CHECK(PollFor(
      [&] {
        return ReadLog(persister_log).find("refused a peer on the results socket") !=
               std::string::npos;
      },
      60000));
  // Two reconnects at least (3 s of silence, then growing delays).
  CHECK(PollFor([&] { return Count(ReadLog(scratch.path() / "plain.log"), "reconnecting") >= 2; },
                90000));
  plain.Signal(SIGTERM);
  CHECK(plain.Wait(60000) == 0);
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0;
  const std::string plain_log = ReadLog(scratch.path() / "plain.log");
  INFO(plain_log);
  const size_t floods = Count(plain_log, "planner queue full");
  std::printf(
      "launcher_test: refused fetcher: %zu 'queue full' lines, %zu lines in all, in %.2f "
      "min\n",
      floods, Count(plain_log, "\n"), minutes);
  CHECK(floods <= 1 + static_cast<size_t>(minutes));
  CHECK(Count(plain_log, "\n") < 100);
  // A fetcher with CURVE but a key the data server does not list: refused by ZAP, and its
  // messages that no connection takes are dropped with one line a minute (it used to log
  // "planner queue full; dropped HEARTBEAT" in a tight loop after every reconnect).
  REQUIRE(RunScript("qlir-keygen", {"--dir", (scratch.path() / "rogue").string(), "rogue"},
                    scratch.path() / "k.log") == 0);
  const auto t1 = std::chrono::steady_clock::now();
  ChildProcess rogue({qlir::testing::BinaryPath("fetcher/fetcher"), "--planner",
                      "tcp://127.0.0.1:" + std::to_string(port_base), "--persister",
                      "tcp://127.0.0.1:" + std::to_string(port_base + 1), "--base-url",
                      sim.base_url(), "--fetcher-id", "rogue", "--curve-secret-key",
                      (scratch.path() / "rogue" / "rogue.key_secret").string(),
                      "--curve-server-key", (keys / "server.key").string()},
                     scratch.path() / "rogue.log");
  CHECK(PollFor([&] { return Count(ReadLog(scratch.path() / "rogue.log"), "reconnecting") >= 2; },
                90000));
  rogue.Signal(SIGTERM);
  CHECK(rogue.Wait(60000) == 0);
  const double rogue_minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() / 60.0;
  const std::string rogue_log = ReadLog(scratch.path() / "rogue.log");
  INFO(rogue_log);
  const size_t rogue_floods = Count(rogue_log, "planner queue full");
  std::printf("launcher_test: refused key: %zu 'queue full' lines, %zu lines in all, in %.2f min\n",
              rogue_floods, Count(rogue_log, "\n"), rogue_minutes);
  CHECK(rogue_floods <= 1 + static_cast<size_t>(rogue_minutes));
  // Its refusal, too, once a minute at most, although each reconnect makes a new socket.
  CHECK(Count(rogue_log, "the planner refused our CURVE key") >= 1);
  CHECK(Count(rogue_log, "the planner refused our CURVE key") <=
        1 + static_cast<size_t>(rogue_minutes));
  CHECK(Count(rogue_log, "\n") < 100);
  CHECK(ReadLog(planner_log).find("CURVE: refused key") != std::string::npos);
  // Nothing of the intruders was fetched for or stored.
  CHECK(ReadLog(planner_log).find("intruder") == std::string::npos);
  CHECK(RunScript("stop-data-server", {"--run-dir", run.string()}, scratch.path() / "stop.log") ==
        0);
  CHECK(RunDirPids(run).empty());
}

TEST_CASE("supervisord restarts a fetcher killed with SIGKILL and stop-data-server stops all",
          "[launcher]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  RunDirCleanup cleanup(run);
  REQUIRE(
      RunScript("start-data-server",
                {"--symbols", "BTCUSDT", "--intervals", "1h", "--start", "2024-01-01", "--base-url",
                 sim.base_url(), "--data-root", (scratch.path() / "data").string(), "--fetchers",
                 "1", "--run-dir", run.string(), "--port-base", std::to_string(port_base)},
                scratch.path() / "launcher.log", 120000) == 0);
  const fs::path tmp = scratch.path() / "ctl.out";
  int first = 0;
  PollFor([&] { return (first = SupervisedPid(run, "fetcher:fetcher-00", tmp)) > 0; }, 30000);
  INFO(ReadLog(run / "logs" / "supervisord.log"));
  REQUIRE(first > 0);
  REQUIRE(::kill(first, SIGKILL) == 0);
  int second = 0;
  PollFor(
      [&] {
        second = SupervisedPid(run, "fetcher:fetcher-00", tmp);
        return second > 0 && second != first;
      },
      30000);
  CHECK(second > 0);
  CHECK(second != first);
  CHECK(RunScript("stop-data-server", {"--run-dir", run.string()}, scratch.path() / "stop.log") ==
        0);
  CHECK(!qlir::testing::Alive(second));  // the restarted fetcher is gone too
  CHECK(RunDirPids(run).empty());
}

TEST_CASE("start-data-server --curve-keys runs every link with CURVE", "[launcher][curve]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  const fs::path data = scratch.path() / "data";
  const fs::path keys = scratch.path() / "keys";
  RunDirCleanup cleanup(run);
  std::vector<std::string> start = LaunchArgs(sim, data, run, port_base, kTwoMonths);
  start.insert(start.end(), {"--once", "--fetchers", "1", "--curve-keys", keys.string()});

  // Missing keys: refused before anything starts, with the commands that make them.
  fs::create_directories(keys);
  CHECK(RunScript("start-data-server", start, scratch.path() / "missing.log", 30000) == kExitUsage);
  CHECK(ReadLog(scratch.path() / "missing.log").find("scripts/qlir-keygen") != std::string::npos);

  REQUIRE(RunScript("qlir-keygen", {"--dir", keys.string(), "server"}, scratch.path() / "k.log") ==
          0);
  REQUIRE(RunScript("qlir-keygen", {"--dir", (keys / "fetchers").string(), "local"},
                    scratch.path() / "k.log") == 0);
  const int st = RunScript("start-data-server", start, scratch.path() / "launcher.log");
  INFO(ReadLog(scratch.path() / "launcher.log"));
  INFO(ReadLog(run / "logs" / "planner.log"));
  INFO(ReadLog(run / "logs" / "persister.log"));
  REQUIRE(st == 0);
  auto dir = SeriesDir(data, "klines", "BTCUSDT", "1h");
  auto m = ParseManifest(*ReadFile(*dir / "manifest.json"), "manifest");
  REQUIRE(m.ok());
  CHECK(m->Summary().ok_slices == m->Summary().total_slices);
  CHECK(m->Summary().total_slices > 0);
  const std::string persister_log = ReadLog(run / "logs" / "persister.log");
  CHECK(persister_log.find("CURVE with 1 allowed") != std::string::npos);
  CHECK(persister_log.find("accepted local") != std::string::npos);
  CHECK(persister_log.find("accepted data-server") != std::string::npos);
  CHECK(ReadLog(run / "logs" / "planner.log").find("accepted local") != std::string::npos);
  CHECK(RunDirPids(run).empty());
}

namespace {

// The [program:NAME] section of a supervisord.conf, up to the next section.
std::string ProgramSection(const std::string& conf, const std::string& name) {
  const size_t at = conf.find("[program:" + name + "]");
  if (at == std::string::npos) return "";
  return conf.substr(at, conf.find("\n[", at + 1) - at);
}

// True when the series' manifest exists and every one of its slices (at least one) is ok.
bool SeriesComplete(const fs::path& data, const std::string& endpoint, const std::string& symbol,
                    const std::string& interval) {
  auto dir = SeriesDir(data, endpoint, symbol, interval);
  if (!dir.ok() || !fs::exists(*dir / "manifest.json")) return false;
  auto text = ReadFile(*dir / "manifest.json");
  if (!text.ok()) return false;
  auto m = ParseManifest(*text, "manifest");
  return m.ok() && m->Summary().total_slices > 0 &&
         m->Summary().ok_slices == m->Summary().total_slices;
}

}  // namespace

TEST_CASE(
    "start-data-server --endpoints klines,fundingRate,aggTrades --once: one persister, a "
    "planner and fetchers per endpoint, each endpoint's symbols and series, the worst exit",
    "[launcher][endpoints]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase(5);  // P..P+2, and the jobs of endpoints 2 and 3: P+3, P+4
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  const fs::path data = scratch.path() / "data";
  const fs::path rate = scratch.path() / "rate" / "state";
  fs::create_directories(rate.parent_path());
  // fundingRate's own base URL: the same simulator under another name.
  const std::string funding_url = "http://localhost:" + std::to_string(sim.port());
  RunDirCleanup cleanup(run);
  const int st = RunScript(
      "start-data-server",
      LaunchArgs(sim, data, run, port_base,
                 {"--once", "--endpoints", "klines,fundingRate,aggTrades", "--symbols", "BTCUSDT",
                  "--symbols-for", "fundingRate=ETHUSDT,NOPEUSDT", "--intervals-for",
                  "klines=1h,1d", "--start", "2024-01-01", "--end", "2024-03-01", "--fetchers", "1",
                  "--rate-state", rate.string(), "--base-url-for", "fundingRate=" + funding_url,
                  "--start-for", "fundingRate=2024-01-15", "--end-for", "klines=2024-02-01",
                  // One day of trades (about 3 a minute): a few slices.
                  "--start-for", "aggTrades=2024-01-10", "--end-for", "aggTrades=2024-01-11"}),
      scratch.path() / "launcher.log");
  const std::vector<int> left = RunDirPids(run);
  const std::string out = Whole(scratch.path() / "launcher.log");
  INFO(out);
  CHECK(left.empty());
  // klines and aggTrades complete (0), fundingRate complete with its unknown symbol skipped (2):
  // the worst, 2.
  REQUIRE(st == kExitDoneWithFailures);
  CHECK(out.find("every planner finished (klines 0, fundingRate 2, aggTrades 0; the worst "
                 "counts): complete, with failures for good (exit 2)") != std::string::npos);
  // Each endpoint's own symbols and series, and no other.
  CHECK(SeriesComplete(data, "klines", "BTCUSDT", "1h"));
  CHECK(SeriesComplete(data, "klines", "BTCUSDT", "1d"));
  CHECK(SeriesComplete(data, "fundingRate", "ETHUSDT", "1h"));
  CHECK(SeriesComplete(data, "aggTrades", "BTCUSDT", "id"));
  CHECK(!fs::exists(data / "binance" / "klines" / "raw" / "ETHUSDT"));
  CHECK(!fs::exists(data / "binance" / "klines" / "raw" / "BTCUSDT" / "1m"));
  CHECK(!fs::exists(data / "binance" / "fundingRate" / "raw" / "BTCUSDT"));
  // Every plan, progress and error line names its endpoint.
  CHECK(out.find("planner[klines]: plan: 2 series, 3 slices in range, 3 to fetch") !=
        std::string::npos);
  CHECK(out.find("planner[fundingRate]: plan: 1 series, 2 slices in range, 2 to fetch") !=
        std::string::npos);
  CHECK(out.find("planner[aggTrades]: plan: 1 series, ") != std::string::npos);
  CHECK(out.find("ERROR planner[fundingRate]: unknown symbol NOPEUSDT") != std::string::npos);
  CHECK(out.find("planner[klines]: summary BTCUSDT/1d slices=1 ok=1 ") != std::string::npos);
  CHECK(out.find("planner[fundingRate]: summary ETHUSDT/1h slices=2 ok=2 ") != std::string::npos);
  CHECK(out.find(" planner: ") == std::string::npos);
  // The port layout: jobs of the first endpoint on P, of the second on P+3, the third on P+4.
  const std::string p = std::to_string(port_base);
  const std::string p3 = std::to_string(port_base + 3);
  const std::string p4 = std::to_string(port_base + 4);
  CHECK(out.find("ports: jobs klines " + p + ", fundingRate " + p3 + ", aggTrades " + p4 +
                 "; results " + std::to_string(port_base + 1) + "; control " +
                 std::to_string(port_base + 2)) != std::string::npos);
  const std::string conf = Whole(run / "supervisord.conf");
  INFO(conf);
  CHECK(Count(conf, "[program:") == 7);
  CHECK(Count(conf, "exitcodes=0,2,3,64,69") == 7);
  const std::string pk = ProgramSection(conf, "planner-klines");
  const std::string pf = ProgramSection(conf, "planner-fundingRate");
  const std::string fk = ProgramSection(conf, "fetcher-klines");
  const std::string ff = ProgramSection(conf, "fetcher-fundingRate");
  const std::string pa = ProgramSection(conf, "planner-aggTrades");
  const std::string fa = ProgramSection(conf, "fetcher-aggTrades");
  CHECK(pa.find("--endpoint aggTrades --symbols BTCUSDT --jobs-bind tcp://127.0.0.1:" + p4 + " ") !=
        std::string::npos);
  CHECK(fa.find("--planner tcp://127.0.0.1:" + p4 + " ") != std::string::npos);
  CHECK(pa.find("--start 2024-01-10 --end 2024-01-11") != std::string::npos);
  CHECK(pk.find("--endpoint klines --symbols BTCUSDT --jobs-bind tcp://127.0.0.1:" + p + " ") !=
        std::string::npos);
  CHECK(pk.find("--intervals 1h\\,1d") != std::string::npos);
  CHECK(pf.find("--endpoint fundingRate --symbols ETHUSDT\\,NOPEUSDT --jobs-bind "
                "tcp://127.0.0.1:" +
                p3 + " ") != std::string::npos);
  CHECK(pf.find("--intervals") == std::string::npos);  // its own series, 1h
  CHECK(fk.find("--planner tcp://127.0.0.1:" + p + " ") != std::string::npos);
  CHECK(ff.find("--planner tcp://127.0.0.1:" + p3 + " ") != std::string::npos);
  CHECK(fk.find("process_name=fetcher-klines-%(process_num)02d") != std::string::npos);
  // --base-url for klines, --base-url-for fundingRate's planner and fetchers.
  CHECK(pk.find("--base-url " + sim.base_url()) != std::string::npos);
  CHECK(fk.find("--base-url " + sim.base_url() + " ") != std::string::npos);
  CHECK(pf.find("--base-url " + funding_url) != std::string::npos);
  CHECK(ff.find("--base-url " + funding_url + " ") != std::string::npos);
  CHECK(pf.find(sim.base_url()) == std::string::npos);
  // --start and --end, and each endpoint's own with --start-for and --end-for.
  CHECK(pk.find("--start 2024-01-01 --end 2024-02-01") != std::string::npos);
  CHECK(pf.find("--start 2024-01-15 --end 2024-03-01") != std::string::npos);
  // One budget per exchange host and limit for every planner and fetcher: the same state path.
  // (klines and aggTrades spend the spot host's weight together, fundingRate its own limit.)
  for (const std::string* section : {&pk, &pf, &fk, &ff, &pa, &fa}) {
    CHECK(section->find("--rate-state " + rate.string() + " ") != std::string::npos);
  }
  CHECK(fs::exists(rate.string() + ".fapi.binance.com.fundingRate"));
  // Stop order: the planners had exited, then the fetchers, then the persister last.
  const std::string sd = Whole(run / "logs" / "supervisord.log");
  INFO(sd);
  const size_t persister_stopped = sd.find("stopped: persister");
  REQUIRE(persister_stopped != std::string::npos);
  for (const char* line :
       {"exited: planner-klines (exit status 0; expected)",
        "exited: planner-fundingRate (exit status 2; expected)",
        "exited: planner-aggTrades (exit status 0; expected)", "stopped: fetcher-aggTrades-00",
        "stopped: fetcher-klines-00", "stopped: fetcher-fundingRate-00"}) {
    INFO(line);
    CHECK(sd.find(line) < persister_stopped);
  }

  // scripts/status: both planners' counters and each endpoint's fetcher, apart.
  ChildProcess status(Script("status", {"--run-dir", run.string(), "--json"}),
                      scratch.path() / "status.json");
  REQUIRE(status.Wait(60000) == 0);
  auto report = nlohmann::json::parse(Whole(scratch.path() / "status.json"));
  CHECK(report["series"].size() == 4);
  std::set<std::string> planners, fetchers;
  for (const auto& proc : report["processes"]["processes"]) {
    INFO(proc.dump());
    if (proc["process"] == "planner") {
      planners.insert(proc["source"].get<std::string>());
      CHECK(proc["counters"]["slices_ok"] == proc["counters"]["slices_total"]);
    } else if (proc["process"] == "fetcher" && proc["source"] != "planner") {
      fetchers.insert(proc["source"].get<std::string>());
      const std::string id = proc["id"];
      CHECK((id.ends_with("-klines-00") || id.ends_with("-fundingRate-00") ||
             id.ends_with("-aggTrades-00")));
    }
  }
  CHECK(planners == std::set<std::string>{"planner-klines.json", "planner-fundingRate.json",
                                          "planner-aggTrades.json"});
  CHECK(fetchers == std::set<std::string>{"fetcher-klines-00.json", "fetcher-fundingRate-00.json",
                                          "fetcher-aggTrades-00.json"});
}

TEST_CASE(
    "two endpoints' planners: every plan with --plan-only, fetchers of another host joining "
    "each, scripts/status and stop-data-server",
    "[launcher][endpoints]") {
  ScratchDir scratch;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=1502942400000"});
  const int port_base = FreePortBase();
  REQUIRE(port_base > 0);
  const fs::path run = scratch.path() / "run";
  const fs::path frun = scratch.path() / "fetchers";
  const fs::path data = scratch.path() / "data";
  RunDirCleanup cleanup(run), fcleanup(frun);
  const std::vector<std::string> args =
      LaunchArgs(sim, data, run, port_base,
                 {"--endpoints", "fundingRate,klines", "--symbols", "BTCUSDT", "--intervals-for",
                  "klines=1h", "--start", "2024-01-01", "--end", "2024-03-01", "--fetchers", "0"});
  const std::string jobs_funding = "tcp://127.0.0.1:" + std::to_string(port_base);
  const std::string jobs_klines = "tcp://127.0.0.1:" + std::to_string(port_base + 3);

  {
    std::vector<std::string> a = args;
    a.insert(a.end(), {"--plan-only", "--log-json"});
    const int st = RunScript("start-data-server", a, scratch.path() / "plan.log");
    const std::string out = Whole(scratch.path() / "plan.log");
    INFO(out);
    CHECK(st == 0);
    // JSON lines carry the endpoint as a field.
    CHECK(out.find("{\"endpoint\":\"fundingRate\",") != std::string::npos);
    CHECK(out.find("\"msg\":\"plan: 1 series, 2 slices in range, 2 to fetch") != std::string::npos);
    size_t plans = 0;
    for (const char* endpoint : {"fundingRate", "klines"}) {
      for (size_t at = out.find(std::string("{\"endpoint\":\"") + endpoint + "\",");
           at != std::string::npos;
           at = out.find(std::string("{\"endpoint\":\"") + endpoint + "\",", at + 1)) {
        const std::string line = out.substr(at, out.find('\n', at) - at);
        INFO(line);
        CHECK(!nlohmann::json::parse(line, nullptr, false).is_discarded());
        if (line.find("\"msg\":\"plan: 1 series, 2 slices in range, 2 to fetch") !=
            std::string::npos) {
          ++plans;
        }
      }
    }
    CHECK(plans == 2);
    CHECK(out.find("every planner finished (fundingRate 0, klines 0; the worst counts)") !=
          std::string::npos);
    CHECK(ResponseFiles(data) == 0);
    CHECK(RunDirPids(run).empty());
  }

  // The data server runs for ever without local fetchers; another host's start-fetchers joins
  // each endpoint's planner on its own jobs port.
  REQUIRE(RunScript("start-data-server", args, scratch.path() / "server.log") == 0);
  REQUIRE(
      RunScript("start-fetchers",
                {"--planner", "klines=" + jobs_klines, "--planner", "fundingRate=" + jobs_funding,
                 "--persister", "tcp://127.0.0.1:" + std::to_string(port_base + 1), "--base-url",
                 sim.base_url(), "--fetchers", "1", "--run-dir", frun.string()},
                scratch.path() / "sf.log") == 0);
  CHECK(ReadLog(scratch.path() / "sf.log").find("1 fetcher(s) for each of klines fundingRate") !=
        std::string::npos);
  CHECK(PollFor(
      [&] {
        return SeriesComplete(data, "klines", "BTCUSDT", "1h") &&
               SeriesComplete(data, "fundingRate", "BTCUSDT", "1h");
      },
      120000));
  // Each fetcher program joined its own endpoint's planner, and only that one.
  CHECK(Whole(frun / "logs" / "fetcher-klines-00.log")
            .find("connecting to planner " + jobs_klines + ",") != std::string::npos);
  CHECK(Whole(frun / "logs" / "fetcher-fundingRate-00.log")
            .find("connecting to planner " + jobs_funding + ",") != std::string::npos);
  for (const std::string endpoint : {"klines", "fundingRate"}) {
    INFO(endpoint);
    std::vector<std::string> ids;
    CHECK(PollFor(
        [&] {
          auto stats = nlohmann::json::parse(
              Whole(run / "stats" / ("planner-" + endpoint + ".json")), nullptr, false);
          ids.clear();
          if (stats.is_discarded() || !stats.contains("fetchers")) return false;
          for (const auto& item : stats["fetchers"].items()) ids.push_back(item.key());
          return !ids.empty();
        },
        30000));
    REQUIRE(ids.size() == 1);
    CHECK(ids[0].ends_with("-" + endpoint + "-00"));
  }

  // Stats are rewritten every 2 s: wait for the planners' files to count the fetchers.
  std::string text;
  CHECK(PollFor(
      [&] {
        ChildProcess status(Script("status", {"--run-dir", run.string()}),
                            scratch.path() / "status.txt");
        status.Wait(60000);
        text = Whole(scratch.path() / "status.txt");
        return text.find("-klines-00 (via the planner)") != std::string::npos &&
               text.find("-fundingRate-00 (via the planner)") != std::string::npos;
      },
      60000));
  INFO(text);
  CHECK(text.find("planner-klines ") != std::string::npos);
  CHECK(text.find("planner-fundingRate ") != std::string::npos);
  CHECK(text.find("klines: program planner-klines, jobs " + jobs_klines) != std::string::npos);
  CHECK(text.find("fundingRate: program planner-fundingRate, jobs " + jobs_funding) !=
        std::string::npos);
  CHECK(text.find("fundingRate/BTCUSDT/1h") != std::string::npos);
  CHECK(text.find("klines/BTCUSDT/1h") != std::string::npos);

  CHECK(RunScript("stop-data-server", {"--run-dir", frun.string()}, scratch.path() / "fs.log") ==
        0);
  const size_t sd_before = Whole(run / "logs" / "supervisord.log").size();
  CHECK(RunScript("stop-data-server", {"--run-dir", run.string()}, scratch.path() / "stop.log") ==
        0);
  const std::string stop = ReadLog(scratch.path() / "stop.log");
  INFO(stop);
  CHECK(stop.find("the 2 planners, then the persister") != std::string::npos);
  CHECK(RunDirPids(run).empty());
  CHECK(RunDirPids(frun).empty());
  const std::string sd = Whole(run / "logs" / "supervisord.log").substr(sd_before);
  INFO(sd);
  const size_t persister = sd.find("stopped: persister");
  REQUIRE(persister != std::string::npos);
  CHECK(sd.find("stopped: planner-klines") < persister);
  CHECK(sd.find("stopped: planner-fundingRate") < persister);
}
