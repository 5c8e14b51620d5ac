#include "common/symbol.h"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("ordinary and non-ASCII symbols are accepted", "[symbol]") {
  CHECK(qlir::ValidateSymbol("BTCUSDT").ok());
  CHECK(qlir::ValidateSymbol("1000SATSUSDT").ok());
  CHECK(qlir::ValidateSymbol("\xe5\xb8\x81\xe5\xae\x89\xe4\xba\xba\xe7\x94\x9fUSDT").ok());
  CHECK(qlir::ValidateSymbol(std::string(40, 'A')).ok());
}

TEST_CASE("symbols that could escape the data root are rejected", "[symbol]") {
  const std::string bad[] = {"",
                             "/",
                             "BTC/USDT",
                             "BTC\\USDT",
                             "..",
                             ".",
                             "../etc",
                             "A..B",
                             "BTC\nX",
                             "BTC\tX",
                             std::string(41, 'A'),
                             "BTC:X",
                             "BTC USDT",
                             "A&b=1",
                             std::string("A\0B", 3),
                             "\xff\xfe"};
  for (const auto& s : bad) {
    INFO(s);
    auto st = qlir::ValidateSymbol(s);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::StartsWith("invalid symbol"));
  }
}
