#include "planner/coordinator.h"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <set>

#include "common/clock.h"
#include "common/log.h"

namespace qlir::planner {
namespace {

constexpr int64_t kSpan = 60000LL * 1000;  // one 1m slice
constexpr int64_t kT0 = 100 * kSpan;       // the exchange's now when the test starts

// A coordinator over 1m series covering [kT0 - n*kSpan, end] (by default all closed, and --end
// given so that the range does not grow), driven by a manual clock; the exchange clock is the
// local clock + kT0.
struct Rig {
  explicit Rig(CoordinatorConfig config, int n = 3, std::vector<std::string> symbols = {"AAA"},
               int64_t end = kT0 - 1, bool follow = false) {
    SetLogLevel(LogLevel::kWarn);
    if (!follow) config.end_ms = end;
    Universe u;
    for (const auto& s : symbols) REQUIRE(u.AddSeries(s, "1m", kT0 - n * kSpan, end).ok());
    ExchangeClock ex;
    ex.SetOffset(kT0);
    c = std::make_unique<Coordinator>(config, std::move(u), ex);
    c->Start(clock.MonotonicNowMs(), &out);
  }
  std::string Key(uint32_t s, int64_t i) const {
    return c->universe().Key({s, c->universe().first_index(s) + i});
  }
  void Reply(uint32_t s, std::vector<wire::SliceState> known = {}) {
    const auto& u = c->universe();
    c->OnPersisterMessage(
        wire::StatusReply{c->status_request_id(s), "klines", u.symbol(s), u.interval(s), "", known},
        clock.MonotonicNowMs(), &out);
  }
  void Fetcher(const std::string& id, const wire::Message& m) {
    c->OnFetcherMessage(id, m, clock.MonotonicNowMs(), &out);
  }
  void Durable(const std::string& key, const std::string& status) {
    c->OnPersisterMessage(wire::Durable{"klines", {{key, status}}}, clock.MonotonicNowMs(), &out);
  }
  // Tick + Dispatch; returns the jobs sent, per fetcher identity, and keeps other messages.
  std::vector<std::pair<std::string, wire::Job>> Step() {
    for (auto& m : out.to_persister) sent.push_back(std::move(m));
    out.clear();
    c->Tick(clock.MonotonicNowMs(), &out);
    c->Dispatch(clock.MonotonicNowMs(), &out);
    std::vector<std::pair<std::string, wire::Job>> jobs;
    for (auto& [id, m] : out.to_fetchers) {
      if (auto* j = std::get_if<wire::Job>(&m)) jobs.emplace_back(id, *j);
    }
    return jobs;
  }
  size_t StatusRequests() const {
    size_t n = 0;
    for (const auto& m : out.to_persister) n += std::holds_alternative<wire::StatusRequest>(m);
    return n;
  }

  ManualClock clock;
  Outbox out;
  std::vector<wire::Message> sent;  // to the persister, before the last Step
  std::unique_ptr<Coordinator> c;
};

CoordinatorConfig Config() {
  CoordinatorConfig c;
  c.heartbeat_ms = 100;
  c.lease_timeout_ms = 10000;
  c.durable_wait_ms = 2000;
  c.refresh_ms = 5000;
  c.status_retry_ms = 1000;
  c.progress_ms = 1000000;
  c.retry_base_ms = 500;
  c.retry_max_ms = 4000;
  c.max_failures = 3;
  return c;
}

TEST_CASE("Coordinator subscribes - then asks each series' statuses - and retries unanswered") {
  Rig r(Config(), 2, {"AAA", "BBB"});
  REQUIRE(r.out.to_persister.size() == 3);
  CHECK(std::holds_alternative<wire::Hello>(r.out.to_persister[0]));
  CHECK(r.StatusRequests() == 2);
  r.Reply(0);
  r.clock.Advance(1000);
  r.Step();
  CHECK(r.StatusRequests() == 1);  // only BBB is asked again
  CHECK(std::get<wire::StatusRequest>(r.out.to_persister.back()).symbol == "BBB");
}

TEST_CASE("Coordinator asks the statuses of a few series at a time - patiently while answered") {
  auto config = Config();
  config.status_window = 2;
  Rig r(config, 2, {"AAA", "BBB", "CCC", "DDD"});
  auto asked = [&] {
    std::vector<std::string> symbols;
    for (const auto& m : r.out.to_persister) {
      if (auto* q = std::get_if<wire::StatusRequest>(&m)) symbols.push_back(q->symbol);
    }
    return symbols;
  };
  CHECK(asked() == std::vector<std::string>{"AAA", "BBB"});
  r.Step();
  CHECK(asked().empty());  // two passes under way: the window is full
  r.clock.Advance(600);
  r.Reply(0);
  r.Step();
  CHECK(asked() == std::vector<std::string>{"CCC"});  // AAA's pass ended: one more starts
  CHECK(r.c->ready(0));
  // BBB was asked 600 ms ago, CCC now. The persister answered 400 ms later (AAA, ahead of BBB
  // in its queue): BBB is not asked again 1000 ms after its request, but 1000 ms after that
  // answer, when the persister has been silent for the whole gap.
  r.clock.Advance(400);
  r.Step();
  CHECK(asked().empty());
  r.clock.Advance(599);
  r.Step();
  CHECK(asked().empty());
  r.clock.Advance(1);
  r.Step();
  CHECK(asked() == std::vector<std::string>{"BBB", "CCC"});  // silent 1000 ms: both again
  CHECK_FALSE(r.c->ready(3));
  r.Reply(1);
  r.Reply(2);
  r.Step();
  CHECK(asked() == std::vector<std::string>{"DDD"});
  r.Reply(3);
  for (uint32_t s = 0; s < 4; ++s) CHECK(r.c->ready(s));
}

TEST_CASE("Coordinator hands out only the missing - failed and partial slices - against credits") {
  Rig r(Config(), 4);
  r.Reply(0, {{r.Key(0, 0), "ok"}, {r.Key(0, 2), "failed"}, {r.Key(0, 3), "partial"}});
  CHECK(r.Step().empty());  // no fetcher, no credit
  r.Fetcher("f1", wire::Ready{"F1", 2});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 2);                 // never more than the credits
  CHECK(jobs[0].second.key == r.Key(0, 1));  // oldest first
  CHECK(jobs[1].second.key == r.Key(0, 2));
  CHECK(r.Step().empty());
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);  // JOB_DONE gave one credit back
  CHECK(jobs[0].second.key == r.Key(0, 3));
  CHECK(r.c->leases().size() == 3);
}

TEST_CASE("Coordinator interleaves series fairly") {
  Rig r(Config(), 3, {"AAA", "BBB"});
  r.Reply(0);
  r.Reply(1);
  r.Fetcher("f1", wire::Ready{"F1", 4});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 4);
  CHECK(jobs[0].second.key == r.Key(0, 0));
  CHECK(jobs[1].second.key == r.Key(1, 0));
  CHECK(jobs[2].second.key == r.Key(0, 1));
  CHECK(jobs[3].second.key == r.Key(1, 1));
}

