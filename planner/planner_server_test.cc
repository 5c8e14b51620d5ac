// The planner on real sockets: RunPlanner in a thread with a scripted exchange (FakeHttpClient),
// a fake persister ROUTER and fake fetcher DEALERs on ipc:// endpoints in a scratch directory.
// Every wait polls a socket with a deadline; nothing sleeps, nothing asserts on timing.
#include "planner/planner_server.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "common/log.h"
#include "common/wire.h"
#include "planner/socket_fakes.h"
#include "tests/fake_http_client.h"
#include "tests/log_capture.h"
#include "tests/test_util.h"

namespace qlir::planner {
namespace {

using ::qlir::testing::FakeHttpClient;
using ::qlir::testing::LogCapture;
using std::chrono::milliseconds;
using testing::FakeFetcher;
using testing::FakePersister;

constexpr int64_t kSpan = 60000LL * 1000;  // one 1m slice
const std::string kBase = "http://exchange.test";

// A planner running in a thread; Stop() is what SIGTERM does in main.cc.
class PlannerThread {
 public:
  PlannerThread(Options o, FakeHttpClient* http) : options_(std::move(o)) {
    REQUIRE(pipe(pipe_) == 0);
    thread_ = std::thread([this, http] {
      RealClock clock;
      result_ = RunPlanner(options_, *http, clock, pipe_[0]);
      done_ = true;
    });
  }
  ~PlannerThread() {
    Stop();
    if (thread_.joinable()) thread_.join();
    close(pipe_[0]);
    close(pipe_[1]);
  }
  void Stop() {
    const char b = 's';
    [[maybe_unused]] ssize_t n = write(pipe_[1], &b, 1);
  }
  Result<int> Join() {
    thread_.join();
    return result_;
  }
  bool done() const { return done_; }

