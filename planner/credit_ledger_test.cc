#include "planner/credit_ledger.h"

#include <catch2/catch.hpp>

#include "common/clock.h"

namespace qlir::planner {
namespace {

TEST_CASE("CreditLedger: READY sets credits - jobs take them - JOB_DONE gives one back") {
  CreditLedger l(1000);
  CHECK(!l.TakeCredit());
  l.OnReady("a", "fetcher-a", 2, 0);
  CHECK(l.TakeCredit() == "a");
  CHECK(l.TakeCredit() == "a");
  CHECK(!l.TakeCredit());
  CHECK(!l.AnyCredit());
  l.OnJobDone("a");
  CHECK(l.credits("a") == 1);
  l.OnJobDone("a");
  l.OnJobDone("a");  // never above the READY number
  CHECK(l.credits("a") == 2);
  l.OnReady("a", "fetcher-a", 5, 0);  // absolute, not added
  CHECK(l.credits("a") == 5);
  l.ZeroCredits("a");
  CHECK(!l.AnyCredit());
}

TEST_CASE("CreditLedger: round robin across fetchers") {
  CreditLedger l(1000);
  l.OnReady("a", "A", 2, 0);
  l.OnReady("b", "B", 1, 0);
  l.OnReady("c", "C", 2, 0);
  std::vector<std::string> got;
  while (auto f = l.TakeCredit()) got.push_back(*f);
  CHECK(got == std::vector<std::string>{"a", "b", "c", "a", "c"});
}

TEST_CASE("CreditLedger: silent for 3 heartbeats is dead - only READY registers") {
  ManualClock clock;
  CreditLedger l(100);
  l.OnSeen("x", clock.MonotonicNowMs());  // unknown: not registered
  CHECK(!l.Known("x"));
  l.OnReady("a", "A", 1, clock.MonotonicNowMs());
  l.OnReady("b", "B", 1, clock.MonotonicNowMs());
  clock.Advance(250);
  l.OnSeen("b", clock.MonotonicNowMs());
  CHECK(l.TakeDead(clock.MonotonicNowMs()).empty());
  clock.Advance(50);  // a: 300 ms silent
  CHECK(l.TakeDead(clock.MonotonicNowMs()) == std::vector<std::string>{"a"});
  CHECK(!l.Known("a"));
  CHECK(l.Known("b"));
}

TEST_CASE("CreditLedger: heartbeats fall due when we sent nothing for an interval") {
  ManualClock clock;
  CreditLedger l(100);
  l.OnReady("a", "A", 1, clock.MonotonicNowMs());
  l.OnReady("b", "B", 1, clock.MonotonicNowMs());
  l.OnSent("a", 0);
  l.OnSent("b", 0);
  clock.Advance(60);
  l.OnSent("b", clock.MonotonicNowMs());
  clock.Advance(40);
  CHECK(l.DueHeartbeat(clock.MonotonicNowMs()) == std::vector<std::string>{"a"});
  CHECK(l.NextDeadline() == 100);
}

}  // namespace
}  // namespace qlir::planner
