#include "planner/lease_table.h"

#include <catch2/catch.hpp>

#include "common/clock.h"

namespace qlir::planner {
namespace {

TEST_CASE("LeaseTable: DURABLE ends a lease") {
  LeaseTable t(1000, 300);
  t.Add({1, {0, 5}, "A", 0});
  REQUIRE(t.FindSlice({0, 5}));
  CHECK(t.FindSlice({0, 5})->job_id == 1);
  auto l = t.ReleaseSlice({0, 5});
  REQUIRE(l);
  CHECK(l->fetcher == "A");
  CHECK(t.size() == 0);
  CHECK(!t.ReleaseSlice({0, 5}));
}

TEST_CASE("LeaseTable: expiry without DURABLE - and the bounded wait after JOB_DONE") {
  ManualClock clock;
  LeaseTable t(/*lease_timeout_ms=*/1000, /*durable_wait_ms=*/300);
  t.Add({1, {0, 1}, "A", clock.MonotonicNowMs()});
  t.Add({2, {0, 2}, "A", clock.MonotonicNowMs()});
  clock.Advance(500);
  CHECK(t.MarkDone(2, "ok", clock.MonotonicNowMs()));
  CHECK(!t.MarkDone(99, "ok", clock.MonotonicNowMs()));
  CHECK(t.SeriesAwaitingDurable() == std::vector<uint32_t>{0});
  CHECK(t.NextExpiry() == 800);
  clock.Advance(299);
  CHECK(t.TakeExpired(clock.MonotonicNowMs()).empty());
  clock.Advance(1);  // 800: the done job waited long enough for DURABLE
  auto e = t.TakeExpired(clock.MonotonicNowMs());
  REQUIRE(e.size() == 1);
  CHECK(e[0].job_id == 2);
  clock.Advance(200);  // 1000: the other one timed out
  e = t.TakeExpired(clock.MonotonicNowMs());
  REQUIRE(e.size() == 1);
  CHECK(e[0].job_id == 1);
  CHECK(t.size() == 0);
}

TEST_CASE("LeaseTable: a dead fetcher loses only its leases without JOB_DONE") {
  LeaseTable t(1000, 1000);
  t.Add({1, {0, 1}, "A", 0});
  t.Add({2, {0, 2}, "A", 0});
  t.Add({3, {1, 1}, "B", 0});
  t.MarkDone(2, "ok", 10);
  auto taken = t.TakeFetcher("A");
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].job_id == 1);
  CHECK(t.size() == 2);
  CHECK(t.CountFor("A") == 1);
  CHECK(t.CountSeries(1) == 1);
  CHECK(t.ReleaseJob(3));
  CHECK(!t.FindJob(3));
}

}  // namespace
}  // namespace qlir::planner