TEST_CASE("Coordinator: DURABLE ends the lease - once-mode exits 0 when all ok") {
  auto config = Config();
  config.once = true;
  Rig r(config, 2);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 5});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 2);
  CHECK(!r.c->Finished(r.clock.MonotonicNowMs()));
  for (auto& [id, j] : jobs) {
    r.Fetcher(id, wire::JobDone{j.job_id, j.key, "ok"});
    r.Durable(j.key, "ok");
  }
  CHECK(r.c->leases().size() == 0);
  r.clock.Advance(20000);  // well past every timeout: nothing comes back
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());
  CHECK(r.c->Finished(r.clock.MonotonicNowMs()) == 0);
  CHECK(r.c->jobs_rehanded() == 0);
}

TEST_CASE("Coordinator: JOB_DONE without DURABLE - statuses asked - then re-handed at the head") {
  Rig r(Config(), 3);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  const auto first = jobs[0].second;
  r.Fetcher("f1", wire::JobDone{first.job_id, first.key, "ok"});
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);  // the next slice
  r.clock.Advance(1999);
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.Durable(jobs[0].second.key, "ok");
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);  // third slice; first still awaits its DURABLE
  const auto third = jobs[0].second;
  r.clock.Advance(1);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  // The wait ran out: the persister is asked first, nothing is fetched again yet.
  CHECK(r.Step().empty());
  CHECK(r.StatusRequests() == 1);
  // It knows nothing of the first slice: its result was lost, so it goes out again, first.
  r.Reply(0, {{r.Key(0, 1), "ok"}});
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].second.key == first.key);
  CHECK(jobs[0].second.job_id != first.job_id);
  // The third: JOB_DONE, no DURABLE, and the persister does not answer: re-handed after
  // another wait.
  r.Fetcher("f1", wire::JobDone{third.job_id, third.key, "ok"});
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.Durable(jobs[0].second.key, "ok");
  r.clock.Advance(2000);
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());
  CHECK(r.StatusRequests() == 1);
  r.clock.Advance(2000);
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].second.key == third.key);
}

TEST_CASE("Coordinator: JOB_DONE without DURABLE - the status reply settles it without a refetch") {
  auto config = Config();
  config.once = true;
  Rig r(config, 1);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.clock.Advance(2000);
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());
  CHECK(r.StatusRequests() == 1);
  r.Reply(0, {{jobs[0].second.key, "ok"}});  // the notice was lost, not the result
  CHECK(r.c->leases().size() == 0);
  r.clock.Advance(config.heartbeat_ms);  // notices that may follow the reply
  CHECK(r.c->Finished(r.clock.MonotonicNowMs()) == 0);
  CHECK(r.c->jobs_handed() == 1);
}

TEST_CASE("Coordinator: a silent fetcher's jobs go to another fetcher") {
  Rig r(Config(), 1);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].first == "f1");
  r.Fetcher("f2", wire::Ready{"F2", 1});
  for (int i = 0; i < 3; ++i) {
    r.clock.Advance(100);
    r.Fetcher("f2", wire::Heartbeat{"F2"});
    jobs = r.Step();
    if (!jobs.empty()) break;
  }
  REQUIRE(jobs.size() == 1);  // after 3 silent heartbeat intervals
  CHECK(jobs[0].first == "f2");
  CHECK(jobs[0].second.key == r.Key(0, 0));
  CHECK(!r.c->ledger().Known("f1"));
  // A late JOB_DONE from the dead fetcher's job changes nothing.
  r.Fetcher("f1", wire::JobDone{1, r.Key(0, 0), "ok"});
  CHECK(r.c->leases().size() == 1);
}

TEST_CASE("Coordinator: JOB_RETURN puts the job back at once - unreachable fetcher too") {
  Rig r(Config(), 2);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  r.Fetcher("f1", wire::JobReturn{jobs[0].second.job_id, jobs[0].second.key});
  r.Fetcher("f2", wire::Ready{"F2", 1});
  auto again = r.Step();
  REQUIRE(again.size() == 1);
  CHECK(again[0].first == "f2");
  CHECK(again[0].second.key == jobs[0].second.key);
  r.c->OnFetcherUnreachable("f2", r.clock.MonotonicNowMs());
  r.Fetcher("f3", wire::Ready{"F3", 1});
  auto third = r.Step();
  REQUIRE(third.size() == 1);
  CHECK(third[0].second.key == jobs[0].second.key);
}

TEST_CASE("Coordinator: lease timeout re-hands - a job that could not be sent goes back") {
  Rig r(Config(), 1);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 2});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  r.c->OnJobNotSent("f1", jobs[0].second.job_id, r.clock.MonotonicNowMs());
  CHECK(r.Step().empty());  // f1 has no credit left after EAGAIN
  r.Fetcher("f1", wire::Ready{"F1", 1});
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  for (int i = 0; i < 100; ++i) {  // keep f1 alive, never durable
    r.clock.Advance(100);
    r.Fetcher("f1", wire::Heartbeat{"F1"});
    r.Step();
  }
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto again = r.Step();
  REQUIRE(again.size() == 1);
  CHECK(again[0].second.key == jobs[0].second.key);
  CHECK(r.c->jobs_rehanded() == 2);
}

TEST_CASE("Coordinator: failed slices back off - then fail for good - once-mode exits 2") {
  auto config = Config();
  config.once = true;
  Rig r(config, 2);
  r.Reply(0, {{r.Key(0, 1), "ok"}});
  r.Fetcher("f1", wire::Ready{"F1", 1});
  int64_t expected_delay = 500;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto jobs = r.Step();
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].second.key == r.Key(0, 0));
    r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "failed"});
    r.Durable(jobs[0].second.key, "failed");
    if (attempt == 3) break;
    r.clock.Advance(expected_delay - 1);
    r.Fetcher("f1", wire::Heartbeat{"F1"});
    CHECK(r.Step().empty());  // still backing off
    CHECK(!r.c->Finished(r.clock.MonotonicNowMs()));
    r.clock.Advance(1);
    expected_delay *= 2;
  }
  auto code = r.c->Finished(r.clock.MonotonicNowMs());
  REQUIRE(code);
  CHECK(*code == 2);
  REQUIRE(r.c->failed_for_good().size() == 1);
  CHECK(r.c->universe().Key(r.c->failed_for_good()[0]) == r.Key(0, 0));
  r.clock.Advance(100000);
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());  // --once: not retried any more
}

