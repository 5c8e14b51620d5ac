#include "common/endpoint.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "common/klines/endpoint.h"
#include "common/klines/slice_key.h"

using qlir::Endpoint;
using qlir::FindEndpoint;
using qlir::SliceKey;
using qlir::SummarizeObjectRows;

TEST_CASE("the registry finds klines and names the known endpoints for an unknown one",
          "[endpoint]") {
  const Endpoint* k = FindEndpoint("klines");
  REQUIRE(k != nullptr);
  CHECK(k == &qlir::klines::TheKlinesEndpoint());
  CHECK(k->name() == "klines");
  CHECK(FindEndpoint("aggTrades") != nullptr);
  CHECK(FindEndpoint("aggtrades") == nullptr);  // names are case-sensitive
  CHECK(FindEndpoint("") == nullptr);
  CHECK(qlir::UnknownEndpointMessage("x") ==
        "unknown endpoint 'x' (known: klines, fundingRate, aggTrades)");
  std::set<std::string> names;
  for (const Endpoint* e : qlir::AllEndpoints()) names.insert(std::string(e->name()));
  CHECK(names.size() == qlir::AllEndpoints().size());  // names are unique
}

TEST_CASE("the klines endpoint keys, grid, URL, weight and payloads", "[endpoint]") {
  const Endpoint& e = *FindEndpoint("klines");
  CHECK(e.request_weight() == 2);
  CHECK(e.default_limit() == 1000);
  CHECK(e.ValidateInterval("1m").ok());
  CHECK_FALSE(e.ValidateInterval("1M").ok());
  CHECK(e.SliceSpanMs("1m", 1000) == 60000000);

  auto key = e.ParseKey("BTCUSDT:1m:1609459200000-1609465199999:1000");
  REQUIRE(key.ok());
  CHECK(key->slice_id() == "08014f774df4dcb1257ea1efbc3b3eae");
  CHECK_FALSE(e.ParseKey("BTCUSDT:1M:1609459200000-1609465199999:1000").ok());
  CHECK_FALSE(e.ParseKey("BTCUSDT:1m:1609459200000-1609465199999:1001").ok());

  // The generic grid agrees with the klines grid.
  const int64_t index = e.GridIndex("1m", 1609459200000, 1000);
  const SliceKey g = e.GridSlice("BTCUSDT", "1m", index, 1000);
  CHECK(g == qlir::klines::GridSlice("BTCUSDT", "1m", 60000, index));
  CHECK(e.IsGridSlice(g));
  CHECK_FALSE(e.IsGridSlice(*key));  // 2021-01-01T00:00 is not on the 1m grid of 1000
  SliceKey shifted = g;
  shifted.end_ms -= 1;
  CHECK_FALSE(e.IsGridSlice(shifted));
  SliceKey bad_interval = g;
  bad_interval.interval = "2m";
  CHECK_FALSE(e.IsGridSlice(bad_interval));

  CHECK(e.BuildUrl("http://127.0.0.1:1/", g) ==
        "http://127.0.0.1:1/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=" +
            std::to_string(g.start_ms) + "&endTime=" + std::to_string(g.end_ms) + "&limit=1000");

  const std::string row = "[" + std::to_string(g.start_ms) +
                          ",\"1\",\"2\",\"0.5\",\"1.5\",\"10\"," +
                          std::to_string(g.start_ms + 59999) + ",\"15\",3,\"5\",\"7\",\"0\"]";
  auto v = e.ValidatePayload("[" + row + "]", g);
  REQUIRE(v.ok());
  CHECK(v->n_items == 1);
  CHECK(v->first_ts == g.start_ms);
  CHECK_FALSE(e.ValidatePayload("{\"code\":-1121}", g).ok());
}

TEST_CASE("klines data summaries without a slice", "[endpoint]") {
  const Endpoint& e = *FindEndpoint("klines");
  auto d = e.SummarizeData("[[1,\"a\"],[2,\"b\"],[3]]");
  REQUIRE(d.ok());
  CHECK(d->n_items == 3);
  CHECK(d->first_ts == 1);
  CHECK(d->last_ts == 3);
  auto empty = e.SummarizeData("[]");
  REQUIRE(empty.ok());
  CHECK(empty->n_items == 0);
  CHECK(empty->first_ts == -1);
  auto odd = e.SummarizeData("[[\"x\"]]");
  REQUIRE(odd.ok());
  CHECK(odd->first_ts == -1);
  CHECK_FALSE(e.SummarizeData("{\"code\":-1}").ok());
  CHECK_FALSE(e.SummarizeData("[1,").ok());
}

TEST_CASE("SummarizeObjectRows: count and the first and last rows' field") {
  auto s = SummarizeObjectRows(R"([{"a":5,"x":1},{"a":6},{"a":7}])", "a");
  REQUIRE(s.ok());
  CHECK(s->n_items == 3);
  CHECK(s->first_ts == 5);
  CHECK(s->last_ts == 7);
  // Rows that are not objects, or lack an integer field, give -1; an empty array nothing.
  s = SummarizeObjectRows(R"([1,{"a":"7"}])", "a");
  REQUIRE(s.ok());
  CHECK(s->first_ts == -1);
  CHECK(s->last_ts == -1);
  s = SummarizeObjectRows("[]", "a");
  REQUIRE(s.ok());
  CHECK(s->n_items == 0);
  CHECK(s->first_ts == -1);
  CHECK(SummarizeObjectRows("{}", "a").error() == "data is not a JSON array");
  CHECK(SummarizeObjectRows("[1,", "a").error() == "data is not valid JSON");
}
