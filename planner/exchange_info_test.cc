#include "planner/exchange_info.h"

#include <catch2/catch.hpp>

#include "common/klines/endpoint.h"
#include "common/log.h"
#include "planner/options.h"
#include "planner/planner_server.h"
#include "tests/log_capture.h"

namespace qlir::planner {
namespace {

TEST_CASE("exchangeInfo of USD-M futures: perpetuals only, their status, the futures weight") {
  auto i = ParseExchangeInfo(
      R"({"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400},
                        {"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200}],
          "symbols":[{"symbol":"BTCUSDT","contractType":"PERPETUAL","status":"TRADING","onboardDate":1567965300000},
                     {"symbol":"BTCUSDT_260327","contractType":"CURRENT_QUARTER","status":"TRADING"},
                     {"symbol":"LUNAUSDT","contractType":"PERPETUAL","status":"SETTLING"}]})");
  REQUIRE(i.ok());
  CHECK(i->Trading("BTCUSDT"));
  CHECK(i->status.count("BTCUSDT_260327") == 0);
  CHECK(i->status.at("LUNAUSDT") == "SETTLING");
  CHECK_FALSE(i->Trading("LUNAUSDT"));
  REQUIRE(i->weight);
  CHECK(i->weight->limit == 2400);
  CHECK(i->weight->window_ms == 60000);
}

TEST_CASE("exchangeInfo: statuses and the REQUEST_WEIGHT limit - survives garbage") {
  auto i = ParseExchangeInfo(
      R"({"rateLimits":[{"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":9},
                        {"rateLimitType":"REQUEST_WEIGHT","interval":"SECOND","intervalNum":10,"limit":200}],
          "symbols":[{"symbol":"BTCUSDT","status":"TRADING"},{"symbol":"LUNAUSDT","status":"BREAK"},
                     {"symbol":"OLDUSDT"},{"nosymbol":1},7]})");
  REQUIRE(i.ok());
  CHECK(i->Trading("BTCUSDT"));
  CHECK(!i->Trading("LUNAUSDT"));
  CHECK(i->status.at("LUNAUSDT") == "BREAK");
  CHECK(i->Trading("OLDUSDT"));
  CHECK(!i->Trading("GONEUSDT"));
  REQUIRE(i->weight);
  CHECK(i->weight->limit == 200);
  CHECK(i->weight->window_ms == 10000);
  auto m = ParseExchangeInfo(
      R"({"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000}],"symbols":[]})");
  REQUIRE(m.ok());
  CHECK(m->weight == WeightLimit{6000, 60000});
  // Unusable limits are not a limit.
  for (
      const char* bad :
      {R"({"symbols":[],"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"WEEK","intervalNum":1,"limit":5}]})",
       R"({"symbols":[],"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":0}]})",
       R"({"symbols":[],"rateLimits":7})"}) {
    auto b = ParseExchangeInfo(bad);
    REQUIRE(b.ok());
    CHECK(!b->weight);
  }
  CHECK(!ParseExchangeInfo("{not json").ok());
  CHECK(!ParseExchangeInfo("<html>maintenance</html>").ok());
  CHECK(!ParseExchangeInfo(R"({"symbols":{}})").ok());
  const std::string valid = R"({"symbols":[{"symbol":"BTCUSDT","status":"TRADING"}]})";
  for (size_t n = 0; n < valid.size(); ++n) CHECK_NOTHROW(ParseExchangeInfo(valid.substr(0, n)));
}

TEST_CASE("Server time and a series' edges") {
  CHECK(ParseServerTime(R"({"serverTime":1700000000123})").value() == 1700000000123);
  CHECK(!ParseServerTime(R"({"serverTime":"x"})").ok());
  CHECK(!ParseServerTime("}{").ok());
  const Endpoint& k = klines::TheKlinesEndpoint();
  CHECK(k.FirstItemUrl("http://x/", "BTCUSDT", "1m") ==
        "http://x/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=0&limit=1");
  CHECK(k.LastItemUrl("http://x", "BTCUSDT", "1s") ==
        "http://x/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=1");
  CHECK(k.ParseEdgeItem(R"([[1502942400000,"1","1","1","1","0",1,"0",0,"0","0","0"]])")->value() ==
        1502942400000);
  CHECK(!k.ParseEdgeItem("[]")->has_value());
  CHECK(!k.ParseEdgeItem(R"([["x"]])").ok());
  CHECK(!k.ParseEdgeItem(R"({"code":-1121})").ok());
  CHECK(!k.ParseEdgeItem("[[1502942400000,").ok());
}

