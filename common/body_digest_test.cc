#include "common/body_digest.h"

#include <catch2/catch.hpp>

// Reference values from Python's hashlib.blake2b(data, digest_size=32).
TEST_CASE("the body digest is BLAKE2b-256 of the bytes, lowercase hex", "[body_digest]") {
  CHECK(qlir::BodyDigest("") == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  CHECK(qlir::BodyDigest(R"([[1,"2"]])") ==
        "7ecb1df74749b4e153f6d1bcb73573784fd3d21a15e2cad853a1f7c57339c8bd");
  CHECK(qlir::BodyDigest(R"([[1,"2"]] )") != qlir::BodyDigest(R"([[1,"2"]])"));
}

TEST_CASE("IsBodyDigest accepts exactly 64 lowercase hex characters", "[body_digest]") {
  const std::string d = qlir::BodyDigest("x");
  CHECK(qlir::IsBodyDigest(d));
  CHECK_FALSE(qlir::IsBodyDigest(d.substr(1)));
  CHECK_FALSE(qlir::IsBodyDigest(d + "0"));
  std::string upper = d;
  upper[0] = 'A';
  CHECK_FALSE(qlir::IsBodyDigest(upper));
  CHECK_FALSE(qlir::IsBodyDigest(""));
}
