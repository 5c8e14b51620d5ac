#include "persister/slice_precedence.h"

#include <catch2/catch.hpp>

using namespace qlir;
using namespace qlir::persister;

TEST_CASE("ok is never replaced, partial only by ok or partial", "[precedence]") {
  using S = SliceStatus;
  for (S in : {S::kOk, S::kPartial, S::kFailed}) {
    CHECK(Supersedes(in, std::nullopt));
    CHECK(Supersedes(in, S::kPending));
    CHECK(Supersedes(in, S::kFailed));
    CHECK_FALSE(Supersedes(in, S::kOk));
  }
  CHECK(Supersedes(S::kOk, S::kPartial));
  CHECK(Supersedes(S::kPartial, S::kPartial));
  CHECK_FALSE(Supersedes(S::kFailed, S::kPartial));
}