TEST_CASE("Coordinator: running for ever - a slice failed for good is still retried at the cap") {
  Rig r(Config(), 1);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  for (int attempt = 1; attempt <= 5; ++attempt) {
    std::vector<std::pair<std::string, wire::Job>> jobs;
    for (int i = 0; i < 100 && jobs.empty(); ++i) {
      r.clock.Advance(100);
      r.Fetcher("f1", wire::Heartbeat{"F1"});
      jobs = r.Step();
    }
    REQUIRE(jobs.size() == 1);
    r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "failed"});
    r.Durable(jobs[0].second.key, "failed");
  }
  CHECK(r.c->backoff().failures({0, r.c->universe().first_index(0)}) == 5);
}

TEST_CASE("Coordinator: the open tail is refreshed - once-mode is content with it partial") {
  auto config = Config();
  config.once = true;
  // Two slices, the second still open (the range reaches the exchange's now).
  Rig r(config, 1, {"AAA"}, kT0 + 10);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 2});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 2);
  r.Durable(jobs[0].second.key, "ok");
  r.Durable(jobs[1].second.key, "partial");
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.Fetcher("f1", wire::JobDone{jobs[1].second.job_id, jobs[1].second.key, "partial"});
  r.clock.Advance(config.heartbeat_ms);  // notices that may follow the status reply
  CHECK(r.c->Finished(r.clock.MonotonicNowMs()) == 0);
}

TEST_CASE(
    "Coordinator: following the exchange clock - new slices appear and the tail is refetched") {
  auto config = Config();
  config.heartbeat_ms = 1000000000;                      // the fetcher stays alive through the test
  Rig r(config, 1, {"AAA"}, kT0 + 10, /*follow=*/true);  // slices 0 (closed) and 1 (open)
  r.Reply(0, {{r.Key(0, 0), "ok"}});
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  const std::string tail = jobs[0].second.key;
  CHECK(tail == r.Key(0, 1));
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, tail, "partial"});
  r.Durable(tail, "partial");
  // Refreshed every refresh_ms while open.
  r.clock.Advance(4999);
  CHECK(r.Step().empty());
  r.clock.Advance(1);
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].second.key == tail);
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, tail, "partial"});
  r.Durable(tail, "partial");
  // The exchange clock passes the grid boundary: a new slice, and the old tail once closed.
  r.clock.Set(kSpan + 2000);  // exchange now = kT0 + kSpan + 2000
  r.Fetcher("f1", wire::Ready{"F1", 2});
  jobs = r.Step();
  CHECK(r.c->universe().size(0) == 3);
  std::vector<std::string> keys;
  for (auto& [id, j] : jobs) keys.push_back(j.key);
  CHECK(std::find(keys.begin(), keys.end(), tail) != keys.end());
  CHECK(std::find(keys.begin(), keys.end(), r.Key(0, 2)) != keys.end());
}

TEST_CASE("Coordinator: a delisted series is no longer extended nor refreshed once complete") {
  auto config = Config();
  config.heartbeat_ms = 1000000000;
  Rig r(config, 1, {"AAA"}, kT0 + 10, /*follow=*/true);  // slices 0 (closed) and 1 (open)
  r.Reply(0, {{r.Key(0, 0), "ok"}});
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  const std::string tail = jobs[0].second.key;
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, tail, "partial"});
  r.Durable(tail, "partial");
  // The symbol is delisted; its last candle opened just after the tail slice began.
  r.c->EndSeries(0, kT0 + 60000, r.clock.MonotonicNowMs());
  CHECK(r.c->Ended(0));
  // The tail is fetched once more (the partial above came before the end was known) ...
  r.clock.Advance(5000);
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].second.key == tail);
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, tail, "partial"});
  r.Durable(tail, "partial");
  // ... and then never again, and the range no longer grows with the exchange clock.
  r.clock.Set(3 * kSpan);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  CHECK(r.Step().empty());
  CHECK(r.c->universe().size(0) == 2);
  // Trading again: followed again.
  r.c->ReopenSeries(0);
  jobs = r.Step();
  CHECK(r.c->universe().size(0) == 5);  // slices 99..103 of the grid
  CHECK(!jobs.empty());
}

TEST_CASE("Coordinator: ending a series drops the slices after its last candle") {
  auto config = Config();
  config.heartbeat_ms = 1000000000;
  Rig r(config, 3, {"AAA"}, kT0 - 1);  // slices 0, 1, 2, all closed and missing
  r.c->EndSeries(0, kT0 - 2 * kSpan + 5, r.clock.MonotonicNowMs());
  CHECK(r.c->universe().size(0) == 2);
  CHECK(r.c->universe().counts(0).pending == 2);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 5});
  auto jobs = r.Step();
  CHECK(jobs.size() == 2);
}

TEST_CASE("Coordinator: a persister reconnect asks statuses again only when needed") {
  Rig r(Config(), 2);
  r.Reply(0);
  r.out.clear();
  r.c->OnPersisterConnected(r.clock.MonotonicNowMs(), /*reconnect=*/true, &r.out);
  r.Step();
  CHECK(r.StatusRequests() == 0);  // no job awaits DURABLE
  r.Fetcher("f1", wire::Ready{"F1", 2});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 2);
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.Fetcher("f1", wire::JobDone{jobs[1].second.job_id, jobs[1].second.key, "ok"});
  r.clock.Advance(10);
  r.c->OnPersisterLost(r.clock.MonotonicNowMs());
  r.c->OnPersisterConnected(r.clock.MonotonicNowMs(), /*reconnect=*/true, &r.out);
  r.Step();
  CHECK(r.StatusRequests() == 1);
  // The restarted persister knows the first result, not the second: the second died with the
  // old persister and goes again at once.
  r.Reply(0, {{jobs[0].second.key, "ok"}});
  CHECK(r.c->leases().size() == 0);
  auto again = r.Step();
  REQUIRE(again.size() == 1);
  CHECK(again[0].second.key == jobs[1].second.key);
  // The persister goes away again before the re-handed job's JOB_DONE: that result went to the
  // new persister, and may still be queued there when it answers the next status request, so
  // it keeps its wait for DURABLE...
  r.c->OnPersisterLost(r.clock.MonotonicNowMs());
  r.clock.Advance(10);
  r.Fetcher("f1", wire::JobDone{again[0].second.job_id, again[0].second.key, "ok"});
  r.clock.Advance(10);
  r.out.clear();
  r.c->OnPersisterConnected(r.clock.MonotonicNowMs(), /*reconnect=*/true, &r.out);
  r.Step();
  CHECK(r.StatusRequests() == 1);
  r.Reply(0, {{jobs[0].second.key, "ok"}});
  CHECK(r.c->leases().size() == 1);
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());
  // ...and when that runs out the persister is asked once more; still unknown: it goes again.
  r.clock.Advance(2000);
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());
  CHECK(r.StatusRequests() == 1);
  r.Reply(0, {{jobs[0].second.key, "ok"}});
  CHECK(r.c->leases().size() == 0);
  auto third = r.Step();
  REQUIRE(third.size() == 1);
  CHECK(third[0].second.key == jobs[1].second.key);
}

