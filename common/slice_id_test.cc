#include "common/slice_id.h"

#include <catch2/catch.hpp>

TEST_CASE("slice_id is BLAKE2b-128 of the composite key, lowercase hex", "[slice_id]") {
  CHECK(qlir::SliceId("BTCUSDT:1m:1609459200000-1609465199999:1000") ==
        "08014f774df4dcb1257ea1efbc3b3eae");
  CHECK(qlir::SliceId("ETHUSDT:1s:1700000000000-1700000999999:1000") ==
        "914b2c8baafd10c40eca3e5b9e130201");
}

TEST_CASE("IsSliceId accepts exactly 32 lowercase hex characters", "[slice_id]") {
  CHECK(qlir::IsSliceId("08014f774df4dcb1257ea1efbc3b3eae"));
  CHECK_FALSE(qlir::IsSliceId("08014F774df4dcb1257ea1efbc3b3eae"));
  CHECK_FALSE(qlir::IsSliceId("08014f774df4dcb1257ea1efbc3b3ea"));
  CHECK_FALSE(qlir::IsSliceId("08014f774df4dcb1257ea1efbc3b3eaeg"));
  CHECK_FALSE(qlir::IsSliceId(""));
}
