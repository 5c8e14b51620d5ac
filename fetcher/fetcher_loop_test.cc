// The fetcher loop on real loopback sockets against a real HTTP server (cpp-httplib), and the
// real binary for flags and SIGTERM. Deadlines are generous upper bounds, never expectations.
#include "fetcher/fetcher_loop.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <set>

#include "common/exit_codes.h"
#include "fetcher/fetcher_test_util.h"
#include "tests/process.h"
#include "tests/test_util.h"

using namespace qlir;
using namespace qlir::fetcher;
using namespace qlir::fetcher::testing;
using qlir::testing::ScratchDir;

namespace {

constexpr int kWait = 10000;         // upper bound for anything that should happen promptly
constexpr int64_t kIndex = 2787552;  // 1m slice of 10 starting 2023-01-01 00:00 UTC

FetcherOptions Options(const FakePlanner& planner, const FakePersister& persister,
                       const KlinesServer& http, int concurrency = 2) {
  FetcherOptions o =
      TestFetcherOptions(planner, persister, http.base_url(), "test-fetcher", concurrency);
  o.heartbeat_ms = 500;
  o.backoff_max_ms = 5;
  o.linger_ms = 1000;
  o.job.max_attempts = 3;
  return o;
}

wire::Job JobFor(uint64_t id, const klines::KlineSliceKey& k) {
  return wire::Job{id, "klines", k.composite_key()};
}

}  // namespace