// Completes every slice of series 0 through one fetcher; returns the keys in grid order.
std::vector<std::string> CompleteAll(Rig& r, int n) {
  r.Fetcher("f1", wire::Ready{"F1", static_cast<uint32_t>(n)});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == static_cast<size_t>(n));
  std::vector<std::string> keys;
  for (auto& [id, j] : jobs) {
    r.Fetcher(id, wire::JobDone{j.job_id, j.key, "ok"});
    r.Durable(j.key, "ok");
    keys.push_back(j.key);
  }
  REQUIRE(r.c->universe().counts(0).ok == n);
  return keys;
}

TEST_CASE("Coordinator: issue18 - PENDING puts repaired slices at the head of the queue at once") {
  Rig r(Config(), 5);
  r.Reply(0);
  const auto keys = CompleteAll(r, 5);
  CHECK(r.Step().empty());
  // Another job is out (a partial refresh would do the same) when the persister says three
  // slices are pending again: one of them is that leased slice.
  r.c->OnPersisterMessage(wire::Pending{"klines", {keys[0]}, "test"}, r.clock.MonotonicNowMs(),
                          &r.out);
  auto leased = r.Step();
  REQUIRE(leased.size() == 1);
  CHECK(leased[0].second.key == keys[0]);
  r.c->OnPersisterMessage(
      wire::Pending{"klines",
                    {keys[3], keys[0], keys[1], "BTCUSDT:1m:0-59999999:1000", "garbage"},
                    "marked pending by MARK_PENDING"},
      r.clock.MonotonicNowMs(), &r.out);
  CHECK(r.c->universe().counts(0).ok == 2);
  CHECK(r.c->universe().counts(0).pending == 3);
  // The two idle ones go out at once; the leased slice is not handed twice.
  auto jobs = r.Step();
  std::set<std::string> handed;
  for (auto& [id, j] : jobs) handed.insert(j.key);
  CHECK(handed == std::set<std::string>{keys[1], keys[3]});
  jobs.push_back(leased[0]);
  for (auto& [id, j] : jobs) {
    r.Fetcher(id, wire::JobDone{j.job_id, j.key, "ok"});
    r.Durable(j.key, "ok");
  }
  CHECK(r.c->universe().counts(0).ok == 5);
  CHECK(r.c->StatsCounters().at("slices_reopened") == 4);
  CHECK(r.Step().empty());
}

TEST_CASE(
    "Coordinator: issue18 - RECHECK hands ok slices out again behind new work - they stay ok") {
  Rig r(Config(), 6);
  r.Reply(0, {{r.Key(0, 0), "ok"}, {r.Key(0, 1), "ok"}, {r.Key(0, 2), "ok"}});  // 3-5 missing
  const auto now = [&] { return r.clock.MonotonicNowMs(); };
  // Two ok slices (one named twice), a slice not ok here, one outside the range, garbage.
  r.c->OnPersisterMessage(wire::Recheck{"klines",
                                        {r.Key(0, 1), r.Key(0, 2), r.Key(0, 3),
                                         "BTCUSDT:1m:0-59999999:1000", "garbage", r.Key(0, 1)}},
                          now(), &r.out);
  r.c->OnPersisterMessage(wire::Recheck{"aggTrades", {r.Key(0, 0)}}, now(), &r.out);
  CHECK(r.c->rechecks_waiting() == 2);
  r.Fetcher("f1", wire::Ready{"F1", 2});
  // New work first.
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].second.key == r.Key(0, 3));
  CHECK(jobs[1].second.key == r.Key(0, 4));
  for (auto& [id, j] : jobs) {
    r.Fetcher(id, wire::JobDone{j.job_id, j.key, "ok"});
    r.Durable(j.key, "ok");
  }
  // The last new slice, then the first recheck as soon as nothing else waits.
  jobs = r.Step();
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].second.key == r.Key(0, 5));
  CHECK(jobs[1].second.key == r.Key(0, 1));
  const SliceRef one{0, r.c->universe().first_index(0) + 1};
  CHECK(r.c->universe().status(one) == SliceStatus::kOk);  // ok here, only in flight
  CHECK(r.c->universe().state(one) == SliceState::kLeased);
  CHECK(r.c->rechecks_in_flight() == 1);
  CHECK(r.c->rechecks_waiting() == 1);
  // The fetcher gives the recheck back: it goes to the head of the rechecks, not lost.
  r.Fetcher("f1", wire::JobReturn{jobs[1].second.job_id, jobs[1].second.key});
  CHECK(r.c->rechecks_in_flight() == 0);
  CHECK(r.c->rechecks_waiting() == 2);
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.Durable(jobs[0].second.key, "ok");
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].second.key == r.Key(0, 1));
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.Durable(jobs[0].second.key, "ok");
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].second.key == r.Key(0, 2));
  // A failed second fetch: the persister keeps its ok and says so.
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "failed"});
  r.Durable(jobs[0].second.key, "ok");
  CHECK(r.Step().empty());
  CHECK(r.c->universe().counts(0).ok == 6);
  CHECK(r.c->backoff().failures({0, r.c->universe().first_index(0) + 2}) == 0);
  const Counters c = r.c->StatsCounters();
  CHECK(c.at("rechecks_handed") == 3);
  CHECK(c.at("rechecks_in_flight") == 0);
  CHECK(c.at("rechecks_waiting") == 0);
  CHECK(c.at("slices_reopened") == 0);
}

TEST_CASE("Coordinator: issue18 - with --once the run waits for the rechecks it was sent") {
  auto config = Config();
  config.once = true;
  Rig r(config, 2);
  r.Reply(0, {{r.Key(0, 0), "ok"}, {r.Key(0, 1), "ok"}});
  // Everything is ok, but a RECHECK may follow the reply: one heartbeat is waited for it.
  CHECK_FALSE(r.c->Finished(r.clock.MonotonicNowMs()));
  r.clock.Advance(config.heartbeat_ms - 1);
  CHECK_FALSE(r.c->Finished(r.clock.MonotonicNowMs()));
  r.c->OnPersisterMessage(wire::Recheck{"klines", {r.Key(0, 1)}}, r.clock.MonotonicNowMs(), &r.out);
  CHECK_FALSE(r.c->Finished(r.clock.MonotonicNowMs()));
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK_FALSE(r.c->Finished(r.clock.MonotonicNowMs()));
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.Durable(jobs[0].second.key, "ok");
  CHECK_FALSE(r.c->Finished(r.clock.MonotonicNowMs()));  // still within the heartbeat
  r.clock.Advance(1);
  CHECK(r.c->Finished(r.clock.MonotonicNowMs()) == 0);
}

