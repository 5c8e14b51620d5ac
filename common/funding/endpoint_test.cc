#include "common/funding/endpoint.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/endpoint.h"
#include "tests/testdata.h"

using qlir::Endpoint;
using qlir::FindEndpoint;
using qlir::SliceKey;

TEST_CASE("fundingRate is registered with its host, limit and grid of 1000-hour windows",
          "[funding]") {
  const Endpoint* e = FindEndpoint("fundingRate");
  REQUIRE(e != nullptr);
  CHECK(e == &qlir::funding::TheFundingEndpoint());
  CHECK(e->default_base_url() == "https://fapi.binance.com");
  CHECK(e->exchange_info_path() == "/fapi/v1/exchangeInfo");
  CHECK(e->time_path() == "/fapi/v1/time");
  CHECK(e->default_interval() == "1h");
  CHECK(e->default_limit() == 1000);
  CHECK_FALSE(e->items_on_grid());
  auto own = e->own_limit();
  REQUIRE(own.has_value());
  CHECK(own->name == "fundingRate");
  CHECK(own->limit == 500);
  CHECK(own->window_ms == 300000);

  CHECK(e->ValidateInterval("1h").ok());
  CHECK_FALSE(e->ValidateInterval("8h").ok());
  CHECK_FALSE(e->ValidateInterval("1m").ok());
  CHECK(e->SliceSpanMs("1h", 1000) == 3600000000LL);
  // The grid: 1000 hours from the epoch, whatever the start.
  const SliceKey g = e->GridSlice("BTCUSDT", "1h", e->GridIndex("1h", 1568102400000, 1000), 1000);
  CHECK(g.composite_key() == "BTCUSDT:1h:1566000000000-1569599999999:1000");
  CHECK(e->IsGridSlice(g));
  CHECK(e->GridIndex("1h", 1566000000000, 1000) == e->GridIndex("1h", 1569599999999, 1000));
  SliceKey off = g;
  off.start_ms += 1;
  CHECK_FALSE(e->IsGridSlice(off));
}

TEST_CASE("fundingRate keys parse strictly and build the futures URL", "[funding]") {
  const Endpoint& e = *FindEndpoint("fundingRate");
  auto k = e.ParseKey("BTCUSDT:1h:1566000000000-1569599999999:1000");
  REQUIRE(k.ok());
  CHECK(k->symbol == "BTCUSDT");
  CHECK(k->interval == "1h");
  CHECK(k->start_ms == 1566000000000);
  CHECK(k->end_ms == 1569599999999);
  CHECK(k->limit == 1000);
  CHECK(k->composite_key() == "BTCUSDT:1h:1566000000000-1569599999999:1000");
  CHECK_FALSE(e.ParseKey("BTCUSDT:8h:1566000000000-1569599999999:1000").ok());
  CHECK_FALSE(e.ParseKey("BTCUSDT:1h:1566000000000-1569599999999:1001").ok());
  CHECK_FALSE(e.ParseKey("BTCUSDT:1h:01566000000000-1569599999999:1000").ok());
  CHECK_FALSE(e.ParseKey("BTCUSDT:1h:1569599999999-1566000000000:1000").ok());
  CHECK_FALSE(e.ParseKey(":1h:1566000000000-1569599999999:1000").ok());
  CHECK_FALSE(e.ParseKey("BTC/USDT:1h:1566000000000-1569599999999:1000").ok());

  CHECK(e.BuildUrl("https://fapi.binance.com/", *k) ==
        "https://fapi.binance.com/fapi/v1/fundingRate?symbol=BTCUSDT&startTime=1566000000000"
        "&endTime=1569599999999&limit=1000");
  // startTime=0 would read as absent (the newest rows): the first event is asked from 1.
  CHECK(e.FirstItemUrl("http://127.0.0.1:9", "BTCUSDT", "1h") ==
        "http://127.0.0.1:9/fapi/v1/fundingRate?symbol=BTCUSDT&startTime=1&limit=1");
  CHECK(e.LastItemUrl("http://127.0.0.1:9", "BTCUSDT", "1h") ==
        "http://127.0.0.1:9/fapi/v1/fundingRate?symbol=BTCUSDT&limit=1");

  auto first = e.ParseEdgeItem(qlir::testing::ReadTestData("funding/BTCUSDT-2019-09-10.json"));
  REQUIRE(first.ok());
  CHECK(first->value() == 1568102400000);
  CHECK_FALSE(e.ParseEdgeItem("[]")->has_value());
  CHECK_FALSE(e.ParseEdgeItem("{\"code\":-1121}").ok());
  CHECK_FALSE(e.ParseEdgeItem("[{\"fundingTime\":\"x\"}]").ok());
  CHECK_FALSE(e.ParseEdgeItem("not json").ok());
}

TEST_CASE("a funding window is final once closed, whatever its count", "[funding]") {
  const Endpoint& e = *FindEndpoint("fundingRate");
  const SliceKey k = *e.ParseKey("BTCUSDT:1h:1566000000000-1569599999999:1000");
  // Two events in a window of 1000 hours is a complete answer once the window has closed.
  auto s = e.ValidatePayload(qlir::testing::ReadTestData("funding/BTCUSDT-2019-09-10.json"), k);
  REQUIRE(s.ok());
  CHECK(s->n_items == 2);
  CHECK(k.ClosedAt(1569600000000));
  CHECK_FALSE(k.ClosedAt(1569599999999));
}