TEST_CASE("READY, jobs to results then JOB_DONE, heartbeats when idle", "[fetcher_loop]") {
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  KlinesServer http;
  ScratchDir dir;
  InThreadFetcher fetcher(Options(planner, persister, http, 3), (dir.path() / "rate").string());

  std::string id;
  auto ready = planner.RecvType<wire::Ready>(kWait, &id);
  REQUIRE(ready);
  CHECK(ready->credits == 3);
  CHECK(ready->fetcher_id == "test-fetcher");

  std::set<std::string> keys;
  for (uint64_t j = 1; j <= 3; ++j) {
    auto k = MinuteKey("BTCUSDT", kIndex + j);
    keys.insert(k.composite_key());
    planner.Send(id, JobFor(j, k));
  }
  std::set<std::string> got;
  for (int i = 0; i < 3; ++i) {
    auto r = persister.Recv(kWait);
    REQUIRE(r);
    CHECK(r->outcome == "ok");  // 2023 is long closed by the server's clock
    CHECK(r->n_items == 10);
    CHECK(r->attempts == 1);
    CHECK(r->http_status == 200);
    CHECK(r->server_time_ms > 1672531200000);
    auto k = klines::ParseCompositeKey(r->key);
    REQUIRE(k.ok());
    CHECK(r->first_ts == k->start_ms);
    CHECK(r->url == klines::BuildKlineUrl(http.base_url(), *k));
    CHECK(r->body == KlinesServer::Candles(k->start_ms, k->end_ms, 10));
    got.insert(r->key);
  }
  CHECK(got == keys);
  std::set<uint64_t> done;
  for (int i = 0; i < 3; ++i) {
    auto d = planner.RecvType<wire::JobDone>(kWait);
    REQUIRE(d);
    CHECK(d->outcome == "ok");
    done.insert(d->job_id);
  }
  CHECK(done == std::set<uint64_t>{1, 2, 3});
  // Idle now: a heartbeat must come.
  CHECK(planner.RecvType<wire::Heartbeat>(kWait));
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("malformed messages are dropped and a bad key is answered JOB_DONE failed",
          "[fetcher_loop]") {
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  KlinesServer http;
  ScratchDir dir;
  InThreadFetcher fetcher(Options(planner, persister, http, 1), (dir.path() / "rate").string());
  std::string id;
  REQUIRE(planner.RecvType<wire::Ready>(kWait, &id));

  planner.SendRaw(id, "garbage");
  planner.SendRaw(id, "");
  planner.SendParts(id, {wire::Encode(JobFor(5, MinuteKey("BTCUSDT", kIndex))), "extra"});
  planner.Send(id, wire::Ready{"planner?", 9});
  planner.Send(id, wire::Job{6, "klines", "BTCUSDT:1m:bad"});
  auto d = planner.RecvType<wire::JobDone>(kWait);
  REQUIRE(d);
  CHECK(d->job_id == 6);
  CHECK(d->outcome == "failed");
  planner.Send(id, wire::Job{7, "trades", MinuteKey("BTCUSDT", kIndex).composite_key()});
  d = planner.RecvType<wire::JobDone>(kWait);
  REQUIRE(d);
  CHECK(d->job_id == 7);
  CHECK(d->outcome == "failed");

  // Still alive and with its one credit: a good job goes through.
  planner.Send(id, JobFor(8, MinuteKey("BTCUSDT", kIndex)));
  auto r = persister.Recv(kWait);
  REQUIRE(r);
  CHECK(r->outcome == "ok");
  d = planner.RecvType<wire::JobDone>(kWait);
  REQUIRE(d);
  CHECK(d->job_id == 8);
  CHECK(http.requests("BTCUSDT") == 1);  // the multi-frame JOB was not run
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("retries over real HTTP and 4xx fails at once with the exchange's message",
          "[fetcher_loop]") {
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  KlinesServer http;
  http.Script("ETHUSDT", {{500, "<html>500 Internal Server Error</html>"},
                          {504, "{\"code\":-1007,\"msg\":\"Timeout waiting for response\"}"}});
  http.Script("NOPEUSDT", {{400, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}"}});
  http.Script("BADUSDT", {{200, "<html>ok?</html>"}, {200, "[[1,2]]"}, {503, ""}});
  ScratchDir dir;
  InThreadFetcher fetcher(Options(planner, persister, http, 3), (dir.path() / "rate").string());
  std::string id;
  REQUIRE(planner.RecvType<wire::Ready>(kWait, &id));
  planner.Send(id, JobFor(1, MinuteKey("ETHUSDT", kIndex)));
  planner.Send(id, JobFor(2, MinuteKey("NOPEUSDT", kIndex)));
  planner.Send(id, JobFor(3, MinuteKey("BADUSDT", kIndex)));
  std::map<std::string, wire::FetchResult> results;
  for (int i = 0; i < 3; ++i) {
    auto r = persister.Recv(kWait);
    REQUIRE(r);
    results[r->key.substr(0, r->key.find(':'))] = *r;
  }
  CHECK(results["ETHUSDT"].outcome == "ok");
  CHECK(results["ETHUSDT"].attempts == 3);
  CHECK(results["NOPEUSDT"].outcome == "failed");
  CHECK(results["NOPEUSDT"].attempts == 1);
  CHECK(results["NOPEUSDT"].http_status == 400);
  CHECK(results["NOPEUSDT"].error == "HTTP 400: code -1121: Invalid symbol.");
  CHECK(results["BADUSDT"].outcome == "failed");
  CHECK(results["BADUSDT"].attempts == 3);
  CHECK(results["BADUSDT"].http_status == 503);
  CHECK(results["BADUSDT"].body.empty());
  CHECK(http.requests("NOPEUSDT") == 1);
  std::map<uint64_t, std::string> outcomes;
  for (int i = 0; i < 3; ++i) {
    auto d = planner.RecvType<wire::JobDone>(kWait);
    REQUIRE(d);
    outcomes[d->job_id] = d->outcome;
  }
  CHECK(outcomes == std::map<uint64_t, std::string>{{1, "ok"}, {2, "failed"}, {3, "failed"}});
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("a silent planner is dropped and READY is sent afresh and a restarted planner gets READY",
          "[fetcher_loop]") {
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  KlinesServer http;
  ScratchDir dir;
  FetcherOptions o = Options(planner, persister, http, 2);
  o.heartbeat_ms = 100;
  InThreadFetcher fetcher(o, (dir.path() / "rate").string());
  std::string first, second;
  REQUIRE(planner.RecvType<wire::Ready>(kWait, &first));
  // We never answer: after 3 heartbeat intervals the fetcher reconnects (a new socket, a new
  // identity) and says READY again.
  auto again = planner.RecvType<wire::Ready>(kWait, &second);
  REQUIRE(again);
  CHECK(again->credits == 2);
  CHECK(second != first);

  // The planner restarts on the same port.
  const std::string endpoint = planner.endpoint();
  planner.Close();
  planner.Bind(endpoint);
  std::string third;
  REQUIRE(planner.RecvType<wire::Ready>(kWait, &third));
  // And it works with the new planner.
  planner.Send(third, JobFor(1, MinuteKey("BTCUSDT", kIndex)));
  REQUIRE(persister.Recv(kWait));
  REQUIRE(planner.RecvType<wire::JobDone>(kWait));
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("starting before the planner and persister exist", "[fetcher_loop]") {
  zmq::context_t ctx;
  // Reserve two ports by binding, note them, close, start the fetcher, then bind again.
  std::string planner_ep, persister_ep;
  {
    FakePlanner p(ctx);
    FakePersister q(ctx);
    planner_ep = p.endpoint();
    persister_ep = q.endpoint();
  }
  KlinesServer http;
  ScratchDir dir;
  FetcherOptions o;
  o.planner = planner_ep;
  o.persister = persister_ep;
  o.heartbeat_ms = 100;
  o.reconnect_initial_ms = 50;
  o.concurrency = 1;
  o.job.base_url = http.base_url();
  InThreadFetcher fetcher(o, (dir.path() / "rate").string());
  FakePlanner planner(ctx, planner_ep);
  std::string id;
  REQUIRE(planner.RecvType<wire::Ready>(kWait, &id));
  planner.Send(id, JobFor(1, MinuteKey("BTCUSDT", kIndex)));
  REQUIRE(planner.RecvType<wire::JobDone>(kWait));  // result queued for the absent persister
  FakePersister persister(ctx, persister_ep);
  auto r = persister.Recv(kWait);
  REQUIRE(r);
  CHECK(r->outcome == "ok");
  CHECK(fetcher.Stop().ok());
}

TEST_CASE("stop hands back the job in hand and jobs beyond credit", "[fetcher_loop]") {
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  KlinesServer http;
  // Always 500, with a long backoff: the job sits in its backoff wait when the stop comes.
  std::vector<KlinesServer::Answer> errors(10, {500, "down"});
  http.Script("BTCUSDT", errors);
  std::atomic<int> hits{0};
  http.hook = [&](const httplib::Request&) { ++hits; };
  ScratchDir dir;
  FetcherOptions o = Options(planner, persister, http, 1);
  o.backoff_base_ms = 600000;
  o.backoff_max_ms = 600000;
  InThreadFetcher fetcher(o, (dir.path() / "rate").string());
  std::string id;
  REQUIRE(planner.RecvType<wire::Ready>(kWait, &id));
  planner.Send(id, JobFor(1, MinuteKey("BTCUSDT", kIndex)));
  planner.Send(id, JobFor(2, MinuteKey("BTCUSDT", kIndex + 1)));  // beyond the one credit
  auto back = planner.RecvType<wire::JobReturn>(kWait);
  REQUIRE(back);
  CHECK(back->job_id == 2);
  const int64_t deadline = SteadyMs() + kWait;
  while (hits.load() < 1 && SteadyMs() < deadline) {
    std::this_thread::yield();
  }
  REQUIRE(hits.load() == 1);
  CHECK(fetcher.Stop().ok());  // returns although the backoff had 5+ minutes to go
  back = planner.RecvType<wire::JobReturn>(kWait);
  REQUIRE(back);
  CHECK(back->job_id == 1);
  CHECK_FALSE(persister.Recv(200));
}

TEST_CASE("the binary: bad flags exit 64, SIGTERM exits 0 after finishing",
          "[fetcher_loop][binary]") {
  ScratchDir dir;
  const std::string bin = qlir::testing::BinaryPath("fetcher/fetcher");
  {
    qlir::testing::ChildProcess p({bin, "--concurrency=zero"}, dir.path() / "bad.log");
    auto rc = p.Wait(kWait);
    REQUIRE(rc);
    CHECK(*rc == qlir::kExitUsage);
    CHECK(qlir::testing::ReadLog(dir.path() / "bad.log").find("--concurrency") !=
          std::string::npos);
  }
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  KlinesServer http;
  qlir::testing::ChildProcess p(
      {bin, "--planner=" + planner.endpoint(), "--persister=" + persister.endpoint(),
       "--base-url=" + http.base_url(), "--concurrency=2",
       "--rate-state=" + (dir.path() / "rate").string(), "--fetcher-id=bin"},
      dir.path() / "fetcher.log");
  std::string id;
  auto ready = planner.RecvType<wire::Ready>(kWait, &id);
  REQUIRE(ready);
  CHECK(ready->fetcher_id == "bin");
  planner.Send(id, JobFor(1, MinuteKey("BTCUSDT", kIndex)));
  auto r = persister.Recv(kWait);
  REQUIRE(r);
  CHECK(r->outcome == "ok");
  REQUIRE(planner.RecvType<wire::JobDone>(kWait));
  p.Signal(SIGTERM);
  auto rc = p.Wait(kWait);
  REQUIRE(rc);
  CHECK(*rc == 0);
  const std::string log = qlir::testing::ReadLog(dir.path() / "fetcher.log");
  INFO(log);
  CHECK(log.find("INFO fetcher[bin]: key=BTCUSDT:1m:") != std::string::npos);
  CHECK(log.find("stopped") != std::string::npos);
}

TEST_CASE("one kept-alive connection per worker, gzip offered, project User-Agent",
          "[fetcher_loop][http]") {
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  KlinesServer http;
  std::mutex mu;
  std::vector<int> ports;
  std::vector<std::string> agents, encodings;
  http.hook = [&](const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu);
    ports.push_back(req.remote_port);
    agents.push_back(req.get_header_value("User-Agent"));
    encodings.push_back(req.get_header_value("Accept-Encoding"));
  };
  ScratchDir dir;
  InThreadFetcher fetcher(Options(planner, persister, http, 1), (dir.path() / "rate").string());
  std::string id;
  REQUIRE(planner.RecvType<wire::Ready>(kWait, &id));
  for (uint64_t j = 1; j <= 4; ++j) {
    planner.Send(id, JobFor(j, MinuteKey("BTCUSDT", kIndex + j)));
    REQUIRE(persister.Recv(kWait));
    REQUIRE(planner.RecvType<wire::JobDone>(kWait));
  }
  CHECK(fetcher.Stop().ok());
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(ports.size() == 4);  // klines only: /api/v3/time does not pass the hook
  CHECK(std::set<int>(ports.begin(), ports.end()).size() == 1);  // one TCP connection
  for (const auto& a : agents) CHECK(a == kUserAgent);
  for (const auto& e : encodings) CHECK(e.find("gzip") != std::string::npos);
}

TEST_CASE("a JOB_DONE finished while the planner was away reaches the restarted planner",
          "[fetcher_loop]") {
  zmq::context_t ctx;
  FakePlanner planner(ctx);
  FakePersister persister(ctx);
  KlinesServer http;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  http.hook = [&](const httplib::Request&) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(kWait), [&] { return release; });
  };
  ScratchDir dir;
  FetcherOptions o = Options(planner, persister, http, 1);
  o.heartbeat_ms = 100;
  InThreadFetcher fetcher(o, (dir.path() / "rate").string());
  std::string id;
  REQUIRE(planner.RecvType<wire::Ready>(kWait, &id));
  planner.Send(id, JobFor(41, MinuteKey("BTCUSDT", kIndex)));
  const std::string endpoint = planner.endpoint();
  planner.Close();  // the planner dies with the job leased out
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  REQUIRE(persister.Recv(kWait));  // the result does not wait for the planner
  planner.Bind(endpoint);
  auto ready = planner.RecvType<wire::Ready>(kWait);
  REQUIRE(ready);
  CHECK(ready->credits == 1);
  auto done = planner.RecvType<wire::JobDone>(kWait);
  REQUIRE(done);
  CHECK(done->job_id == 41);
  CHECK(done->outcome == "ok");
  CHECK(fetcher.Stop().ok());
}