TEST_CASE("Coordinator: issue18 - a missed PENDING is found by the periodic status resync") {
  auto config = Config();
  config.resync_ms = 60000;
  Rig r(config, 4);
  r.Reply(0);
  const auto keys = CompleteAll(r, 4);
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());
  CHECK(r.StatusRequests() == 0);
  // A minute later the planner asks again (no notice came: it was not subscribed then).
  for (int i = 0; i < 60; ++i) {
    r.clock.Advance(1000);
    r.Fetcher("f1", wire::Heartbeat{"F1"});
    CHECK(r.Step().empty());
    if (r.StatusRequests() > 0) break;
  }
  CHECK(r.StatusRequests() == 1);
  // The persister set keys[1] pending and keys[2] failed; keys[3] it does not name (a reply
  // that names nothing undoes nothing).
  r.Reply(0, {{keys[0], "ok"}, {keys[1], "pending"}, {keys[2], "failed"}});
  CHECK(r.c->universe().counts(0).ok == 2);
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 2);
  std::set<std::string> handed;
  for (auto& [id, j] : jobs) handed.insert(j.key);
  CHECK(handed == std::set<std::string>{keys[1], keys[2]});
  // An unrequested reply changes nothing.
  r.Reply(0, {{keys[0], "pending"}});
  CHECK(r.c->universe().counts(0).ok == 2);
}

TEST_CASE("Coordinator: issue18 - a resync reply settles a slice whose DURABLE was missed") {
  auto config = Config();
  config.resync_ms = 5000;
  Rig r(config, 2);
  r.Reply(0, {{r.Key(0, 0), "ok"}, {r.Key(0, 1), "failed"}});
  CHECK(r.c->universe().counts(0).failed == 1);
  // No fetcher yet; the failed slice waits in the queue. The persister meanwhile has it ok
  // (stored by a planner before us, say): the next resync reply settles it.
  r.clock.Advance(5000);
  r.Step();
  CHECK(r.StatusRequests() == 1);
  r.Reply(0, {{r.Key(0, 0), "ok"}, {r.Key(0, 1), "ok"}});
  CHECK(r.c->universe().counts(0).ok == 2);
  r.Fetcher("f1", wire::Ready{"F1", 2});
  CHECK(r.Step().empty());
}

// Issue #7: one expired lease made the status reply re-hand every fresh done job of its series
// whose result the persister had not processed yet (a persister behind by more than the reply).
TEST_CASE("Coordinator: issue7 - a status reply re-hands only done jobs whose wait ran out") {
  Rig r(Config(), 3);
  r.Reply(0);
  r.Fetcher("f1", wire::Ready{"F1", 3});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 3);
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.clock.Advance(1500);
  r.Fetcher("f1", wire::JobDone{jobs[1].second.job_id, jobs[1].second.key, "ok"});
  r.Fetcher("f1", wire::JobDone{jobs[2].second.job_id, jobs[2].second.key, "ok"});
  r.clock.Advance(500);  // the first job's wait runs out; the others are 500 ms old
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());
  CHECK(r.StatusRequests() == 1);
  r.Reply(0, {});  // the persister has none of the three yet
  auto again = r.Step();
  REQUIRE(again.size() == 1);  // only the first goes again
  CHECK(again[0].second.key == jobs[0].second.key);
  CHECK(r.c->leases().size() == 3);  // the re-handed one, and the two still waiting
  // Their results arrive: no refetch.
  r.Durable(jobs[1].second.key, "ok");
  r.Durable(jobs[2].second.key, "ok");
  CHECK(r.c->leases().size() == 1);
}

TEST_CASE("Coordinator: 10 symbols x 1s since 2022 (about 1.5 M slices) plan and interleave") {
  SetLogLevel(LogLevel::kWarn);
  Universe u;
  const int64_t start = 1640995200000;  // 2022-01-01
  const int64_t now = 1795000000000;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(u.AddSeries("S" + std::to_string(i) + "USDT", "1s", start, now).ok());
  }
  const int64_t total = u.total_size();
  CHECK(total > 1500000);
  ExchangeClock ex;
  ex.SetOffset(now);
  auto config = Config();
  config.end_ms = now;
  config.status_window = 10;  // every series asked at Start
  Coordinator c(config, std::move(u), ex);
  Outbox out;
  c.Start(0, &out);
  for (uint32_t s = 0; s < 10; ++s) {
    const auto& un = c.universe();
    c.OnPersisterMessage(wire::StatusReply{c.status_request_id(s),
                                           "klines",
                                           un.symbol(s),
                                           un.interval(s),
                                           "",
                                           {{un.Key({s, un.first_index(s)}), "ok"}}},
                         0, &out);
  }
  CHECK(static_cast<int64_t>(c.queued()) == total - 10);
  c.OnFetcherMessage("f", wire::Ready{"F", 10}, 0, &out);
  out.clear();
  c.Dispatch(0, &out);
  REQUIRE(out.to_fetchers.size() == 10);
  for (uint32_t s = 0; s < 10; ++s) {  // one per series, each its oldest missing slice
    const auto& job = std::get<wire::Job>(out.to_fetchers[s].second);
    CHECK(job.key == c.universe().Key({s, c.universe().first_index(s) + 1}));
  }
}

// Paged statuses (docs/protocol.md, STATUS_REQUEST). A persister holding `stored` (key ->
// status) that answers pages of at most `page` slices.
struct PagedPersister {
  std::map<std::string, std::string> stored;
  size_t page = 2;

  // The last STATUS_REQUEST for series `s` the planner sent.
  static std::optional<wire::StatusRequest> LastRequest(const Rig& r, uint32_t s) {
    std::optional<wire::StatusRequest> q;
    for (const auto* list : {&r.sent, &r.out.to_persister}) {
      for (const auto& m : *list) {
        if (const auto* x = std::get_if<wire::StatusRequest>(&m);
            x && x->symbol == r.c->universe().symbol(s)) {
          q = *x;
        }
      }
    }
    return q;
  }
  wire::StatusReply Answer(const wire::StatusRequest& q) const {
    wire::StatusReply reply{q.request_id, q.endpoint, q.symbol, q.interval, "", {}, false};
    const size_t n = q.max > 0 ? std::min<size_t>(q.max, page) : page;
    for (auto it = stored.upper_bound(q.after); it != stored.end(); ++it) {
      if (reply.slices.size() == n) {
        reply.more = true;
        break;
      }
      reply.slices.push_back({it->first, it->second});
    }
    return reply;
  }
  static void Deliver(Rig& r, const wire::StatusReply& reply) {
    for (auto& m : r.out.to_persister) r.sent.push_back(std::move(m));
    r.out.clear();
    r.c->OnPersisterMessage(reply, r.clock.MonotonicNowMs(), &r.out);
  }
  // Answers the last request of series `s`; returns `more` of the page sent.
  bool Serve(Rig& r, uint32_t s) {
    auto q = LastRequest(r, s);
    REQUIRE(q);
    const wire::StatusReply reply = Answer(*q);
    Deliver(r, reply);
    return reply.more;
  }
  // Serves pages until the last; returns how many.
  int ServeAll(Rig& r, uint32_t s) {
    int pages = 1;
    while (Serve(r, s)) ++pages;
    return pages;
  }
};

