#include "planner/completion.h"

#include <catch2/catch.hpp>

namespace qlir::planner {
namespace {

constexpr int64_t kSpan = 60000LL * 1000;

TEST_CASE("Completion rule of once-mode: every closed slice ok - the open tail at least partial") {
  Universe u;
  auto s = u.AddSeries("BTCUSDT", "1m", 0, 2 * kSpan + 5);  // 3 slices, the last one open
  REQUIRE(s.ok());
  FailureBackoff b(10, 100, 2);
  const int64_t now = 2 * kSpan + 10;
  CHECK(!CheckCompletion(u, {false}, b, now).complete);  // no snapshot yet
  CHECK(!CheckCompletion(u, {true}, b, now).complete);   // all pending
  u.set_status({0, 0}, SliceStatus::kOk);
  u.set_status({0, 1}, SliceStatus::kOk);
  CHECK(!CheckCompletion(u, {true}, b, now).complete);  // the tail is pending
  u.set_status({0, 2}, SliceStatus::kPartial);
  auto c = CheckCompletion(u, {true}, b, now);
  CHECK(c.complete);
  CHECK(c.failed_for_good.empty());
  // Once the tail has closed, partial is no longer enough.
  CHECK(!CheckCompletion(u, {true}, b, 3 * kSpan).complete);
  // A closed slice that is only partial is not done.
  u.set_status({0, 1}, SliceStatus::kPartial);
  CHECK(!CheckCompletion(u, {true}, b, now).complete);
}

TEST_CASE("Completion rule of once-mode: failed slices count only once failed for good") {
  Universe u;
  auto s = u.AddSeries("BTCUSDT", "1m", 0, 2 * kSpan);
  REQUIRE(s.ok());
  FailureBackoff b(10, 100, 2);
  const int64_t now = 10 * kSpan;
  u.set_status({0, 0}, SliceStatus::kOk);
  u.set_status({0, 1}, SliceStatus::kFailed);
  u.set_status({0, 2}, SliceStatus::kOk);
  b.OnFailure({0, 1});
  CHECK(!CheckCompletion(u, {true}, b, now).complete);  // one try left
  b.OnFailure({0, 1});
  auto c = CheckCompletion(u, {true}, b, now);
  CHECK(c.complete);
  CHECK(c.failed_for_good == std::vector<SliceRef>{{0, 1}});
  // It later succeeded after all: nothing failed for good.
  u.set_status({0, 1}, SliceStatus::kOk);
  c = CheckCompletion(u, {true}, b, now);
  CHECK(c.complete);
  CHECK(c.failed_for_good.empty());
}

}  // namespace
}  // namespace qlir::planner
