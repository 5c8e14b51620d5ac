#include "planner/listing_cache.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/test_util.h"

namespace qlir::planner {
namespace {

TEST_CASE("ListingCache remembers first candles across loads, per exchange") {
  qlir::testing::ScratchDir dir;
  const std::string path = (dir.path() / "sub" / "listings.json").string();
  {
    ListingCache c = ListingCache::Load(path);
    CHECK(c.load_error().empty());
    CHECK(!c.First("http://x", "klines", "BTCUSDT", "1m"));
    c.Remember("http://x/", "klines", "BTCUSDT", "1m", 1502942400000);
    c.Remember("http://x", "klines", "NEWUSDT", "1m", -1);  // none yet: not remembered
    REQUIRE(c.Save().ok());
  }
  ListingCache c = ListingCache::Load(path);
  CHECK(c.First("http://x", "klines", "BTCUSDT", "1m") == 1502942400000);
  CHECK(!c.First("http://y", "klines", "BTCUSDT", "1m"));  // another exchange
  CHECK(!c.First("http://x", "klines", "BTCUSDT", "1s"));
  CHECK(!c.First("http://x", "klines", "NEWUSDT", "1m"));
  CHECK(c.size() == 1);
}

TEST_CASE("ListingCache: a damaged file loads empty, says why, and is rewritten") {
  qlir::testing::ScratchDir dir;
  const std::string path = (dir.path() / "listings.json").string();
  const std::string valid = R"({"version":1,"first":{"http://x klines BTCUSDT 1m":5}})";
  for (size_t n = 0; n < valid.size(); ++n) {
    std::ofstream(path, std::ios::trunc) << valid.substr(0, n);
    ListingCache c = ListingCache::Load(path);
    CHECK(c.size() == 0);
  }
  std::ofstream(path, std::ios::trunc) << "}{garbage";
  ListingCache c = ListingCache::Load(path);
  CHECK(!c.load_error().empty());
  c.Remember("http://x", "klines", "BTCUSDT", "1m", 7);
  REQUIRE(c.Save().ok());
  CHECK(ListingCache::Load(path).First("http://x", "klines", "BTCUSDT", "1m") == 7);
  // Without a path nothing is kept or written.
  ListingCache off = ListingCache::Load("");
  off.Remember("http://x", "klines", "BTCUSDT", "1m", 7);
  CHECK(off.Save().ok());
  CHECK(!off.First("http://x", "klines", "BTCUSDT", "1m"));
}

}  // namespace
}  // namespace qlir::planner