std::set<std::string> Keys(const std::vector<std::pair<std::string, wire::Job>>& jobs) {
  std::set<std::string> keys;
  for (const auto& [id, j] : jobs) keys.insert(j.key);
  return keys;
}

TEST_CASE("Coordinator: paged statuses - page after page - planned only after the last") {
  Rig r(Config(), 7);
  PagedPersister p;
  p.page = 3;
  for (int i = 0; i < 7; ++i) p.stored[r.Key(0, i)] = i == 4 ? "failed" : "ok";
  p.stored.erase(r.Key(0, 5));  // never fetched
  // The first page, asked at the start, from the first key, of the persister's size.
  auto first = PagedPersister::LastRequest(r, 0);
  REQUIRE(first);
  CHECK(first->after.empty());
  CHECK(first->max == 0);
  CHECK(p.Serve(r, 0));
  CHECK_FALSE(r.c->ready(0));
  // The next page is asked at once, after the last key received.
  auto second = PagedPersister::LastRequest(r, 0);
  REQUIRE(second);
  CHECK(second->request_id > first->request_id);
  CHECK(second->after == r.Key(0, 2));
  r.Fetcher("f1", wire::Ready{"F1", 5});
  CHECK(r.Step().empty());  // nothing is handed before the series is planned
  CHECK(r.StatusRequests() == 0);
  CHECK_FALSE(p.Serve(r, 0));  // keys 3, 4, 6: the last page
  CHECK(r.c->ready(0));
  CHECK(r.c->status_pages() == 2);
  CHECK(r.c->universe().counts(0).ok == 5);
  CHECK(Keys(r.Step()) == std::set<std::string>{r.Key(0, 4), r.Key(0, 5)});
  CHECK(r.StatusRequests() == 0);
  // A late copy of a page changes nothing: no page is awaited.
  PagedPersister::Deliver(r, p.Answer(*second));
  CHECK(r.out.to_persister.empty());
}

TEST_CASE("Coordinator: paged statuses - a lost page starts the pass again after the gap") {
  Rig r(Config(), 6);
  PagedPersister p;
  for (int i = 0; i < 6; ++i) p.stored[r.Key(0, i)] = "ok";
  CHECK(p.Serve(r, 0));
  const auto lost = *PagedPersister::LastRequest(r, 0);  // never answered
  CHECK(lost.after == r.Key(0, 1));
  r.clock.Advance(999);  // status_retry_ms 1000
  r.Step();
  CHECK(r.StatusRequests() == 0);
  r.clock.Advance(1);
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  CHECK(PagedPersister::LastRequest(r, 0)->after.empty());  // from the first page again
  // The lost page's answer comes after all: it answers a request no longer awaited.
  const auto restart = *PagedPersister::LastRequest(r, 0);
  PagedPersister::Deliver(r, p.Answer(lost));
  CHECK(r.out.to_persister.empty());
  CHECK_FALSE(r.c->ready(0));
  CHECK(PagedPersister::LastRequest(r, 0)->request_id == restart.request_id);
  // The gap stays doubled until a whole pass is in: page 2, unanswered again, is asked again
  // (from the first page) after 2000 ms, not 1000.
  CHECK(p.Serve(r, 0));
  r.clock.Advance(1999);
  r.Step();
  CHECK(r.StatusRequests() == 0);
  r.clock.Advance(1);
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  CHECK(PagedPersister::LastRequest(r, 0)->after.empty());
  CHECK(p.ServeAll(r, 0) == 3);
  CHECK(r.c->ready(0));
  CHECK(r.c->universe().counts(0).ok == 6);
  CHECK(r.c->StatsCounters().at("status_restarts") == 2);
  r.Fetcher("f1", wire::Ready{"F1", 5});
  CHECK(r.Step().empty());
}

TEST_CASE("Coordinator: paged statuses - the first page asked twice - either answer will do") {
  Rig r(Config(), 3);
  PagedPersister p;
  for (int i = 0; i < 3; ++i) p.stored[r.Key(0, i)] = "ok";
  const auto slow = *PagedPersister::LastRequest(r, 0);
  r.clock.Advance(1000);  // the persister is busy loading the series: no answer yet
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  const auto again = *PagedPersister::LastRequest(r, 0);
  CHECK(again.after.empty());
  // Both are answered, in order: the first answer starts the pass, the second is stale.
  PagedPersister::Deliver(r, p.Answer(slow));
  CHECK(PagedPersister::LastRequest(r, 0)->after == r.Key(0, 1));
  PagedPersister::Deliver(r, p.Answer(again));
  CHECK(r.out.to_persister.empty());
  CHECK_FALSE(p.Serve(r, 0));
  CHECK(r.c->ready(0));
  CHECK(r.c->universe().counts(0).ok == 3);
}

TEST_CASE(
    "Coordinator: paged statuses - unanswered, asked again ever less often - at once "
    "when the persister is back") {
  Rig r(Config(), 3);
  PagedPersister p;
  for (int i = 0; i < 3; ++i) p.stored[r.Key(0, i)] = "ok";
  // The persister is busy (loading a large series): status_retry_ms 1000, then 2000, 4000.
  int64_t waited = 0;
  for (int64_t gap : {1000, 2000, 4000}) {
    r.clock.Advance(gap - 1);
    r.Step();
    CHECK(r.StatusRequests() == 0);
    r.clock.Advance(1);
    r.Step();
    CHECK(r.StatusRequests() == 1);
    waited += gap;
  }
  CHECK(waited == 7000);
  // It restarted: what was asked of it is lost; asked again at once, from the first page.
  r.clock.Advance(10);
  r.out.clear();
  r.c->OnPersisterConnected(r.clock.MonotonicNowMs(), /*reconnect=*/true, &r.out);
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  CHECK(PagedPersister::LastRequest(r, 0)->after.empty());
  CHECK(p.ServeAll(r, 0) == 2);
  CHECK(r.c->ready(0));
}

TEST_CASE("Coordinator: paged statuses - an error mid-way starts again from the first page") {
  Rig r(Config(), 5);
  PagedPersister p;
  for (int i = 0; i < 5; ++i) p.stored[r.Key(0, i)] = i < 3 ? "ok" : "failed";
  CHECK(p.Serve(r, 0));
  const auto q = *PagedPersister::LastRequest(r, 0);
  PagedPersister::Deliver(
      r, wire::StatusReply{q.request_id, "klines", "AAA", "1m", "disk on fire", {}, false});
  CHECK(r.out.to_persister.empty());
  r.clock.Advance(1999);  // status_retry_ms 1000, doubled once
  r.Step();
  CHECK(r.StatusRequests() == 0);
  r.clock.Advance(1);
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  CHECK(PagedPersister::LastRequest(r, 0)->after.empty());
  CHECK(p.ServeAll(r, 0) == 3);
  CHECK(r.c->ready(0));
  CHECK(r.c->universe().counts(0).ok == 3);
  CHECK(r.c->universe().counts(0).failed == 2);
}

