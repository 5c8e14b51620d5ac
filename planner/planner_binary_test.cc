// The planner binary end to end on loopback: a tiny cpp-httplib exchange (exchangeInfo, time,
// the listing request klines?startTime=0&limit=1), a fake persister and a fake fetcher on ipc://
// endpoints in a scratch directory. Checks exit codes, the unknown-symbol error, SIGTERM.
// Waits poll a socket or a pidfd with a deadline; nothing sleeps, nothing asserts on timing.
#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "planner/socket_fakes.h"
#include "tests/test_util.h"

namespace qlir::planner {
namespace {

using std::chrono::milliseconds;
using testing::FakeFetcher;
using testing::FakePersister;

constexpr int64_t kSpan = 60000LL * 1000;             // one 1m slice
constexpr int64_t kListing = 1502942400000;           // BTCUSDT's first 1m candle
constexpr int64_t kNow = kListing + 50 * kSpan + 17;  // the fake exchange's clock

// The exchange: two symbols, a fixed clock, and candles from kListing.
class FakeExchange {
 public:
  FakeExchange() {
    server_.Get("/api/v3/exchangeInfo", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"symbols":[{"symbol":"BTCUSDT"},{"symbol":"ETHUSDT"}]})",
                      "application/json");
    });
    server_.Get("/api/v3/time", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"serverTime":)" + std::to_string(kNow) + "}", "application/json");
    });
    server_.Get("/api/v3/klines", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_param_value("startTime") != "0" || req.get_param_value("limit") != "1") {
        res.status = 400;
        return;
      }
      res.set_content(
          "[[" + std::to_string(kListing) + R"(,"1","1","1","1","0",1,"0",0,"0","0","0"]])",
          "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    // Bound and listening: connections wait in the backlog until the thread accepts them.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeExchange() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

// The planner binary as a child, stderr to a file.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::filesystem::path& log) : log_(log) {
    std::vector<std::string> argv = {QLIR_PLANNER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      dup2(fd, 1);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  }
  ~Child() {
    if (!status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (pidfd_ >= 0) close(pidfd_);
  }
  void Signal(int sig) { kill(pid_, sig); }
  // Exit code, or nullopt if still running at the deadline.
  std::optional<int> Wait(milliseconds timeout) {
    if (status_) return status_;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(timeout.count()));
    }
    int st = 0;
    pid_t r = waitpid(pid_, &st, pidfd_ >= 0 ? WNOHANG : 0);
    if (r != pid_) return std::nullopt;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
};

