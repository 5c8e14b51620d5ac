#include "planner/exchange_info.h"

#include <catch2/catch.hpp>

#include "planner/options.h"
#include "planner/planner_server.h"
#include "tests/fake_http_client.h"

namespace qlir::planner {
namespace {

using ::qlir::testing::FakeHttpClient;

const std::string kBase = "http://fake";

TEST_CASE("CheckSymbols splits known and unknown symbols") {
  FakeHttpClient http;
  http.ScriptExchange(kBase, {"BTCUSDT", "ETHUSDT"}, 1700000000000, 1502942400000);
  auto c = CheckSymbols(http, kBase + "/", {"ETHUSDT", "NOPEUSDT", "BTCUSDT"});
  REQUIRE(c.ok());
  CHECK(c->known == std::vector<std::string>{"ETHUSDT", "BTCUSDT"});
  CHECK(c->unknown == std::vector<std::string>{"NOPEUSDT"});
}

TEST_CASE("CheckSymbols names the URL and status on errors - survives garbage") {
  FakeHttpClient http;
  http.Set(kBase + "/api/v3/exchangeInfo", 451, R"({"code":0,"msg":"restricted"})");
  auto c = CheckSymbols(http, kBase, {"BTCUSDT"});
  REQUIRE(!c.ok());
  CHECK(c.error().find("/api/v3/exchangeInfo") != std::string::npos);
  CHECK(c.error().find("451") != std::string::npos);
  http.Set(kBase + "/api/v3/exchangeInfo", 200, "{not json");
  CHECK(!CheckSymbols(http, kBase, {"BTCUSDT"}).ok());
  http.SetTransportError(kBase + "/api/v3/exchangeInfo", "connection refused");
  c = CheckSymbols(http, kBase, {"BTCUSDT"});
  REQUIRE(!c.ok());
  CHECK(c.error().find("connection refused") != std::string::npos);
  const std::string valid = R"({"symbols":[{"symbol":"BTCUSDT"}]})";
  for (size_t n = 0; n < valid.size(); ++n) {
    CHECK_NOTHROW(ParseExchangeInfoSymbols(valid.substr(0, n)));
  }
}

TEST_CASE("Server time from /api/v3/time - else from the Date header") {
  FakeHttpClient http;
  http.Set(kBase + "/api/v3/time", 200, R"({"serverTime":1700000000123})");
  CHECK(FetchServerTime(http, kBase).value() == 1700000000123);
  http.Set(kBase + "/api/v3/time", 500, "oops", 1700000001000);
  CHECK(FetchServerTime(http, kBase).value() == 1700000001000);
  http.Set(kBase + "/api/v3/time", 500, "oops");
  CHECK(!FetchServerTime(http, kBase).ok());
  CHECK(!ParseServerTime(R"({"serverTime":"x"})").ok());
}

TEST_CASE("First candle: the listing start") {
  FakeHttpClient http;
  http.ScriptExchange(kBase, {"BTCUSDT"}, 1700000000000, 1502942400000);
  auto f = FetchFirstCandle(http, kBase, "BTCUSDT", "1m");
  REQUIRE(f.ok());
  CHECK(f->value() == 1502942400000);
  CHECK(http.requests().back() ==
        kBase + "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=0&limit=1");
  CHECK(!ParseFirstCandle("[]")->has_value());
  CHECK(!ParseFirstCandle(R"([["x"]])").ok());
  CHECK(!ParseFirstCandle(R"({"code":-1121})").ok());
  CHECK(!FetchFirstCandle(http, kBase, "ETHUSDT", "1m").ok());  // 404
}

TEST_CASE("BuildUniverse: listing or given start - end capped at the exchange's now") {
  FakeHttpClient http;
  const int64_t now = 1502942400000 + 5 * 60000LL * 1000 + 7;
  http.ScriptExchange(kBase, {"BTCUSDT"}, now, 1502942400000, {"1m", "1s"});
  Options o;
  o.base_url = kBase;
  o.intervals = {"1m"};
  auto u = BuildUniverse(o, http, {"BTCUSDT"}, now);
  REQUIRE(u.ok());
  CHECK(u->series_count() == 1);
  CHECK(u->first_index(0) == 1502942400000 / (60000LL * 1000));
  CHECK(u->end_index(0) == now / (60000LL * 1000) + 1);
  o.start_ms = now + 1;
  CHECK(!BuildUniverse(o, http, {"BTCUSDT"}, now).ok());
  o.start_ms.reset();
  o.end_ms = 1502942400000 - 1;  // before the listing: nothing to do
  auto none = BuildUniverse(o, http, {"BTCUSDT"}, now);
  CHECK(!none.ok());
}

}  // namespace
}  // namespace qlir::planner
