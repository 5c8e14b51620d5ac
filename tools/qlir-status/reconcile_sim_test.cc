// reconcile against the exchange simulator (tools/exchange-sim): its klines are aggregated from
// the trade tape its aggTrades serve, so every candle both cover must agree. Fetched over real
// HTTP on 127.0.0.1, stored with the persister's codecs, reconciled.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <map>

#include "common/aggtrades/payload.h"
#include "common/clock.h"
#include "common/endpoint.h"
#include "common/exit_codes.h"
#include "common/json.h"
#include "common/time_util.h"
#include "tools/exchange-sim/config.h"
#include "tools/exchange-sim/server.h"
#include "tools/qlir-status/reconcile.h"
#include "tools/qlir-status/test_util.h"

namespace qlir::status_tool {
namespace {

using testing::ScratchDir;
using testing::WriteSeries;

TEST_CASE("reconcile: the simulator's klines agree with its aggregate trades", "[reconcile]") {
  ManualClock clock(*ParseTimeUtc("2024-03-01T12:00:00Z"));
  sim::SimConfig config;
  config.host = "127.0.0.1";
  config.port = 0;
  config.symbols = sim::DefaultSymbols();
  sim::SimServer server(std::move(config), &clock);
  auto port = server.Start();
  REQUIRE(port.ok());
  httplib::Client client("127.0.0.1", *port);
  client.set_read_timeout(20, 0);
  auto get = [&](const std::string& url) -> std::string {
    httplib::Result r = client.Get(url);
    REQUIRE(r);
    INFO(url << ": " << r->body.substr(0, 200));
    REQUIRE(r->status == 200);
    return r->body;
  };
  const Endpoint& trades = *FindEndpoint("aggTrades");
  const Endpoint& klines = *FindEndpoint("klines");

  // The first 5000 ids of BTCUSDT, from its listing, then the 1m klines slices over their time.
  std::map<std::string, std::string> bodies;  // composite key -> body
  std::vector<std::pair<SliceKey, SliceStatus>> id_keys, kline_keys;
  int64_t first_t = -1, last_t = -1, invalidated = 0;
  for (int64_t k = 0; k < 5; ++k) {
    const SliceKey key = trades.GridSlice("BTCUSDT", "id", k, 1000);
    const std::string body = get(trades.BuildUrl("", key));
    auto rows = aggtrades::ParseAggTradesPayload(body, key);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1000);
    CHECK(trades.AuditPayload(body, key).bad.empty());
    for (const aggtrades::AggTrade& t : *rows) invalidated += t.invalidated() ? 1 : 0;
    if (first_t < 0) first_t = rows->front().time_ms;
    last_t = rows->back().time_ms;
    bodies[key.composite_key()] = body;
    id_keys.push_back({key, SliceStatus::kOk});
  }
  for (int64_t i = klines.GridIndex("1m", first_t, 1000); i <= klines.GridIndex("1m", last_t, 1000);
       ++i) {
    const SliceKey key = klines.GridSlice("BTCUSDT", "1m", i, 1000);
    bodies[key.composite_key()] = get(klines.BuildUrl("", key));
    kline_keys.push_back({key, SliceStatus::kOk});
  }
  ScratchDir dir;
  auto body_of = [&](const SliceKey& k) { return bodies.at(k.composite_key()); };
  WriteSeries(dir.path(), "aggTrades", "id", id_keys, body_of);
  WriteSeries(dir.path(), "klines", "1m", kline_keys, body_of);

  auto r = Reconcile(dir.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  const std::string text = RenderReconcileText(*r);
  INFO(text);
  REQUIRE(r->symbols.size() == 1);
  const SymbolReconcile& s = r->symbols[0];
  CHECK(s.unreadable.empty());
  CHECK(s.trades_read == 5000);
  CHECK(s.invalidated == invalidated);
  // From the listing to the candle before the newest stored trade's.
  CHECK(s.candles_compared >= (last_t - first_t) / 60000 - 1);
  CHECK(s.candles_compared > 1000);
  CHECK(s.disagreeing == 0);
  CHECK(r->disagreements.empty());
  CHECK(ReconcileExitCode(*r) == kExitDone);

  // One changed digit in a stored candle's volume is found.
  const SliceKey first_kline = kline_keys.front().first;
  nlohmann::json rows = nlohmann::json::parse(bodies[first_kline.composite_key()]);
  REQUIRE(rows.size() > 10);
  std::string volume = rows[10][5].get<std::string>();
  volume.back() = volume.back() == '9' ? '8' : static_cast<char>(volume.back() + 1);
  rows[10][5] = volume;
  bodies[first_kline.composite_key()] = rows.dump();
  ScratchDir dir2;
  WriteSeries(dir2.path(), "aggTrades", "id", id_keys, body_of);
  WriteSeries(dir2.path(), "klines", "1m", kline_keys, body_of);
  r = Reconcile(dir2.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  INFO(RenderReconcileText(*r));
  REQUIRE(r->disagreements.size() == 1);
  CHECK(r->disagreements[0].field == "volume");
  CHECK(r->disagreements[0].candle == volume);
  CHECK(r->disagreements[0].open_ms == rows[10][0].get<int64_t>());
  CHECK(ReconcileExitCode(*r) == kExitDoneWithFailures);
}

}  // namespace
}  // namespace qlir::status_tool