 private:
  Options options_;
  int pipe_[2] = {-1, -1};
  std::thread thread_;
  Result<int> result_ = Status::Error("not run");
  std::atomic<bool> done_{false};
};

struct Rig {
  explicit Rig(int slices, std::vector<std::string> symbols = {"BTCUSDT"}) {
    http.ScriptExchange(kBase, {"BTCUSDT", "ETHUSDT"}, 200 * kSpan + 5, 10 * kSpan);
    options.symbols = std::move(symbols);
    options.intervals = {"1m"};
    options.start_ms = 100 * kSpan;
    options.end_ms = (100 + slices) * kSpan - 1;
    options.base_url = kBase;
    options.jobs_bind = "ipc://" + (dir.path() / "jobs").string();
    options.persister = "ipc://" + (dir.path() / "control").string();
    options.once = true;
    options.heartbeat_ms = 100;
    options.status_retry_ms = 300;
    options.progress_ms = 500;
    options.rate_state = (dir.path() / "rate.state").string();
    options.exchange_backoff_max_ms = 200;
  }
  std::string Key(int i) const {
    return "BTCUSDT:1m:" + std::to_string((100 + i) * kSpan) + "-" +
           std::to_string((101 + i) * kSpan - 1) + ":1000";
  }
  qlir::testing::ScratchDir dir;
  FakeHttpClient http;
  Options options;
  zmq::context_t ctx;
};

TEST_CASE("PlannerServer: jobs only against credits - DURABLE ends leases - once-mode exits 0") {
  Rig rig(3);
  FakePersister persister(rig.ctx, rig.options.persister);
  PlannerThread planner(rig.options, &rig.http);
  persister.ServeStatus();
  FakeFetcher fetcher(rig.ctx, rig.options.jobs_bind, "F1");
  fetcher.Send(wire::Ready{"F1", 2});
  auto j1 = fetcher.NextJob();
  auto j2 = fetcher.NextJob();
  REQUIRE(j1);
  REQUIRE(j2);
  CHECK(j1->key == rig.Key(0));  // oldest first
  CHECK(j2->key == rig.Key(1));
  // Two planner heartbeats later there is still no third job: no credit left.
  CHECK(fetcher.JobsUntilHeartbeats(2).empty());
  fetcher.Send(wire::JobDone{j1->job_id, j1->key, "ok"});
  auto j3 = fetcher.NextJob();
  REQUIRE(j3);
  CHECK(j3->key == rig.Key(2));
  for (const auto& j : {*j1, *j2, *j3}) persister.Durable(j.key, "ok");
  fetcher.Send(wire::JobDone{j2->job_id, j2->key, "ok"});
  fetcher.Send(wire::JobDone{j3->job_id, j3->key, "ok"});
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
  CHECK(persister.hellos() >= 1);
}

TEST_CASE("PlannerServer: statuses asked page after page - jobs for what no page names") {
  Rig rig(5);
  FakePersister persister(rig.ctx, rig.options.persister);
  PlannerThread planner(rig.options, &rig.http);
  // Pages of two: keys 0 and 2, then key 3 (the last page).
  CHECK(persister.ServeStatus({{rig.Key(3), "ok"}, {rig.Key(0), "ok"}, {rig.Key(2), "ok"}}, 2) ==
        2);
  FakeFetcher fetcher(rig.ctx, rig.options.jobs_bind, "F1");
  fetcher.Send(wire::Ready{"F1", 5});
  auto j1 = fetcher.NextJob();
  auto j2 = fetcher.NextJob();
  REQUIRE(j1);
  REQUIRE(j2);
  CHECK(j1->key == rig.Key(1));
  CHECK(j2->key == rig.Key(4));
  for (const auto& j : {*j1, *j2}) {
    fetcher.Send(wire::JobDone{j.job_id, j.key, "ok"});
    persister.Durable(j.key, "ok");
  }
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
}

TEST_CASE("PlannerServer: a silent fetcher's job is handed to another fetcher") {
  Rig rig(1);
  FakePersister persister(rig.ctx, rig.options.persister);
  PlannerThread planner(rig.options, &rig.http);
  persister.ServeStatus();
  FakeFetcher silent(rig.ctx, rig.options.jobs_bind, "SILENT");
  silent.Send(wire::Ready{"SILENT", 1});
  auto job = silent.NextJob();
  REQUIRE(job);
  // From now on `silent` says nothing. `other` heartbeats until the job comes to it.
  FakeFetcher other(rig.ctx, rig.options.jobs_bind, "OTHER");
  other.Send(wire::Ready{"OTHER", 1});
  auto again = other.NextJob();
  REQUIRE(again);
  CHECK(again->key == job->key);
  CHECK(again->job_id != job->job_id);
  other.Send(wire::JobDone{again->job_id, again->key, "ok"});
  persister.Durable(again->key, "ok");
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
}

TEST_CASE("PlannerServer: once-mode exits 2 when a slice fails for good") {
  Rig rig(2);
  rig.options.max_failures = 2;
  rig.options.retry_base_ms = 10;
  rig.options.retry_max_ms = 20;
  LogCapture log(/*echo=*/true);
  FakePersister persister(rig.ctx, rig.options.persister);
  PlannerThread planner(rig.options, &rig.http);
  persister.ServeStatus({{rig.Key(0), "ok"}});
  FakeFetcher fetcher(rig.ctx, rig.options.jobs_bind, "F1");
  fetcher.Send(wire::Ready{"F1", 1});
  int attempts = 0;
  while (!planner.done() && attempts < 10) {
    auto job = fetcher.NextJob(milliseconds(2000));
    if (!job) continue;
    CHECK(job->key == rig.Key(1));
    ++attempts;
    fetcher.Send(wire::JobDone{job->job_id, job->key, "failed"});
    persister.Durable(job->key, "failed");
  }
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 2);
  CHECK(attempts == 2);
  CHECK(log.Contains("failed for good key=" + rig.Key(1)));
}

TEST_CASE("PlannerServer: an unknown symbol is named and the others proceed - exit 2") {
  Rig rig(1, {"NOPEUSDT", "BTCUSDT"});
  LogCapture log(/*echo=*/true);
  FakePersister persister(rig.ctx, rig.options.persister);
  PlannerThread planner(rig.options, &rig.http);
  persister.ServeStatus({{rig.Key(0), "ok"}});
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 2);  // complete, but a symbol was skipped
  CHECK(log.Contains("unknown symbol NOPEUSDT"));
  CHECK(log.Contains("skipped 1 unknown symbol(s): NOPEUSDT"));
}

TEST_CASE("PlannerServer: no known symbol at all is bad usage naming them") {
  Rig rig(1, {"NOPEUSDT", "NADAUSDT"});
  LogCapture log;
  RealClock clock;
  auto result = RunPlanner(rig.options, rig.http, clock, -1);
  REQUIRE(result.ok());
  CHECK(*result == 64);
  CHECK(log.Contains("bad usage: --symbols: no known symbol left (unknown: NOPEUSDT, NADAUSDT)"));
}

