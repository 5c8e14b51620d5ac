#include "common/aggtrades/endpoint.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/endpoint.h"

using qlir::Endpoint;
using qlir::FindEndpoint;
using qlir::PayloadSummary;
using qlir::SliceKey;

TEST_CASE("aggTrades is registered on the spot host, weight 4, slices of 1000 ids", "[aggtrades]") {
  const Endpoint* e = FindEndpoint("aggTrades");
  REQUIRE(e != nullptr);
  CHECK(e == &qlir::aggtrades::TheAggTradesEndpoint());
  CHECK(e->name() == "aggTrades");
  CHECK(e->default_base_url() == "https://api.binance.com");
  CHECK(e->exchange_info_path() == "/api/v3/exchangeInfo");
  CHECK(e->time_path() == "/api/v3/time");
  CHECK(e->request_weight() == 4);
  CHECK_FALSE(e->own_limit().has_value());  // the spot REQUEST_WEIGHT budget, as klines
  CHECK(e->default_limit() == 1000);
  CHECK(e->default_interval() == "id");
  CHECK(e->axis() == Endpoint::Axis::kId);
  CHECK_FALSE(e->items_on_grid());

  CHECK(e->ValidateInterval("id").ok());
  auto bad = e->ValidateInterval("1m");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.message() ==
        "aggTrades series have one parameter, 'id' (slices are ranges of aggregate trade ids), "
        "not '1m'");
  CHECK_FALSE(e->ValidateInterval("").ok());
  CHECK(e->SliceSpanMs("id", 1000) == 1000);
  CHECK(e->SliceSpanMs("id", 7) == 7);

  // Grid slice k = ids [k * 1000, k * 1000 + 999].
  CHECK(e->GridIndex("id", 0, 1000) == 0);
  CHECK(e->GridIndex("id", 999, 1000) == 0);
  CHECK(e->GridIndex("id", 26129, 1000) == 26);
  const SliceKey g = e->GridSlice("BTCUSDT", "id", 26, 1000);
  CHECK(g.composite_key() == "BTCUSDT:id:26000-26999:1000");
  CHECK(e->IsGridSlice(g));
  SliceKey off = g;
  off.start_ms += 1;
  CHECK_FALSE(e->IsGridSlice(off));
  SliceKey wrong_series = g;
  wrong_series.interval = "1m";
  CHECK_FALSE(e->IsGridSlice(wrong_series));
}

TEST_CASE("aggTrades keys parse strictly and build the fromId URL", "[aggtrades]") {
  const Endpoint& e = *FindEndpoint("aggTrades");
  auto k = e.ParseKey("BTCUSDT:id:26000-26999:1000");
  REQUIRE(k.ok());
  CHECK(k->symbol == "BTCUSDT");
  CHECK(k->interval == "id");
  CHECK(k->start_ms == 26000);
  CHECK(k->end_ms == 26999);
  CHECK(k->limit == 1000);
  CHECK(e.ParseKey("BTCUSDT:id:0-999:1000").ok());
  auto wrong = e.ParseKey("BTCUSDT:1m:26000-26999:1000");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error() ==
        "malformed composite key 'BTCUSDT:1m:26000-26999:1000': the interval field of aggTrades "
        "is 'id'");
  CHECK_FALSE(e.ParseKey("BTCUSDT:id:26000-26999:1001").ok());
  CHECK_FALSE(e.ParseKey("BTCUSDT:id:026000-26999:1000").ok());
  CHECK_FALSE(e.ParseKey("BTCUSDT:id:26999-26000:1000").ok());
  CHECK_FALSE(e.ParseKey("BTCUSDT:id:-1-999:1000").ok());
  CHECK_FALSE(e.ParseKey(":id:26000-26999:1000").ok());
  CHECK_FALSE(e.ParseKey("btc usdt:id:26000-26999:1000").ok());

  CHECK(e.BuildUrl("https://api.binance.com/", *k) ==
        "https://api.binance.com/api/v3/aggTrades?symbol=BTCUSDT&fromId=26000&limit=1000");
  SliceKey odd = *k;
  odd.symbol = "A B&C";  // percent-encoded (never a valid symbol, but never a broken URL)
  CHECK(e.BuildUrl("http://h", odd) ==
        "http://h/api/v3/aggTrades?symbol=A%20B%26C&fromId=26000&limit=1000");
  CHECK(e.FirstItemUrl("http://127.0.0.1:9", "BTCUSDT", "id") ==
        "http://127.0.0.1:9/api/v3/aggTrades?symbol=BTCUSDT&fromId=0&limit=1");
  CHECK(e.LastItemUrl("http://127.0.0.1:9/", "BTCUSDT", "id") ==
        "http://127.0.0.1:9/api/v3/aggTrades?symbol=BTCUSDT&limit=1");
  CHECK(e.ItemAtTimeUrl("http://127.0.0.1:9", "BTCUSDT", "id", 1498793709153) ==
        "http://127.0.0.1:9/api/v3/aggTrades?symbol=BTCUSDT&startTime=1498793709153&limit=1");
}

