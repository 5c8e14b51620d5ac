#include "tools/exchange-sim/config.h"

#include <catch2/catch.hpp>

#include "common/time_util.h"

namespace qlir::sim {
namespace {

TEST_CASE("flag defaults") {
  Result<SimConfig> c = ParseFlags({});
  REQUIRE(c.ok());
  CHECK(c->host == "127.0.0.1");
  CHECK(c->port == 0);
  CHECK(c->limits.weight_limit == 6000);
  CHECK(c->limits.window_ms == 60'000);
  CHECK(c->limits.ban_ms == 120'000);
  CHECK(c->faults.hang_ms == 30'000);
  CHECK(c->faults.endpoints == std::set<std::string>{"klines"});
  REQUIRE(c->symbols.size() >= 6);
  CHECK(c->symbols[0].symbol == "BTCUSDT");
  CHECK(c->symbols[0].listing_ms == 1502942400000);
}

TEST_CASE("flags in both spellings") {
  Result<SimConfig> c = ParseFlags(
      {"--listen=0.0.0.0:8080", "--weight-limit", "100", "--window-ms=1000", "--ban-after", "3",
       "--ban-ms", "500", "--seed", "7", "--fault-reset", "0.25", "--fault-hang=0.5", "--hang-ms",
       "10", "--fault-endpoints", "klines,time", "--symbol", "FOOUSDT,listing=2024-01-01"});
  REQUIRE(c.ok());
  CHECK(c->host == "0.0.0.0");
  CHECK(c->port == 8080);
  CHECK(c->limits.weight_limit == 100);
  CHECK(c->limits.window_ms == 1000);
  CHECK(c->limits.ban_after == 3);
  CHECK(c->limits.ban_ms == 500);
  CHECK(c->faults.seed == 7);
  CHECK(c->faults.reset == 0.25);
  CHECK(c->faults.hang == 0.5);
  CHECK(c->faults.hang_ms == 10);
  CHECK(c->faults.endpoints == std::set<std::string>{"klines", "time"});
  REQUIRE(c->symbols.size() == 1);  // --symbol alone replaces the default set
  CHECK(c->symbols[0].symbol == "FOOUSDT");
  CHECK(c->symbols[0].base_asset == "FOO");
  CHECK(c->symbols[0].quote_asset == "USDT");
}

TEST_CASE("bad flags give clear errors") {
  auto err = [](std::vector<std::string> args) { return ParseFlags(args).error(); };
  CHECK(err({"--nope"}).find("unknown flag --nope") != std::string::npos);
  CHECK(err({"--listen"}).find("needs a value") != std::string::npos);
  CHECK(err({"--listen", "8080"}).find("HOST:PORT") != std::string::npos);
  CHECK(err({"--listen", "h:99999"}).find("--listen") != std::string::npos);
  CHECK(err({"--weight-limit", "abc"}).find("--weight-limit") != std::string::npos);
  CHECK(err({"--fault-reset", "2"}).find("probability") != std::string::npos);
  CHECK(err({"--fault-reset", "0.6", "--fault-hang", "0.6"}).find("more than 1") !=
        std::string::npos);
  CHECK(err({"--fault-endpoints", "trades"}).find("trades") != std::string::npos);
  CHECK(err({"--symbols-file", "/nonexistent/x.json"}).find("/nonexistent/x.json") !=
        std::string::npos);
  CHECK(err({"--symbol", "BTCUSDT,listing=yesterday"}).find("yesterday") != std::string::npos);
  CHECK(err({"stray"}).find("stray") != std::string::npos);
  CHECK(ParseFlags({"--help"})->help);
}

TEST_CASE("symbols file format") {
  Result<std::vector<SymbolSpec>> s = ParseSymbolsJson(R"({"symbols":[
    {"symbol":"BTCUSDT","listing":"2017-08-17T04:00:00Z","price":"30000.5","volume":12,
     "gaps":[{"start":"2018-02-08T00:29Z","end":1518170400000}]},
    {"symbol":"ETHBTC","listing":1500004800000,"delisting":"2030-01-01","base":"ETH","quote":"BTC",
     "trades_per_minute":7}
  ]})");
  REQUIRE(s.ok());
  REQUIRE(s->size() == 2);
  const SymbolSpec& btc = (*s)[0];
  CHECK(btc.listing_ms == 1502942400000);
  CHECK(btc.base_price == 3'000'050'000'000);
  CHECK(btc.base_volume == 1'200'000'000);
  REQUIRE(btc.gaps.size() == 1);
  CHECK(btc.gaps[0].end_ms == 1518170400000);
  CHECK(btc.base_asset == "BTC");
  CHECK_FALSE(btc.delisting_ms);
  CHECK((*s)[1].quote_asset == "BTC");
  CHECK(*(*s)[1].delisting_ms == *ParseTimeUtc("2030-01-01"));
  CHECK(btc.trades_per_minute == 3);  // the default
  CHECK((*s)[1].trades_per_minute == 7);

  // Round trip through the /sim/config form.
  Result<std::vector<SymbolSpec>> back = ParseSymbolsJson(SymbolsToJson(*s));
  REQUIRE(back.ok());
  CHECK((*back)[0].gaps == btc.gaps);
  CHECK((*back)[0].base_price == btc.base_price);
  CHECK((*back)[1].trades_per_minute == 7);

  CHECK_FALSE(ParseSymbolsJson("{").ok());
  CHECK_FALSE(ParseSymbolsJson(R"({"symbols":[]})").ok());
  CHECK_FALSE(ParseSymbolsJson(R"({"symbols":[{"listing":0}]})").ok());
  CHECK(ParseSymbolsJson(R"({"symbols":[{"symbol":"A","colour":1}]})").error().find("colour") !=
        std::string::npos);
  CHECK_FALSE(ParseSymbolsJson(R"([{"symbol":"A"},{"symbol":"A"}])").ok());
  CHECK_FALSE(ParseSymbolsJson(R"([{"symbol":"A","listing":5,"delisting":4}])").ok());
  CHECK_FALSE(ParseSymbolsJson(R"([{"symbol":"A","gaps":[{"start":5,"end":5}]}])").ok());
  CHECK_FALSE(ParseSymbolsJson(R"([{"symbol":"../x"}])").ok());
  CHECK_FALSE(ParseSymbolsJson(R"([{"symbol":"A","trades_per_minute":0}])").ok());
  CHECK_FALSE(ParseSymbolsJson(R"([{"symbol":"A","trades_per_minute":"3"}])").ok());
  CHECK_FALSE(ParseSymbolsJson(R"([{"symbol":"A","trades_per_minute":1001}])").ok());
}

TEST_CASE("symbol flag spec") {
  Result<SymbolSpec> s = ParseSymbolFlag(
      "XUSDT,listing=2020-01-01,delisting=2021-01-01,gap=2020-02-01/2020-02-02,price=1.5,"
      "volume=3");
  REQUIRE(s.ok());
  CHECK(s->gaps.size() == 1);
  CHECK(s->base_price == 150'000'000);
  CHECK(s->delisting_ms);
  CHECK_FALSE(ParseSymbolFlag("XUSDT,gap=2020-02-01").ok());
  CHECK_FALSE(ParseSymbolFlag("XUSDT,price").ok());
  CHECK_FALSE(ParseSymbolFlag("XUSDT,price=-1").ok());
  CHECK(ParseSymbolFlag("XUSDT,trades_per_minute=12")->trades_per_minute == 12);
  CHECK(ParseSymbolFlag("XUSDT,trades_per_minute=0").error().find("trades_per_minute") !=
        std::string::npos);
  CHECK_FALSE(ParseSymbolFlag("XUSDT,trades_per_minute=2x").ok());
}

TEST_CASE("limits JSON") {
  RateLimitConfig l;
  CHECK(ApplyLimitsJson(R"({"weight_limit":10,"window_ms":1000})", &l).ok());
  CHECK(l.weight_limit == 10);
  CHECK(l.window_ms == 1000);
  CHECK_FALSE(ApplyLimitsJson(R"({"ban_ms":-1})", &l).ok());
  CHECK_FALSE(ApplyLimitsJson(R"({"window_ms":0})", &l).ok());
  CHECK_FALSE(ApplyLimitsJson(R"({"weight_limit":5,"x":1})", &l).ok());
  CHECK(l.weight_limit == 10);
  CHECK(ApplyLimitsJson(LimitsToJson(l), &l).ok());
}

TEST_CASE("ParseDecimal8") {
  CHECK(*ParseDecimal8("0.01634790") == 1634790);
  CHECK(*ParseDecimal8("7") == 700'000'000);
  CHECK_FALSE(ParseDecimal8("1.123456789").ok());
  CHECK_FALSE(ParseDecimal8("1.").ok());
  CHECK_FALSE(ParseDecimal8(".5").ok());
  CHECK_FALSE(ParseDecimal8("1e5").ok());
}

}  // namespace
}  // namespace qlir::sim