TEST_CASE("PlannerServer: exchangeInfo failing keeps the sockets up and fetchers are answered") {
  Rig rig(1);
  LogCapture log;
  // Five failures of each kind before the exchange answers.
  for (int i = 0; i < 2; ++i) {
    rig.http.QueueFor(kBase + "/api/v3/exchangeInfo",
                      qlir::testing::HttpAnswer(503, "<html>503</html>"));
    rig.http.QueueFor(kBase + "/api/v3/exchangeInfo",
                      qlir::testing::HttpAnswer(200, "{\"symbols\":[}{"));
    rig.http.QueueFor(kBase + "/api/v3/exchangeInfo",
                      qlir::testing::TransportError("connection reset"));
  }
  rig.http.QueueFor(kBase + "/api/v3/time", qlir::testing::HttpAnswer(504, "{}"));
  FakePersister persister(rig.ctx, rig.options.persister);
  FakeFetcher fetcher(rig.ctx, rig.options.jobs_bind, "F1");
  fetcher.Send(wire::Ready{"F1", 1});  // before the planner is up
  PlannerThread planner(rig.options, &rig.http);
  persister.ServeStatus();
  auto job = fetcher.NextJob();  // the READY sent while it started counts
  REQUIRE(job);
  persister.Durable(job->key, "ok");
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
  CHECK(log.Contains("exchangeInfo: attempt 1 failed"));
  CHECK(log.Contains("time: attempt 1 failed"));
}

TEST_CASE("PlannerServer: --once gives up on an unreachable exchange with exit 75") {
  Rig rig(1);
  rig.options.give_up_after_ms = 500;
  rig.http.SetTransportError(kBase + "/api/v3/exchangeInfo", "connection refused");
  LogCapture log;
  RealClock clock;
  auto result = RunPlanner(rig.options, rig.http, clock, -1);
  REQUIRE(result.ok());
  CHECK(*result == 75);
  CHECK(log.Contains("giving up"));
}

TEST_CASE("PlannerServer: a stop while the exchange is unreachable exits 3 with --once") {
  Rig rig(1);
  rig.http.SetTransportError(kBase + "/api/v3/exchangeInfo", "connection refused");
  LogCapture log;
  PlannerThread planner(rig.options, &rig.http);
  REQUIRE(log.WaitFor("exchangeInfo: attempt 2 failed"));
  planner.Stop();
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 3);
}

TEST_CASE("PlannerServer: a restarted planner takes the first candles from its listing cache") {
  Rig rig(1);
  rig.options.listing_cache = (rig.dir.path() / "listings.json").string();
  const std::string listing =
      kBase + "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=0&limit=1";
  for (int run = 0; run < 2; ++run) {
    FakePersister persister(rig.ctx, rig.options.persister);
    const size_t before = rig.http.requests().size();
    PlannerThread planner(rig.options, &rig.http);
    persister.ServeStatus({{rig.Key(0), "ok"}});
    auto result = planner.Join();
    REQUIRE(result.ok());
    CHECK(*result == 0);
    const auto requests = rig.http.requests();
    const auto asked =
        std::count(requests.begin() + static_cast<std::ptrdiff_t>(before), requests.end(), listing);
    CHECK(asked == (run == 0 ? 1 : 0));
  }
}

TEST_CASE("PlannerServer: the learned weight limit travels in every JOB") {
  Rig rig(1);
  rig.http.Set(
      kBase + "/api/v3/exchangeInfo", 200,
      R"({"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"SECOND","intervalNum":10,"limit":200}],)"
      R"("symbols":[{"symbol":"BTCUSDT","status":"TRADING"}]})");
  FakePersister persister(rig.ctx, rig.options.persister);
  PlannerThread planner(rig.options, &rig.http);
  persister.ServeStatus();
  FakeFetcher fetcher(rig.ctx, rig.options.jobs_bind, "F1");
  fetcher.Send(wire::Ready{"F1", 1});
  auto job = fetcher.NextJob();
  REQUIRE(job);
  CHECK(job->weight_limit == 200);
  CHECK(job->weight_window_ms == 10000);
  persister.Durable(job->key, "ok");
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
}

TEST_CASE("PlannerServer: garbage on the jobs socket is dropped - the planner carries on") {
  Rig rig(1);
  LogCapture log(/*echo=*/true);
  FakePersister persister(rig.ctx, rig.options.persister);
  PlannerThread planner(rig.options, &rig.http);
  persister.ServeStatus();
  FakeFetcher fetcher(rig.ctx, rig.options.jobs_bind, "F1");
  fetcher.SendRaw({"\xff\x00garbage"});
  fetcher.SendRaw({std::string()});
  fetcher.SendRaw({"a", "b", "c"});
  fetcher.SendRaw({wire::Encode(wire::Ready{"F1", 1}).substr(0, 5)});  // truncated
  fetcher.Send(wire::Durable{"klines", {}});                           // wrong direction
  fetcher.Send(wire::Ready{"F1", 1});
  auto job = fetcher.NextJob();
  REQUIRE(job);
  CHECK(job->key == rig.Key(0));
  persister.Durable(job->key, "ok");
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
  CHECK(log.Contains("dropped a 4-frame message"));  // identity + 3
  CHECK(log.Contains("dropped a bad message"));
}