TEST_CASE("Coordinator: paged statuses - a page that does not advance is an error") {
  Rig r(Config(), 4);
  PagedPersister p;
  for (int i = 0; i < 4; ++i) p.stored[r.Key(0, i)] = "ok";
  CHECK(p.Serve(r, 0));
  const auto q = *PagedPersister::LastRequest(r, 0);
  CHECK(q.after == r.Key(0, 1));
  // The same keys again, with more: the persister's order is broken; no endless loop.
  PagedPersister::Deliver(r, wire::StatusReply{q.request_id,
                                               "klines",
                                               "AAA",
                                               "1m",
                                               "",
                                               {{r.Key(0, 0), "ok"}, {r.Key(0, 1), "ok"}},
                                               true});
  CHECK(r.out.to_persister.empty());
  PagedPersister::Deliver(r, wire::StatusReply{q.request_id, "klines", "AAA", "1m", "", {}, true});
  CHECK(r.out.to_persister.empty());
  r.clock.Advance(2000);
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  CHECK(PagedPersister::LastRequest(r, 0)->after.empty());
  p.ServeAll(r, 0);
  CHECK(r.c->ready(0));
}

TEST_CASE("Coordinator: paged statuses - a DURABLE between pages is not undone") {
  Rig r(Config(), 6);
  PagedPersister p;
  p.page = 3;
  for (int i = 0; i < 6; ++i) p.stored[r.Key(0, i)] = i == 1 || i == 4 ? "failed" : "ok";
  // Page 1 says key 1 failed. Then DURABLE ok notices for keys 1 and 4 (fetched by another
  // planner, say): newer than page 1, older than page 2, which says key 4 ok as they do.
  CHECK(p.Serve(r, 0));
  p.stored[r.Key(0, 1)] = "ok";
  p.stored[r.Key(0, 4)] = "ok";
  r.Durable(r.Key(0, 1), "ok");
  r.Durable(r.Key(0, 4), "ok");
  CHECK_FALSE(p.Serve(r, 0));
  REQUIRE(r.c->ready(0));
  CHECK(r.c->universe().counts(0).ok == 6);
  r.Fetcher("f1", wire::Ready{"F1", 5});
  CHECK(r.Step().empty());
}

TEST_CASE("Coordinator: paged statuses - page 1 older than a DURABLE is not applied after it") {
  // A resync in which page 1 says key 1 failed, and the DURABLE ok of key 1 comes after page 1:
  // the DURABLE is the newer word, the pass must not reopen key 1 when it ends.
  auto config = Config();
  config.resync_ms = 5000;
  Rig r(config, 4);
  PagedPersister p;
  for (int i = 0; i < 4; ++i) p.stored[r.Key(0, i)] = i == 1 ? "failed" : "ok";
  p.ServeAll(r, 0);
  REQUIRE(r.c->universe().counts(0).failed == 1);  // queued; no fetcher yet
  r.clock.Advance(5000);
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  CHECK(p.Serve(r, 0));  // keys 0-1: key 1 failed
  p.stored[r.Key(0, 1)] = "ok";
  r.Durable(r.Key(0, 1), "ok");
  CHECK_FALSE(p.Serve(r, 0));
  CHECK(r.c->universe().counts(0).ok == 4);
  r.Fetcher("f1", wire::Ready{"F1", 5});
  CHECK(r.Step().empty());
}

TEST_CASE("Coordinator: paged statuses - a resync finds a slice pending on a later page") {
  auto config = Config();
  config.resync_ms = 5000;
  Rig r(config, 5);
  PagedPersister p;
  for (int i = 0; i < 5; ++i) p.stored[r.Key(0, i)] = "ok";
  p.ServeAll(r, 0);
  REQUIRE(r.c->universe().counts(0).ok == 5);
  p.stored[r.Key(0, 4)] = "pending";  // repaired by verify --repair while we were not subscribed
  r.clock.Advance(5000);
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  CHECK(p.ServeAll(r, 0) == 3);
  CHECK(r.c->universe().counts(0).ok == 4);
  r.Fetcher("f1", wire::Ready{"F1", 5});
  CHECK(Keys(r.Step()) == std::set<std::string>{r.Key(0, 4)});
}

TEST_CASE("Coordinator: paged statuses - a wait running out during a pass asks another pass") {
  auto config = Config();
  config.status_retry_ms = 5000;  // the page is slow, not lost
  Rig r(config, 4);
  PagedPersister p;
  for (int i = 0; i < 3; ++i) p.stored[r.Key(0, i)] = "ok";
  p.ServeAll(r, 0);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].second.key == r.Key(0, 3));
  // The persister goes away and comes back; the job is done meanwhile, and a pass begins...
  r.c->OnPersisterLost(r.clock.MonotonicNowMs());
  r.clock.Advance(10);
  r.Fetcher("f1", wire::JobDone{jobs[0].second.job_id, jobs[0].second.key, "ok"});
  r.clock.Advance(10);
  r.c->OnPersisterConnected(r.clock.MonotonicNowMs(), /*reconnect=*/true, &r.out);
  r.Step();
  REQUIRE(r.StatusRequests() == 1);
  CHECK(p.Serve(r, 0));
  // ...whose first page is older than the end of the job's wait, which runs out between two
  // pages: this pass does not judge the job, another pass follows it.
  r.clock.Advance(2000);
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  CHECK(r.Step().empty());
  CHECK(r.StatusRequests() == 0);
  CHECK_FALSE(p.Serve(r, 0));
  CHECK(r.c->leases().size() == 1);  // not judged by this pass
  r.Fetcher("f1", wire::Heartbeat{"F1"});
  r.Step();
  REQUIRE(r.StatusRequests() == 1);  // the pass that follows
  CHECK(PagedPersister::LastRequest(r, 0)->after.empty());
  // The persister never got the result: the job goes again.
  CHECK(p.ServeAll(r, 0) == 2);
  CHECK(r.c->leases().size() == 0);
  auto again = r.Step();
  REQUIRE(again.size() == 1);
  CHECK(again[0].second.key == r.Key(0, 3));
}

TEST_CASE("Coordinator: an error STATUS_REPLY is asked again later - the gap doubles") {
  Rig r(Config(), 1);
  auto error_reply = [&] {
    r.c->OnPersisterMessage(
        wire::StatusReply{r.c->status_request_id(0), "klines", "AAA", "1m", "disk on fire", {}},
        r.clock.MonotonicNowMs(), &r.out);
  };
  error_reply();
  r.clock.Advance(1999);  // status_retry_ms 1000, doubled once
  r.Step();
  CHECK(r.StatusRequests() == 0);
  r.clock.Advance(1);
  r.Step();
  CHECK(r.StatusRequests() == 1);
  error_reply();
  r.clock.Advance(3999);
  r.Step();
  CHECK(r.StatusRequests() == 0);
  r.clock.Advance(1);
  r.Step();
  CHECK(r.StatusRequests() == 1);
  r.Reply(0);
  CHECK(r.c->ready(0));
}