struct Rig {
  qlir::testing::ScratchDir dir;
  FakeExchange exchange;
  zmq::context_t ctx;
  std::string jobs() const { return "ipc://" + (dir.path() / "jobs").string(); }
  std::string control() const { return "ipc://" + (dir.path() / "control").string(); }
  std::vector<std::string> Args(std::vector<std::string> extra) const {
    std::vector<std::string> a = {"--base-url",        exchange.url(),
                                  "--jobs-bind",       jobs(),
                                  "--persister",       control(),
                                  "--heartbeat-ms",    "100",
                                  "--status-retry-ms", "300",
                                  "--progress-ms",     "300",
                                  "--rate-state",      (dir.path() / "rate.state").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

TEST_CASE("planner binary: listing start - unknown symbol named - once-mode exits 2 for it") {
  Rig rig;
  FakePersister persister(rig.ctx, rig.control());
  // From the listing to 2 slices later: 3 slices of BTCUSDT/1m, all closed by the exchange clock.
  Child planner(rig.Args({"--symbols", "NOPEUSDT,BTCUSDT", "--intervals", "1m", "--start",
                          "listing", "--end", std::to_string(kListing + 2 * kSpan), "--once"}),
                rig.dir.path() / "planner.log");
  persister.ServeStatus();
  FakeFetcher fetcher(rig.ctx, rig.jobs(), "F1");
  fetcher.Send(wire::Ready{"F1", 8});
  std::set<std::string> keys;
  for (int i = 0; i < 3; ++i) {
    auto job = fetcher.NextJob();
    REQUIRE(job);
    keys.insert(job->key);
    fetcher.Send(wire::JobDone{job->job_id, job->key, "ok"});
    persister.Durable(job->key, "ok");
  }
  CHECK(keys.size() == 3);
  CHECK(keys.count("BTCUSDT:1m:" + std::to_string(kListing / kSpan * kSpan) + "-" +
                   std::to_string((kListing / kSpan + 1) * kSpan - 1) + ":1000"));
  auto code = planner.Wait(milliseconds(20000));
  INFO(planner.Log());
  REQUIRE(code);
  CHECK(*code == 2);  // every slice ok, but a symbol was skipped (common/exit_codes.h)
  const std::string log = planner.Log();
  CHECK(log.find("unknown symbol NOPEUSDT") != std::string::npos);
  CHECK(log.find("ERROR planner: skipped 1 unknown symbol(s): NOPEUSDT") != std::string::npos);
  CHECK(log.find("plan: 1 series, 3 slices in range, 3 to fetch") != std::string::npos);
  CHECK(log.find("summary BTCUSDT/1m slices=3 ok=3") != std::string::npos);
}

TEST_CASE("planner binary: once-mode exits 2 and lists the slices failed for good") {
  Rig rig;
  FakePersister persister(rig.ctx, rig.control());
  const int64_t start = (kListing / kSpan + 1) * kSpan;  // one slice
  const std::string key =
      "BTCUSDT:1m:" + std::to_string(start) + "-" + std::to_string(start + kSpan - 1) + ":1000";
  Child planner(rig.Args({"--symbols", "BTCUSDT", "--start", std::to_string(start), "--end",
                          std::to_string(start + 1), "--once", "--max-failures", "2",
                          "--retry-base-ms", "10", "--retry-max-ms", "10"}),
                rig.dir.path() / "planner.log");
  persister.ServeStatus();
  FakeFetcher fetcher(rig.ctx, rig.jobs(), "F1");
  fetcher.Send(wire::Ready{"F1", 1});
  for (int i = 0; i < 2; ++i) {
    auto job = fetcher.NextJob();
    REQUIRE(job);
    CHECK(job->key == key);
    fetcher.Send(wire::JobDone{job->job_id, job->key, "failed"});
    persister.Durable(job->key, "failed");
  }
  auto code = planner.Wait(milliseconds(20000));
  INFO(planner.Log());
  REQUIRE(code);
  CHECK(*code == 2);
  CHECK(planner.Log().find("failed for good key=" + key) != std::string::npos);
}

TEST_CASE("planner binary: SIGTERM exits 0 - bad flags and no known symbol exit 64") {
  Rig rig;
  {
    FakePersister persister(rig.ctx, rig.control());
    Child planner(rig.Args({"--symbols", "BTCUSDT"}), rig.dir.path() / "run.log");
    auto m = persister.Next();  // it is up and asking for statuses
    REQUIRE(m);
    CHECK(std::holds_alternative<wire::StatusRequest>(*m));
    planner.Signal(SIGTERM);
    auto code = planner.Wait(milliseconds(20000));
    REQUIRE(code);
    CHECK(*code == 0);
  }
  {
    Child planner(rig.Args({"--symbols", "BTCUSDT", "--max-failures", "zero"}),
                  rig.dir.path() / "flags.log");
    auto code = planner.Wait(milliseconds(20000));
    REQUIRE(code);
    CHECK(*code == 64);
    CHECK(planner.Log().find("ERROR planner: bad usage: ") != std::string::npos);
    CHECK(planner.Log().find("--max-failures") != std::string::npos);
  }
  {
    Child planner(rig.Args({"--symbols", "NOPEUSDT"}), rig.dir.path() / "unknown.log");
    auto code = planner.Wait(milliseconds(20000));
    REQUIRE(code);
    CHECK(*code == 64);
    CHECK(planner.Log().find("ERROR planner: bad usage: --symbols: no known symbol left (unknown: "
                             "NOPEUSDT)") != std::string::npos);
  }
}

}  // namespace
}  // namespace qlir::planner
