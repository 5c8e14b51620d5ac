// The planner link's decisions on a manual clock: READY and held answers on connect, heartbeats,
// liveness, the doubling reconnect delay, answers re-sent after a lost link.
#include "fetcher/planner_link.h"

#include <catch2/catch.hpp>

#include "common/clock.h"

namespace qlir::fetcher {
namespace {

using Step = PlannerLink::Step;

PlannerLinkOptions Options() {
  return PlannerLinkOptions{.fetcher_id = "f1",
                            .heartbeat_ms = 1000,
                            .liveness = 3,
                            .reconnect_initial_ms = 1000,
                            .reconnect_max_ms = 4000,
                            .max_held = 3};
}

wire::Message Done(uint64_t id) { return wire::JobDone{id, "k" + std::to_string(id), "ok"}; }

uint64_t JobIdOf(const wire::Message& m) {
  if (const auto* d = std::get_if<wire::JobDone>(&m)) return d->job_id;
  return std::get<wire::JobReturn>(m).job_id;
}

// Connects and marks everything OnConnected returns as sent; returns it.
std::vector<wire::Message> Connect(PlannerLink* link, ManualClock* clock, int credits) {
  auto out = link->OnConnected(credits, clock->MonotonicNowMs());
  for (const auto& m : out) link->OnSent(m, clock->MonotonicNowMs());
  return out;
}

}  // namespace

TEST_CASE("planner link: connect at once, READY with the free credits", "[planner_link]") {
  ManualClock clock(5000);
  PlannerLink link(Options(), clock.MonotonicNowMs());
  CHECK_FALSE(link.connected());
  CHECK(link.Due(clock.MonotonicNowMs(), false) == Step::kConnect);
  auto out = Connect(&link, &clock, 4);
  REQUIRE(out.size() == 1);
  const auto& ready = std::get<wire::Ready>(out[0]);
  CHECK(ready.fetcher_id == "f1");
  CHECK(ready.credits == 4);
  CHECK(link.connected());
  CHECK(link.Due(clock.MonotonicNowMs(), false) == Step::kNothing);
}

TEST_CASE("planner link: a heartbeat after an interval without sending", "[planner_link]") {
  ManualClock clock(0);
  PlannerLink link(Options(), 0);
  Connect(&link, &clock, 1);
  CHECK(link.NextWakeMs(clock.MonotonicNowMs(), false) == 1000);
  clock.Advance(999);
  link.OnReceived(clock.MonotonicNowMs());
  CHECK(link.Due(clock.MonotonicNowMs(), false) == Step::kNothing);
  CHECK(link.NextWakeMs(clock.MonotonicNowMs(), false) == 1);
  clock.Advance(1);
  REQUIRE(link.Due(clock.MonotonicNowMs(), false) == Step::kSendHeartbeat);
  CHECK(link.Heartbeat().sender == "f1");
  link.OnSent(link.Heartbeat(), clock.MonotonicNowMs());
  CHECK(link.Due(clock.MonotonicNowMs(), false) == Step::kNothing);
}

TEST_CASE(
    "planner link: silent for liveness intervals, the planner is gone and the reconnect "
    "delay doubles to its cap and a message resets it",
    "[planner_link]") {
  ManualClock clock(0);
  PlannerLink link(Options(), 0);
  std::vector<int64_t> delays;
  for (int round = 0; round < 5; ++round) {
    Connect(&link, &clock, 2);
    // Heartbeats keep going out, but nothing comes back.
    for (int i = 0; i < 2; ++i) {
      clock.Advance(1000);
      REQUIRE(link.Due(clock.MonotonicNowMs(), false) == Step::kSendHeartbeat);
      link.OnSent(link.Heartbeat(), clock.MonotonicNowMs());
    }
    clock.Advance(999);
    CHECK(link.Due(clock.MonotonicNowMs(), false) == Step::kNothing);
    clock.Advance(1);
    REQUIRE(link.Due(clock.MonotonicNowMs(), false) == Step::kClose);
    CHECK(link.silent_ms(clock.MonotonicNowMs()) == 3000);
    delays.push_back(link.reconnect_delay_ms());
    link.OnClosed(clock.MonotonicNowMs());
    CHECK_FALSE(link.connected());
    // Not before the delay is over.
    CHECK(link.NextWakeMs(clock.MonotonicNowMs(), false) == std::min<int64_t>(delays.back(), 1000));
    clock.Advance(delays.back() - 1);
    CHECK(link.Due(clock.MonotonicNowMs(), false) == Step::kNothing);
    clock.Advance(1);
    REQUIRE(link.Due(clock.MonotonicNowMs(), false) == Step::kConnect);
  }
  CHECK(delays == std::vector<int64_t>{1000, 2000, 4000, 4000, 4000});
  Connect(&link, &clock, 2);
  link.OnReceived(clock.MonotonicNowMs());  // alive again
  CHECK(link.reconnect_delay_ms() == 1000);
}

TEST_CASE("planner link: no reconnect while stopping", "[planner_link]") {
  ManualClock clock(0);
  PlannerLink link(Options(), 0);
  link.OnClosed(0);  // e.g. the first connect failed
  clock.Advance(1000);
  CHECK(link.Due(clock.MonotonicNowMs(), true) == Step::kNothing);
  CHECK(link.Due(clock.MonotonicNowMs(), false) == Step::kConnect);
}

TEST_CASE(
    "planner link: answers made while down are held, sent after the next READY, and "
    "dropped beyond max_held",
    "[planner_link]") {
  ManualClock clock(0);
  PlannerLink link(Options(), 0);
  CHECK(link.Hold(Done(1)));
  CHECK(link.Hold(wire::JobReturn{2, "k2"}));
  CHECK_FALSE(link.Hold(wire::Heartbeat{"f1", {}}));  // only answers are held
  CHECK(link.Hold(Done(3)));
  CHECK_FALSE(link.Hold(Done(4)));  // max_held
  CHECK(link.held() == 3);
  auto out = Connect(&link, &clock, 3);
  REQUIRE(out.size() == 4);
  CHECK(std::holds_alternative<wire::Ready>(out[0]));
  CHECK(JobIdOf(out[1]) == 1);
  CHECK(JobIdOf(out[2]) == 2);
  CHECK(JobIdOf(out[3]) == 3);
  CHECK(link.held() == 0);
}

TEST_CASE("planner link: answers sent shortly before the planner fell silent are sent again",
          "[planner_link]") {
  ManualClock clock(0);
  PlannerLink link(Options(), 0);
  Connect(&link, &clock, 2);
  link.OnSent(Done(10), clock.MonotonicNowMs());  // at 0: long before the planner's last word
  clock.Advance(1500);
  link.OnSent(Done(11), clock.MonotonicNowMs());  // within a heartbeat of it: may be lost
  clock.Advance(500);
  link.OnReceived(clock.MonotonicNowMs());  // its last word, at 2000
  link.OnSent(Done(12), clock.MonotonicNowMs());
  clock.Advance(3000);
  REQUIRE(link.Due(clock.MonotonicNowMs(), false) == Step::kClose);
  link.OnClosed(clock.MonotonicNowMs());
  CHECK(link.held() == 2);
  clock.Advance(1000);
  auto out = Connect(&link, &clock, 2);
  REQUIRE(out.size() == 3);
  CHECK(JobIdOf(out[1]) == 11);
  CHECK(JobIdOf(out[2]) == 12);
}

}  // namespace qlir::fetcher