TEST_CASE("aggTrades edge lookups read the id of the first row", "[aggtrades]") {
  const Endpoint& e = *FindEndpoint("aggTrades");
  auto id = e.ParseEdgeItem(
      R"([{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,"T":1498793709153,)"
      R"("m":true,"M":true}])");
  REQUIRE(id.ok());
  REQUIRE(id->has_value());
  CHECK(id->value() == 26129);
  auto none = e.ParseEdgeItem("[]");  // nothing at or after the time asked
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  CHECK(e.ParseEdgeItem(R"([{"a":0,"p":"0","q":"0","f":-1,"l":-1,"T":1,"m":false,"M":true}])")
            ->value() == 0);  // an invalidated row still has its id
  CHECK(e.ParseEdgeItem("{\"code\":-1121,\"msg\":\"Invalid symbol.\"}").error() ==
        "aggTrades: not an array");
  CHECK(e.ParseEdgeItem("not json").error() == "aggTrades: not JSON");
  CHECK(e.ParseEdgeItem("[{\"a\":\"1\"}]").error() == "aggTrades: first row has no id 'a'");
  CHECK(e.ParseEdgeItem("[{\"a\":-1}]").error() == "aggTrades: first row has no id 'a'");
  CHECK(e.ParseEdgeItem("[{\"T\":5}]").error() == "aggTrades: first row has no id 'a'");
  CHECK(e.ParseEdgeItem("[[1]]").error() == "aggTrades: first row is not an object");
}

TEST_CASE("an aggTrades slice is final when its last id is there, whatever the clock",
          "[aggtrades]") {
  const Endpoint& e = *FindEndpoint("aggTrades");
  const SliceKey k = *e.ParseKey("BTCUSDT:id:26000-26999:1000");
  CHECK(e.Final(k, PayloadSummary{1000, 26000, 26999}, 0));
  CHECK_FALSE(e.Final(k, PayloadSummary{999, 26000, 26998}, 4102444800000));  // the open tail
  CHECK_FALSE(e.Final(k, PayloadSummary{0, -1, -1}, 4102444800000));          // nothing yet
  // Below the series' first trade the window can start late and still be complete.
  CHECK(e.Final(k, PayloadSummary{870, 26130, 26999}, 0));
  // Klines stay on the clock.
  const Endpoint& kl = *FindEndpoint("klines");
  const SliceKey c = *kl.ParseKey("BTCUSDT:1m:1609459200000-1609519199999:1000");
  CHECK(kl.Final(c, PayloadSummary{}, 1609519200000));
  CHECK_FALSE(kl.Final(c, PayloadSummary{1000, 1609459200000, 1609519140000}, 1609519199999));
}
