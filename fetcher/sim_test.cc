// The fetcher against the exchange simulator (tools/exchange-sim, a real process on loopback):
// every injected fault kind, 429 and 418, validation outcomes, and several fetcher processes
// sharing one weight budget without a single 429 or 418, read from the simulator's counters.
#include <httplib.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <deque>
#include <set>

#include "common/json.h"
#include "common/klines/payload.h"
#include "common/time_util.h"
#include "fetcher/fetcher_test_util.h"
#include "tests/process.h"
#include "tests/test_util.h"

using namespace qlir;
using namespace qlir::fetcher;
using namespace qlir::fetcher::testing;
using qlir::testing::ScratchDir;

namespace {

constexpr int kWait = 10000;
constexpr int kLimit = 100;
// 1m slices of 100 candles in 2021, when BTCUSDT and ETHUSDT were trading.
constexpr int64_t kBase = 1609459200000 / (60000 * kLimit);

klines::KlineSliceKey Slice(const std::string& symbol, int64_t i) {
  return klines::GridSlice(symbol, "1m", 60000, kBase + i, kLimit);
}

class Sim {
 public:
  Sim(const ScratchDir& dir, std::vector<std::string> flags) {
    std::vector<std::string> argv = {qlir::testing::BinaryPath("tools/exchange-sim/exchange-sim"),
                                     "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    log_ = dir.path() / "sim.log";
    proc_ = std::make_unique<qlir::testing::ChildProcess>(argv, log_, true);
    auto line = proc_->ReadLine(kWait);
    INFO(qlir::testing::ReadLog(log_));
    REQUIRE(line);
    REQUIRE(line->starts_with("listening on 127.0.0.1:"));
    port_ = std::stoi(line->substr(line->rfind(':') + 1));
  }
  ~Sim() {
    proc_->Signal(SIGTERM);
    proc_->Wait(kWait);
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  nlohmann::json Counters() {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/sim/counters");
    REQUIRE(r);
    return nlohmann::json::parse(r->body);
  }
  void Post(const std::string& path, const std::string& body) {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Post(path.c_str(), body, "application/json");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
  }
  // Counters once no request is inside the simulator (a hanging one is counted when it ends).
  nlohmann::json IdleCounters() {
    const int64_t deadline = SteadyMs() + kWait;
    for (;;) {
      nlohmann::json c = Counters();
      if (c["in_flight"] == 0 || SteadyMs() > deadline) return c;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Counter of 127.0.0.1, or 0.
  static int64_t Ip(const nlohmann::json& counters, const std::string& name) {
    const auto& ips = counters["ips"];
    if (!ips.contains("127.0.0.1")) return 0;
    const auto& ip = ips["127.0.0.1"];
    return ip.contains(name) ? ip[name].get<int64_t>() : 0;
  }
  static int64_t Sub(const nlohmann::json& counters, const std::string& group,
                     const std::string& name) {
    const auto& ips = counters["ips"];
    if (!ips.contains("127.0.0.1") || !ips["127.0.0.1"].contains(group)) return 0;
    const auto& g = ips["127.0.0.1"][group];
    return g.contains(name) ? g[name].get<int64_t>() : 0;
  }

 private:
  std::filesystem::path log_;
  std::unique_ptr<qlir::testing::ChildProcess> proc_;
  int port_ = 0;
};

struct DriveResult {
  std::map<std::string, wire::FetchResult> results;  // by key
  int result_messages = 0;
  std::map<std::string, int> done_by_fetcher;  // JOB_DONE count per READY'd fetcher id
  bool finished = false;
};

// A minimal planner: hands out jobs against READY/JOB_DONE credits, heartbeats every fetcher,
// re-queues returned jobs, and collects results until every job has a result and a JOB_DONE.
DriveResult Drive(FakePlanner& planner, FakePersister& persister,
                  const std::vector<klines::KlineSliceKey>& keys, int64_t timeout_ms) {
  std::deque<wire::Job> queue;
  uint64_t next_id = 1;
  for (const auto& k : keys) queue.push_back(wire::Job{next_id++, "klines", k.composite_key()});
  std::map<std::string, int> credits;  // by routing identity
  std::map<std::string, int> granted;
  std::map<std::string, std::string> names;
  DriveResult out;
  int done = 0;
  int64_t last_hb = 0;
  const int64_t deadline = SteadyMs() + timeout_ms;
  while (SteadyMs() < deadline) {
    if (out.results.size() == keys.size() && done == static_cast<int>(keys.size())) {
      out.finished = true;
      break;
    }
    for (auto it = credits.begin(); it != credits.end();) {
      bool gone = false;
      try {
        while (it->second > 0 && !queue.empty()) {
          planner.Send(it->first, queue.front());
          queue.pop_front();
          --it->second;
        }
        if (SteadyMs() - last_hb >= 300) planner.Send(it->first, wire::Heartbeat{"planner"});
      } catch (const zmq::error_t&) {
        gone = true;  // reconnected under a new identity
      }
      it = gone ? credits.erase(it) : std::next(it);
    }
    if (SteadyMs() - last_hb >= 300) last_hb = SteadyMs();
    if (auto m = planner.Recv(20)) {
      if (auto* r = std::get_if<wire::Ready>(&m->message)) {
        credits[m->identity] = static_cast<int>(r->credits);
        granted[m->identity] = static_cast<int>(r->credits);
        names[m->identity] = r->fetcher_id;
      } else if (std::holds_alternative<wire::JobDone>(m->message)) {
        // Like the planner: a credit back, never beyond what READY granted.
        if (credits.count(m->identity) && credits[m->identity] < granted[m->identity]) {
          ++credits[m->identity];
        }
        ++done;
        ++out.done_by_fetcher[names[m->identity]];
      } else if (auto* b = std::get_if<wire::JobReturn>(&m->message)) {
        queue.push_front(wire::Job{b->job_id, "klines", b->key});
      }
    }
    while (auto r = persister.Recv(0)) {
      ++out.result_messages;
      out.results[r->key] = *r;
    }
  }
  return out;
}

FetcherOptions Options(const FakePlanner& planner, const FakePersister& persister, const Sim& sim,
                       int concurrency) {
  FetcherOptions o =
      TestFetcherOptions(planner, persister, sim.base_url(), "sim-fetcher", concurrency);
  o.heartbeat_ms = 1000;
  o.backoff_max_ms = 20;
  o.job.max_attempts = 12;
  return o;
}

}  // namespace

TEST_CASE("every injected fault kind is retried to a correct result", "[sim]") {
  ScratchDir dir;
  Sim sim(dir, {"--seed", "7", "--hang-ms", "1500"});
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  HttpOptions http{.connect_timeout_ms = 1000, .total_timeout_ms = 500};
  InThreadFetcher fetcher(Options(planner, persister, sim, 4), (dir.path() / "rate").string(),
                          http);
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"server_error", "{\"server_error\":0.4}"},
      {"timeout", "{\"timeout\":0.4}"},
      {"truncated", "{\"truncated\":0.4}"},
      {"malformed", "{\"malformed\":0.4}"},
      {"html", "{\"html\":0.4}"},
      {"reset", "{\"reset\":0.4}"},
      {"hang", "{\"hang\":0.3}"},
      {"latency", "{\"latency_ms\":30,\"jitter_ms\":20}"}};
  int64_t slice = 0;
  for (const auto& [kind, faults] : kinds) {
    DYNAMIC_SECTION("fault " << kind) {
      sim.Post("/sim/reset", "");
      sim.Post("/sim/faults",
               "{\"server_error\":0,\"timeout\":0,\"truncated\":0,\"malformed\":0,"
               "\"html\":0,\"reset\":0,\"hang\":0,\"latency_ms\":0,\"jitter_ms\":0}");
      sim.Post("/sim/faults", faults);
      std::vector<klines::KlineSliceKey> keys;
      for (int i = 0; i < 8; ++i) keys.push_back(Slice(i % 2 ? "ETHUSDT" : "BTCUSDT", slice++));
      DriveResult d = Drive(planner, persister, keys, 60000);
      REQUIRE(d.finished);
      CHECK(d.result_messages == 8);
      int retried = 0;
      for (const auto& k : keys) {
        const auto& r = d.results.at(k.composite_key());
        INFO(k.composite_key() << " " << r.error);
        CHECK(r.outcome == "ok");
        CHECK(r.n_items == kLimit);
        CHECK(r.first_ts == k.start_ms);
        CHECK(r.last_ts == k.end_ms - 59999);
        CHECK(klines::ValidateKlinesPayload(r.body, k).ok());
        if (r.attempts > 1) ++retried;
      }
      auto c = sim.IdleCounters();
      INFO(c.dump());
      CHECK(c["in_flight"] == 0);
      if (kind == "latency") {
        CHECK(retried == 0);
      } else {
        CHECK(Sim::Sub(c, "faults", kind) > 0);
        CHECK(retried > 0);
      }
      CHECK(c["duplicate_ok_windows"] == 0);
      CHECK(Sim::Ip(c, "429") == 0);
    }
  }
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("a fault that never clears ends in failed after max attempts", "[sim]") {
  ScratchDir dir;
  Sim sim(dir, {"--fault-server-error", "1"});
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  FetcherOptions o = Options(planner, persister, sim, 2);
  o.job.max_attempts = 3;
  InThreadFetcher fetcher(o, (dir.path() / "rate").string());
  auto k = Slice("BTCUSDT", 0);
  DriveResult d = Drive(planner, persister, {k}, 30000);
  REQUIRE(d.finished);
  const auto& r = d.results.at(k.composite_key());
  CHECK(r.outcome == "failed");
  CHECK(r.attempts == 3);
  CHECK((r.http_status == 502 || r.http_status == 503));
  CHECK(r.body.empty());
  CHECK_FALSE(r.error.empty());
  CHECK(sim.Counters()["windows"][k.composite_key()]["requests"] == 3);
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("outcomes by the simulator's rules: partial, empty, unknown symbol", "[sim]") {
  ScratchDir dir;
  Sim sim(dir, {});
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  InThreadFetcher fetcher(Options(planner, persister, sim, 3), (dir.path() / "rate").string());
  const int64_t now = WallClockMs();
  // The slice holding now (its window has not closed), one before BTCUSDT's listing, and a
  // symbol the exchange does not know.
  const auto open = klines::GridSlice("BTCUSDT", "1m", 60000, now / (60000 * 1000), 1000);
  const auto before = klines::GridSlice("BTCUSDT", "1m", 60000, 1400000000000 / 60000000, 1000);
  const auto unknown = Slice("NOSUCHUSDT", 0);
  DriveResult d = Drive(planner, persister, {open, before, unknown}, 30000);
  REQUIRE(d.finished);
  const auto& p = d.results.at(open.composite_key());
  CHECK(p.outcome == "partial");
  CHECK(p.server_time_ms <= open.end_ms);
  CHECK(p.server_time_ms >= now - 1000);
  CHECK(p.n_items >= 1);
  const auto& e = d.results.at(before.composite_key());
  CHECK(e.outcome == "ok");
  CHECK(e.n_items == 0);
  CHECK(e.body == "[]");
  const auto& u = d.results.at(unknown.composite_key());
  CHECK(u.outcome == "failed");
  CHECK(u.attempts == 1);
  CHECK(u.http_status == 400);
  CHECK(u.error == "HTTP 400: code -1121: Invalid symbol.");
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("429: the fetcher pauses for Retry-After and is never banned", "[sim]") {
  ScratchDir dir;
  // 5 requests per second: 4 workers on loopback exceed that whatever the machine's load.
  Sim sim(dir, {"--weight-limit", "10", "--window-ms", "1000", "--ban-after", "10"});
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  // The fetcher believes in 6000 per minute: only the exchange's 429s can hold it back.
  InThreadFetcher fetcher(Options(planner, persister, sim, 4), (dir.path() / "rate").string(), {},
                          RateLimiterOptions{.weight_limit = 6000, .window_ms = 1000});
  std::vector<klines::KlineSliceKey> keys;
  for (int i = 0; i < 24; ++i) keys.push_back(Slice("BTCUSDT", 100 + i));
  DriveResult d = Drive(planner, persister, keys, 60000);
  REQUIRE(d.finished);
  for (const auto& k : keys) CHECK(d.results.at(k.composite_key()).outcome == "ok");
  auto c = sim.Counters();
  INFO(c.dump());
  CHECK(Sim::Ip(c, "429") > 0);
  CHECK(Sim::Ip(c, "418") == 0);
  CHECK(Sim::Ip(c, "bans") == 0);
  CHECK(c["duplicate_ok_windows"] == 0);
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("418: no request is sent while the ban lasts", "[sim]") {
  ScratchDir dir;
  Sim sim(dir,
          {"--weight-limit", "10", "--window-ms", "2000", "--ban-after", "0", "--ban-ms", "1000"});
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  const int concurrency = 4;
  InThreadFetcher fetcher(Options(planner, persister, sim, concurrency),
                          (dir.path() / "rate").string(), {},
                          RateLimiterOptions{.weight_limit = 6000, .window_ms = 2000});
  std::vector<klines::KlineSliceKey> keys;
  for (int i = 0; i < 12; ++i) keys.push_back(Slice("ETHUSDT", 200 + i));
  DriveResult d = Drive(planner, persister, keys, 60000);
  REQUIRE(d.finished);
  for (const auto& k : keys) CHECK(d.results.at(k.composite_key()).outcome == "ok");
  auto c = sim.Counters();
  INFO(c.dump());
  const int64_t bans = Sim::Ip(c, "bans");
  CHECK(bans >= 1);
  // Only requests already in flight when a ban began can meet it: after the first 418 every
  // worker waits for Retry-After.
  CHECK(Sim::Sub(c, "statuses", "418") <= bans * concurrency);
  CHECK(c["duplicate_ok_windows"] == 0);
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("three fetcher processes share one budget: no 429, no 418", "[sim][binary]") {
  ScratchDir dir;
  // Strict: any over-limit request is banned at once.
  Sim sim(dir, {"--weight-limit", "40", "--window-ms", "2000", "--ban-after", "0"});
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  std::vector<std::unique_ptr<qlir::testing::ChildProcess>> fetchers;
  for (int i = 0; i < 3; ++i) {
    fetchers.push_back(std::make_unique<qlir::testing::ChildProcess>(
        std::vector<std::string>{
            qlir::testing::BinaryPath("fetcher/fetcher"), "--planner=" + planner.endpoint(),
            "--persister=" + persister.endpoint(), "--base-url=" + sim.base_url(),
            "--concurrency=3", "--weight-limit=40", "--weight-window-ms=2000",
            "--window-grace-ms=1000", "--rate-state=" + (dir.path() / "rate").string(),
            "--fetcher-id=f" + std::to_string(i), "--heartbeat-ms=1000",
            "--reconnect-initial-ms=50", "--backoff-base-ms=1", "--backoff-max-ms=20"},
        dir.path() / ("fetcher" + std::to_string(i) + ".log")));
  }
  std::vector<klines::KlineSliceKey> keys;
  for (int i = 0; i < 45; ++i) keys.push_back(Slice(i % 2 ? "ETHUSDT" : "BTCUSDT", 300 + i));
  DriveResult d = Drive(planner, persister, keys, 80000);
  for (auto& f : fetchers) f->Signal(SIGTERM);
  for (auto& f : fetchers) CHECK(f->Wait(kWait) == std::optional<int>(0));
  INFO(qlir::testing::ReadLog(dir.path() / "fetcher0.log"));
  REQUIRE(d.finished);
  for (const auto& k : keys) CHECK(d.results.at(k.composite_key()).outcome == "ok");
  CHECK(d.done_by_fetcher.size() == 3);
  auto c = sim.Counters();
  INFO(c.dump());
  CHECK(Sim::Ip(c, "429") == 0);
  CHECK(Sim::Ip(c, "418") == 0);
  CHECK(Sim::Ip(c, "weight") == 90);
  CHECK(c["duplicate_ok_windows"] == 0);
}