TEST_CASE("Coordinator drops what it does not expect") {
  Rig r(Config(), 1);
  r.Reply(0);
  r.Fetcher("f1", wire::Durable{"klines", {}});         // wrong socket
  r.Fetcher("stranger", wire::JobDone{42, "x", "ok"});  // unknown job
  r.Durable("garbage key", "ok");
  r.Durable(r.Key(0, 0), "weird");
  r.c->OnPersisterMessage(wire::StatusReply{1, "klines", "ZZZ", "1m", "", {}}, 0, &r.out);
  r.Fetcher("f1", wire::Ready{"F1", 1});
  CHECK(r.Step().size() == 1);
}

// An endpoint on the id axis (Endpoint::Axis::kId), like aggTrades: slice k holds ids
// [k*1000, k*1000+999]; only what the coordinator uses is meaningful.
class IdAxisEndpoint final : public Endpoint {
 public:
  std::string_view name() const override { return "ids"; }
  int64_t request_weight() const override { return 4; }
  int default_limit() const override { return 1000; }
  Status ValidateInterval(std::string_view interval) const override {
    return interval == "id" ? Status::Ok() : Status::Error("the interval is 'id'");
  }
  int64_t SliceSpanMs(std::string_view, int limit) const override { return limit; }
  Result<SliceKey> ParseKey(std::string_view key) const override { return ParseSliceKey(key); }
  std::string BuildUrl(std::string_view, const SliceKey&) const override { return {}; }
  Result<PayloadSummary> ValidatePayload(std::string_view, const SliceKey&) const override {
    return PayloadSummary{};
  }
  PayloadAudit AuditPayload(std::string_view, const SliceKey&) const override { return {}; }
  Result<PayloadSummary> SummarizeData(std::string_view) const override { return PayloadSummary{}; }
  std::string FirstItemUrl(std::string_view, std::string_view, std::string_view) const override {
    return {};
  }
  std::string LastItemUrl(std::string_view, std::string_view, std::string_view) const override {
    return {};
  }
  Result<std::optional<int64_t>> ParseEdgeItem(std::string_view) const override {
    return std::optional<int64_t>();
  }
  Axis axis() const override { return Axis::kId; }
};

// A coordinator over one id series AAA/id of ids [0, newest], newest = 2500 (slices 0-2, the
// third open), one fetcher with 10 credits; the exchange clock plays no part.
struct IdRig {
  explicit IdRig(CoordinatorConfig config) {
    SetLogLevel(LogLevel::kWarn);
    Universe u(endpoint);
    REQUIRE(u.AddSeries("AAA", "id", 0, 2500).ok());
    c = std::make_unique<Coordinator>(config, std::move(u), ExchangeClock{});
    c->SetNewestItem(0, 2500);
    c->Start(clock.MonotonicNowMs(), &out);
    c->OnPersisterMessage(wire::StatusReply{c->status_request_id(0), "ids", "AAA", "id", "", {}},
                          clock.MonotonicNowMs(), &out);
    c->OnFetcherMessage("f1", wire::Ready{"F1", 10}, clock.MonotonicNowMs(), &out);
  }
  std::vector<wire::Job> Step() {
    out.clear();
    c->OnFetcherMessage("f1", wire::Heartbeat{"F1"}, clock.MonotonicNowMs(), &out);
    c->Tick(clock.MonotonicNowMs(), &out);
    c->Dispatch(clock.MonotonicNowMs(), &out);
    std::vector<wire::Job> jobs;
    for (auto& [id, m] : out.to_fetchers) {
      if (auto* j = std::get_if<wire::Job>(&m)) jobs.push_back(*j);
    }
    return jobs;
  }
  void Done(const wire::Job& j, const std::string& status) {
    c->OnFetcherMessage("f1", wire::JobDone{j.job_id, j.key, status}, clock.MonotonicNowMs(), &out);
    c->OnPersisterMessage(wire::Durable{"ids", {{j.key, status}}}, clock.MonotonicNowMs(), &out);
  }

  IdAxisEndpoint endpoint;
  ManualClock clock;
  Outbox out;
  std::unique_ptr<Coordinator> c;
};

TEST_CASE("Coordinator: id axis - the tail stays open until the newest id passes its end") {
  IdRig r(Config());  // refresh_ms 5000
  CHECK(r.c->AxisNow(0, r.clock.MonotonicNowMs()) == 2501);
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 3);
  CHECK(jobs[0].key == "AAA:id:0-999:1000");
  CHECK(jobs[2].key == "AAA:id:2000-2999:1000");
  r.Done(jobs[0], "ok");
  r.Done(jobs[1], "ok");
  r.Done(jobs[2], "partial");  // 501 of its 1000 ids exist
  // Open: fetched again at the next refresh, not sooner.
  r.clock.Advance(4000);
  CHECK(r.Step().empty());
  r.clock.Advance(1000);
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].key == "AAA:id:2000-2999:1000");
  r.Done(jobs[0], "partial");
  // A smaller newest id changes nothing; a larger one closes the tail and grows the series.
  r.c->SetNewestItem(0, 100);
  CHECK(r.c->AxisNow(0, r.clock.MonotonicNowMs()) == 2501);
  r.c->SetNewestItem(0, 3100);
  CHECK(r.c->AxisNow(0, r.clock.MonotonicNowMs()) == 3101);
  // The tail it closed is fetched at once (not at its refresh), and the new slice after it.
  jobs = r.Step();
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].key == "AAA:id:2000-2999:1000");
  CHECK(jobs[1].key == "AAA:id:3000-3999:1000");
  CHECK(r.c->universe().end_index(0) == 4);
  r.Done(jobs[0], "ok");
  r.Done(jobs[1], "partial");
  r.clock.Advance(4999);
  CHECK(r.Step().empty());
}

TEST_CASE("Coordinator: id axis with --once - complete with the open tail partial only") {
  CoordinatorConfig config = Config();
  config.once = true;
  IdRig r(config);
  auto jobs = r.Step();
  REQUIRE(jobs.size() == 3);
  r.Done(jobs[0], "ok");
  r.Done(jobs[1], "partial");  // closed (ids up to 2500 exist) but not all there: not done
  r.Done(jobs[2], "partial");
  CHECK(!r.c->Finished(r.clock.MonotonicNowMs()));
  r.clock.Advance(2000);
  jobs = r.Step();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].key == "AAA:id:1000-1999:1000");
  r.Done(jobs[0], "ok");
  r.clock.Advance(1000);
  CHECK(r.c->Finished(r.clock.MonotonicNowMs()) == 0);
  // --once never grows the range.
  r.c->SetNewestItem(0, 5000);
  r.Step();
  CHECK(r.c->universe().end_index(0) == 3);
}

}  // namespace
}  // namespace qlir::planner