TEST_CASE("PlannerServer: statuses are asked until the persister is up - stop exits 0") {
  Rig rig(2);
  rig.options.once = false;
  PlannerThread planner(rig.options, &rig.http);
  FakeFetcher fetcher(rig.ctx, rig.options.jobs_bind, "F1");
  fetcher.Send(wire::Ready{"F1", 2});
  // The planner is serving (it heartbeats) but hands out nothing without statuses.
  CHECK(fetcher.JobsUntilHeartbeats(3).empty());
  FakePersister persister(rig.ctx, rig.options.persister);
  persister.ServeStatus({{rig.Key(0), "ok"}});
  auto job = fetcher.NextJob();
  REQUIRE(job);
  CHECK(job->key == rig.Key(1));
  planner.Stop();  // what SIGTERM does
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
}

TEST_CASE("PlannerServer: JOB_RETURN hands the job out again at once") {
  Rig rig(1);
  FakePersister persister(rig.ctx, rig.options.persister);
  PlannerThread planner(rig.options, &rig.http);
  persister.ServeStatus();
  FakeFetcher a(rig.ctx, rig.options.jobs_bind, "A");
  a.Send(wire::Ready{"A", 1});
  auto job = a.NextJob();
  REQUIRE(job);
  a.Send(wire::JobReturn{job->job_id, job->key});
  a.Send(wire::Ready{"A", 1});
  auto again = a.NextJob();
  REQUIRE(again);
  CHECK(again->key == job->key);
  persister.Durable(again->key, "ok");
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
}

TEST_CASE("PlannerServer: a restarted persister is asked again only for jobs awaiting DURABLE") {
  Rig rig(2);
  FakeFetcher fetcher(rig.ctx, rig.options.jobs_bind, "F1");
  PlannerThread planner(rig.options, &rig.http);
  std::optional<wire::Job> done_job;
  {
    FakePersister persister(rig.ctx, rig.options.persister);
    persister.ServeStatus();
    fetcher.Send(wire::Ready{"F1", 2});
    auto a = fetcher.NextJob();
    auto b = fetcher.NextJob();
    REQUIRE(a);
    REQUIRE(b);
    persister.Durable(a->key, "ok");  // a is settled; b's result will be lost with the persister
    fetcher.Send(wire::JobDone{a->job_id, a->key, "ok"});
    fetcher.Send(wire::JobDone{b->job_id, b->key, "ok"});
    done_job = b;
    // Make sure the planner has seen both JOB_DONEs: its heartbeats follow them.
    fetcher.JobsUntilHeartbeats(2);
  }  // the persister goes away
  FakePersister restarted(rig.ctx, rig.options.persister);
  // The restarted persister does not know b: the planner asks, and hands b out again.
  restarted.ServeStatus({});
  // The fetcher said nothing meanwhile and may have been counted dead: like a real one, it
  // says READY again (both its slots are free).
  fetcher.Send(wire::Ready{"F1", 2});
  auto again = fetcher.NextJob();
  REQUIRE(again);
  CHECK(again->key == done_job->key);
  restarted.Durable(again->key, "ok");
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
}

TEST_CASE("PlannerServer: a restarted persister is not asked again when no job awaits DURABLE") {
  Rig rig(1);
  rig.options.once = false;
  LogCapture log(/*echo=*/true);
  PlannerThread planner(rig.options, &rig.http);
  {
    FakePersister persister(rig.ctx, rig.options.persister);
    persister.ServeStatus({{rig.Key(0), "ok"}});
    // The planner has its statuses before this persister goes away.
    REQUIRE(log.WaitFor("statuses of BTCUSDT/1m"));
  }
  FakePersister restarted(rig.ctx, rig.options.persister);
  // HELLOs come every heartbeat; no STATUS_REQUEST comes among them.
  auto m = restarted.Next(std::chrono::milliseconds(1500));
  INFO((m ? std::string(wire::TypeName(wire::TypeOf(*m))) : std::string("nothing")));
  CHECK(!m);
  CHECK(restarted.hellos() >= 2);
  planner.Stop();
  auto result = planner.Join();
  REQUIRE(result.ok());
  CHECK(*result == 0);
  CHECK(log.Contains("no job awaits DURABLE"));
}

}  // namespace
}  // namespace qlir::planner