TEST_CASE("BuildUniverse: listing, a --start before it clamped, a delisted symbol's end") {
  qlir::testing::LogCapture log;
  SetLogLevel(LogLevel::kInfo);
  const int64_t span = 60000LL * 1000;
  const int64_t listing = 1502942400000;
  const int64_t now = listing + 5 * span + 7;
  Options o;
  o.intervals = {"1m"};
  std::vector<SeriesEdges> edges = {{"BTCUSDT", "1m", listing, std::nullopt, false, false}};
  auto u = BuildUniverse(o, edges, now);
  REQUIRE(u.ok());
  CHECK(u->series_count() == 1);
  CHECK(u->first_index(0) == listing / span);
  CHECK(u->end_index(0) == now / span + 1);
  // An explicit start before the listing is clamped to it, and said so.
  o.start_ms = 0;
  u = BuildUniverse(o, edges, now);
  REQUIRE(u.ok());
  CHECK(u->first_index(0) == listing / span);
  CHECK(log.Contains("is before the listing of BTCUSDT/1m"));
  // A delisted symbol ends at its last candle.
  edges = {{"LUNAUSDT", "1m", listing, listing + 2 * span + 5, true, false}};
  u = BuildUniverse(o, edges, now);
  REQUIRE(u.ok());
  CHECK(u->end_index(0) == listing / span + 3);
  o.start_ms = now + 1;
  CHECK(!BuildUniverse(o, edges, now).ok());
  o.start_ms.reset();
  o.end_ms = listing - 1;  // before the listing: nothing to do
  CHECK(!BuildUniverse(o, edges, now).ok());
  edges[0].skip = true;
  o.end_ms.reset();
  CHECK(!BuildUniverse(o, edges, now).ok());
}

TEST_CASE("BuildUniverse: aggTrades ranges are ids - from the listing or --start to the newest") {
  qlir::testing::LogCapture log;
  SetLogLevel(LogLevel::kInfo);
  Options o;
  o.endpoint = "aggTrades";
  o.intervals = {"id"};
  // First id 0, newest 4321: slices 0-4, the last one open (following).
  SeriesEdges e{"BTCUSDT", "id", 0, 4321, false, false, std::nullopt, std::nullopt};
  auto u = BuildUniverse(o, {e}, /*exchange_now=*/1700000000000);
  REQUIRE(u.ok());
  CHECK(u->first_index(0) == 0);
  CHECK(u->end_index(0) == 5);
  CHECK(u->Key({0, 4}) == "BTCUSDT:id:4000-4999:1000");
  CHECK(log.Contains("range of BTCUSDT/id: ids 0 to 4321 (newest; following)"));
  // --start and --end as the ids the lookups by time found.
  o.start_ms = 1600000000000;
  o.end_ms = 1650000000000;
  e.start_at = 2500;
  e.end_at = 3999;
  u = BuildUniverse(o, {e}, 1700000000000);
  REQUIRE(u.ok());
  CHECK(u->first_index(0) == 2);
  CHECK(u->end_index(0) == 4);
  // Nothing traded at or after --start yet: following, the series is the slice after the newest.
  o.end_ms.reset();
  e.start_at.reset();
  u = BuildUniverse(o, {e}, 1700000000000);
  REQUIRE(u.ok());
  CHECK(u->first_index(0) == 4);
  CHECK(u->end_index(0) == 5);
  // ... and with --end there is nothing to fetch.
  o.end_ms = 1650000000000;
  e.end_at = 4321;
  CHECK(!BuildUniverse(o, {e}, 1700000000000).ok());
  CHECK(log.Contains("has nothing in the range"));
}

}  // namespace
}  // namespace qlir::planner
