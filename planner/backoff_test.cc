#include "planner/backoff.h"

#include <catch2/catch.hpp>

namespace qlir::planner {
namespace {

TEST_CASE("FailureBackoff doubles per failure up to the cap") {
  FailureBackoff b(5000, 30000, 3);
  const SliceRef r{0, 7};
  CHECK(b.OnFailure(r) == 5000);
  CHECK(b.OnFailure(r) == 10000);
  CHECK(!b.FailedForGood(r));
  CHECK(b.OnFailure(r) == 20000);
  CHECK(b.FailedForGood(r));
  CHECK(b.OnFailure(r) == 30000);
  CHECK(b.OnFailure(r) == 30000);
  CHECK(b.failures(r) == 5);
  CHECK(b.DelayAfter(1000) == 30000);  // no overflow
}

TEST_CASE("FailureBackoff is per slice and forgets on success") {
  FailureBackoff b(10, 1000, 2);
  b.OnFailure({0, 1});
  b.OnFailure({0, 1});
  b.OnFailure({1, 1});
  CHECK(b.FailedForGoodList() == std::vector<SliceRef>{{0, 1}});
  b.OnSuccess({0, 1});
  CHECK(b.failures({0, 1}) == 0);
  CHECK(b.failures({1, 1}) == 1);
  CHECK(b.FailedForGoodList().empty());
}

}  // namespace
}  // namespace qlir::planner
