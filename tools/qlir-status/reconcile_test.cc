#include "tools/qlir-status/reconcile.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "common/endpoint.h"
#include "common/exit_codes.h"
#include "common/json.h"
#include "common/time_util.h"
#include "tools/qlir-status/cli.h"
#include "tools/qlir-status/migrate.h"
#include "tools/qlir-status/test_util.h"

namespace qlir::status_tool {
namespace {

using testing::ScratchDir;
using testing::WriteRaw;
using testing::WriteSeries;
namespace fs = std::filesystem;

constexpr int64_t kMinute = 60000;
// The 1m klines slice of grid index 26800: 2020-12-15T02:40:00Z.
constexpr int64_t kStart = 26800 * kMinute * 1000;
constexpr int kCandles = 60;

// A plain decimal of `units` 1e-8ths, as the exchange writes it ("100.37000000").
std::string Fmt8(int64_t units) {
  std::string frac = std::to_string(units % 100000000);
  return std::to_string(units / 100000000) + "." + std::string(8 - frac.size(), '0') + frac;
}
// The same without trailing zeros (how reconcile prints what the trades give).
std::string Short(int64_t units) {
  std::string s = Fmt8(units);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

struct Trade {
  int64_t id = 0;
  int64_t price = 0;  // 1e-8 units
  int64_t qty = 0;
  int64_t f = 0, l = 0;
  int64_t t = 0;
  bool invalidated = false;
};

struct CandleRow {
  int64_t open_ms = 0;
  int64_t open = 0, high = 0, low = 0, close = 0, volume = 0;
  int64_t count = 0;
  bool present = true;
};

// A small market: kCandles one-minute candles from kStart, (m % 7) * 18 aggregate trades in
// candle m, ids from 0 (the listing); every `invalid_every`-th id (0: none) is a row the
// exchange invalidated. The candles are computed here from the trades, independently of
// reconcile's code, in integers of 1e-8.
struct Market {
  std::vector<Trade> trades;
  std::vector<CandleRow> candles;

  explicit Market(int invalid_every = 0) {
    int64_t id = 0, underlying = 1000;
    int64_t last_close = 10000 * 100000000LL;
    for (int m = 0; m < kCandles; ++m) {
      const int64_t open_ms = kStart + m * kMinute;
      const int n = (m % 7) * 18;
      CandleRow c;
      c.open_ms = open_ms;
      for (int k = 0; k < n; ++k) {
        if (invalid_every > 0 && id % invalid_every == invalid_every - 1) {
          Trade bad;
          bad.id = id++;
          bad.f = bad.l = -1;
          bad.t = open_ms + k * (kMinute / (n + 1));  // kept in its place
          bad.invalidated = true;
          trades.push_back(bad);
        }
        Trade t;
        t.id = id++;
        t.price = (100 * 100 + (t.id * 37) % 500) * 1000000LL;  // 100.00 .. 104.99
        t.qty = (t.id * 13) % 97 + 1;
        t.f = underlying;
        t.l = underlying + t.id % 3;
        underlying = t.l + 1;
        t.t = open_ms + k * (kMinute / (n + 1)) + 1;
        trades.push_back(t);
        if (c.count == 0) c.open = c.high = c.low = t.price;
        c.high = std::max(c.high, t.price);
        c.low = std::min(c.low, t.price);
        c.close = t.price;
        c.volume += t.qty;
        c.count += t.l - t.f + 1;
      }
      if (c.count == 0) c.open = c.high = c.low = c.close = last_close;
      last_close = c.close;
      candles.push_back(c);
    }
  }

  std::string KlinesBody() const {
    std::string s = "[";
    for (const CandleRow& c : candles) {
      if (!c.present) continue;
      if (s.size() > 1) s += ",";
      s += "[" + std::to_string(c.open_ms) + ",\"" + Fmt8(c.open) + "\",\"" + Fmt8(c.high) +
           "\",\"" + Fmt8(c.low) + "\",\"" + Fmt8(c.close) + "\",\"" + Fmt8(c.volume) + "\"," +
           std::to_string(c.open_ms + kMinute - 1) + ",\"0.0\"," + std::to_string(c.count) +
           ",\"0.0\",\"0.0\",\"0\"]";
    }
    return s + "]";
  }

  // The aggTrades answer for ids [from, from + 999].
  std::string TradesBody(int64_t from) const {
    std::string s = "[";
    for (const Trade& t : trades) {
      if (t.id < from || t.id > from + 999) continue;
      if (s.size() > 1) s += ",";
      s += "{\"a\":" + std::to_string(t.id) + ",\"p\":\"" +
           (t.invalidated ? std::string("0") : Fmt8(t.price)) + "\",\"q\":\"" +
           (t.invalidated ? std::string("0") : Fmt8(t.qty)) + "\",\"f\":" + std::to_string(t.f) +
           ",\"l\":" + std::to_string(t.l) + ",\"T\":" + std::to_string(t.t) +
           ",\"m\":true,\"M\":true}";
    }
    return s + "]";
  }
  int64_t CandleOf(int64_t id) const {
    return (trades[static_cast<size_t>(id)].t - kStart) / kMinute;
  }
};

SliceKey IdSlice(int64_t k) {
  return FindEndpoint("aggTrades")->GridSlice("BTCUSDT", "id", k, 1000);
}

// The klines slice (ok) and the aggTrades slices of `market` (ok, the last one partial),
// leaving out the id slices in `skip`.
void WriteMarket(const fs::path& root, const Market& market, std::vector<int64_t> skip = {}) {
  const SliceKey kl = FindEndpoint("klines")->GridSlice("BTCUSDT", "1m", 26800, 1000);
  WriteSeries(root, "klines", "1m", {{kl, SliceStatus::kOk}},
              [&](const SliceKey&) { return market.KlinesBody(); });
  std::vector<std::pair<SliceKey, SliceStatus>> ids;
  const int64_t n = static_cast<int64_t>(market.trades.size());
  for (int64_t k = 0; k * 1000 < n; ++k) {
    if (std::find(skip.begin(), skip.end(), k) != skip.end()) continue;
    ids.push_back({IdSlice(k), (k + 1) * 1000 <= n ? SliceStatus::kOk : SliceStatus::kPartial});
  }
  WriteSeries(root, "aggTrades", "id", ids,
              [&](const SliceKey& key) { return market.TradesBody(key.start_ms); });
}

int RunCli(std::vector<std::string> args, std::string* out, std::string* err = nullptr) {
  std::ostringstream o, e;
  const int code = Run(args, o, e);
  *out = o.str();
  if (err) *err = e.str();
  return code;
}

std::string Line(int64_t candle, const std::string& field, const std::string& candle_value,
                 const std::string& trades_value) {
  return "BTCUSDT  " + FormatIsoUtc(kStart + candle * kMinute) + "  " + field + ": candle " +
         candle_value + ", trades " + trades_value + "\n";
}

}  // namespace

TEST_CASE("reconcile: candles built from the trades agree, over the time both cover",
          "[reconcile]") {
  ScratchDir dir;
  const Market market;
  REQUIRE(market.trades.size() == 3132);  // four id slices, the last one partial
  WriteMarket(dir.path(), market);
  auto r = Reconcile(dir.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  REQUIRE(r->symbols.size() == 1);
  const SymbolReconcile& s = r->symbols[0];
  CHECK(s.error.empty());
  CHECK(s.unreadable.empty());
  CHECK(s.klines_slices == 1);
  CHECK(s.trade_slices == 4);
  CHECK(s.first_id == 0);
  CHECK(s.last_id == 3131);
  CHECK(s.trades_read == 3132);
  CHECK(s.invalidated == 0);
  // From the listing (id 0) to the last candle whose every trade is stored: the newest trade's
  // candle (59) could still get trades.
  REQUIRE(s.compared.size() == 1);
  CHECK(s.compared[0].start_ms == kStart);
  CHECK(s.compared[0].end_ms == kStart + 59 * kMinute - 1);
  CHECK(s.candles_compared == 59);
  CHECK(s.agreeing == 59);
  CHECK(s.disagreeing == 0);
  CHECK(r->disagreements.empty());
  CHECK(ReconcileExitCode(*r) == kExitDone);

  std::string out;
  CHECK(RunCli({"reconcile", "--data-root", dir.path().string()}, &out) == 0);
  CHECK(out == "data root: " + dir.path().string() +
                   "\nBTCUSDT: klines/1m 1 stored slices, aggTrades 4 stored slices (ids "
                   "0..3131); compared 2020-12-15T02:40:00Z .. 2020-12-15T03:38:59Z: 59 "
                   "candles, 59 agree, 0 disagree\n"
                   "reconcile: 1 symbol, 59 candles compared, 59 agree, 0 disagree; 3132 trades "
                   "read (0 invalidated, skipped)\n");
  CHECK(RunCli({"reconcile", "--data-root", dir.path().string(), "--json"}, &out) == 0);
  auto j = nlohmann::json::parse(out);
  CHECK(j["exit_code"] == 0);
  CHECK(j["candles_compared"] == 59);
  CHECK(j["trades_read"] == 3132);
  CHECK(j["symbols"][0]["compared"][0]["end"] == "2020-12-15T03:38:59Z");
  CHECK(j["disagreements"].empty());

  // A time range keeps to the candles opening inside it.
  ReconcileOptions o;
  o.start_ms = kStart + 10 * kMinute;
  o.end_ms = kStart + 19 * kMinute + 30000;
  r = Reconcile(dir.path(), o);
  REQUIRE(r.ok());
  CHECK(r->symbols[0].candles_compared == 10);
  CHECK(RunCli({"reconcile", "--data-root", dir.path().string(), "--start", "2020-12-15T02:50:00Z",
                "--end", "2020-12-15T02:59:00Z", "--symbols", "BTCUSDT"},
               &out) == 0);
  CHECK(out.find("10 candles compared, 10 agree") != std::string::npos);
}

TEST_CASE("reconcile reads klines slice by slice: several windows, a partial tail, a missing one",
          "[reconcile]") {
  ScratchDir dir;
  const Market market;
  WriteMarket(dir.path(), market);  // the trades (and a klines slice of 1000, replaced below)
  fs::remove_all(*SeriesDir(dir.path(), "klines", "BTCUSDT", "1m"));
  // Slices of 20 candles (limit 20): [0, 20), [20, 40), [40, 60), the last one partial.
  const Endpoint& kl = *FindEndpoint("klines");
  auto window = [&](int w) {
    return kl.GridSlice("BTCUSDT", "1m", kl.GridIndex("1m", kStart, 20) + w, 20);
  };
  auto body = [&](const SliceKey& k) {
    Market part = market;
    for (CandleRow& c : part.candles) c.present = c.open_ms >= k.start_ms && c.open_ms <= k.end_ms;
    return part.KlinesBody();
  };
  WriteSeries(dir.path(), "klines", "1m",
              {{window(0), SliceStatus::kOk},
               {window(1), SliceStatus::kOk},
               {window(2), SliceStatus::kPartial}},
              body);
  auto r = Reconcile(dir.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  const SymbolReconcile& s = r->symbols[0];
  CHECK(s.klines_slices == 3);
  CHECK(s.trade_slices == 4);
  CHECK(s.trades_read == 3132);
  REQUIRE(s.compared.size() == 1);
  CHECK(s.compared[0].start_ms == kStart);
  CHECK(s.compared[0].end_ms == kStart + 59 * kMinute - 1);
  CHECK(s.candles_compared == 59);
  CHECK(s.agreeing == 59);

  // Without the middle slice its 20 candles are not compared (and its trades are no "candle
  // none": klines do not cover them).
  fs::remove_all(*SeriesDir(dir.path(), "klines", "BTCUSDT", "1m"));
  WriteSeries(dir.path(), "klines", "1m",
              {{window(0), SliceStatus::kOk}, {window(2), SliceStatus::kPartial}}, body);
  r = Reconcile(dir.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  REQUIRE(r->symbols[0].compared.size() == 2);
  CHECK(r->symbols[0].compared[1].start_ms == kStart + 40 * kMinute);
  CHECK(r->symbols[0].candles_compared == 39);
  CHECK(r->symbols[0].disagreeing == 0);
  CHECK(r->symbols[0].trades_read == 3132);
}

TEST_CASE("reconcile: every kind of disagreement is one line, and the exit code is 2",
          "[reconcile]") {
  ScratchDir dir;
  Market market;
  auto& c = market.candles;
  // Candles 3-6, 8-13 have trades ((m % 7) * 18), candles 7 and 14 none.
  const CandleRow orig3 = c[3], orig4 = c[4], orig5 = c[5];
  c[3].volume += 1;
  c[4].count += 1;
  c[5].open += 100000000;
  c[8].high -= 1;
  c[9].low += 1;
  c[10].close += 1;
  c[11].present = false;  // trades but no candle
  c[14].count = 5;        // a candle counting trades where none is stored
  WriteMarket(dir.path(), market);
  std::string out;
  CHECK(RunCli({"reconcile", "--data-root", dir.path().string()}, &out) == kExitDoneWithFailures);
  const Market truth;
  const auto& t = truth.candles;
  std::string volume11;
  const std::string expected =
      Line(3, "volume", Fmt8(orig3.volume + 1), Short(orig3.volume)) +
      Line(4, "trades", std::to_string(orig4.count + 1), std::to_string(orig4.count)) +
      Line(5, "open", Fmt8(orig5.open + 100000000), Short(orig5.open)) +
      Line(8, "high", Fmt8(t[8].high - 1), Short(t[8].high)) +
      Line(9, "low", Fmt8(t[9].low + 1), Short(t[9].low)) +
      Line(10, "close", Fmt8(t[10].close + 1), Short(t[10].close)) +
      Line(11, "candle", "none",
           std::to_string(t[11].count) + " trades, volume " + Short(t[11].volume)) +
      Line(14, "trades", "5", "0");
  CHECK(out.substr(out.find('\n') + 1, expected.size()) == expected);
  CHECK(out.find("59 candles, 51 agree, 8 disagree") != std::string::npos);
  auto r = Reconcile(dir.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  CHECK(r->disagreements.size() == 8);
  CHECK(r->symbols[0].disagreeing == 8);
}

TEST_CASE("reconcile reads a SQLite root as its manifest.json files", "[reconcile][sqlite]") {
  ScratchDir dir;
  Market market;
  market.candles[3].volume += 1;
  market.candles[11].present = false;
  WriteMarket(dir.path(), market);
  std::string json_out, sqlite_out;
  CHECK(RunCli({"reconcile", "--json", "--data-root", dir.path().string()}, &json_out) ==
        kExitDoneWithFailures);
  REQUIRE(Migrate(dir.path(), StateBackend::kSqlite).ok());
  REQUIRE(DetectStateBackend(dir.path()) == StateBackend::kSqlite);
  CHECK(RunCli({"reconcile", "--json", "--data-root", dir.path().string()}, &sqlite_out) ==
        kExitDoneWithFailures);
  CHECK(sqlite_out == json_out);
  auto r = Reconcile(dir.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  CHECK(r->disagreements.size() == 2);
  CHECK(r->symbols[0].agreeing == 57);
}

TEST_CASE("reconcile: invalidated rows count as present and are no trades", "[reconcile]") {
  ScratchDir dir;
  const Market market(/*invalid_every=*/50);
  int64_t invalid = 0;
  for (const Trade& t : market.trades) invalid += t.invalidated ? 1 : 0;
  REQUIRE(invalid > 50);
  WriteMarket(dir.path(), market);
  auto r = Reconcile(dir.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  const SymbolReconcile& s = r->symbols[0];
  CHECK(s.invalidated == invalid);
  CHECK(s.trades_read == static_cast<int64_t>(market.trades.size()));
  CHECK(s.candles_compared == 59);
  CHECK(s.disagreeing == 0);
  CHECK(ReconcileExitCode(*r) == kExitDone);
}

TEST_CASE("reconcile: a gap in the stored ids leaves its candles out", "[reconcile]") {
  ScratchDir dir;
  const Market market;
  WriteMarket(dir.path(), market, /*skip=*/{1});  // ids 1000-1999 not stored
  auto r = Reconcile(dir.path(), ReconcileOptions{});
  REQUIRE(r.ok());
  const SymbolReconcile& s = r->symbols[0];
  CHECK(s.trade_slices == 3);
  CHECK(s.trades_read == 3132 - 1000);
  // Run 0-999 covers the candles before id 999's; run 2000-3131 those after id 2000's.
  const int64_t a = market.CandleOf(999), b = market.CandleOf(2000);
  REQUIRE(a < b);
  REQUIRE(s.compared.size() == 2);
  CHECK(s.compared[0].start_ms == kStart);
  CHECK(s.compared[0].end_ms == kStart + a * kMinute - 1);
  CHECK(s.compared[1].start_ms == kStart + (b + 1) * kMinute);
  CHECK(s.compared[1].end_ms == kStart + 59 * kMinute - 1);
  CHECK(s.candles_compared == a + (59 - b - 1));
  CHECK(s.disagreeing == 0);
  CHECK(ReconcileExitCode(*r) == kExitDone);
}

TEST_CASE("reconcile: nothing to compare, unreadable data and bad usage", "[reconcile]") {
  ScratchDir dir;
  const Market market;
  std::string out, err;
  const std::string root = dir.path().string();
  // An empty root: nothing to compare.
  CHECK(RunCli({"reconcile", "--data-root", root}, &out, &err) == kExitCannotStart);
  CHECK(err.find("nothing to compare") != std::string::npos);
  CHECK(RunCli({"reconcile", "--data-root", (dir.path() / "none").string()}, &out, &err) ==
        kExitCannotStart);
  // Only klines stored.
  WriteSeries(dir.path(), "klines", "1m",
              {{FindEndpoint("klines")->GridSlice("BTCUSDT", "1m", 26800, 1000), SliceStatus::kOk}},
              [&](const SliceKey&) { return market.KlinesBody(); });
  CHECK(RunCli({"reconcile", "--data-root", root}, &out, &err) == kExitCannotStart);
  // A symbol asked for by name without both series is an error.
  CHECK(RunCli({"reconcile", "--data-root", root, "--symbols", "BTCUSDT"}, &out) ==
        kExitDoneWithFailures);
  CHECK(out.find("BTCUSDT: ERROR no aggTrades/BTCUSDT/id series stored") != std::string::npos);

  // A damaged trades response: reported, its ids left out, exit 2.
  WriteMarket(dir.path(), market);
  const fs::path damaged = *SeriesDir(dir.path(), "aggTrades", "BTCUSDT", "id") /
                           ResponseRelativePath(SliceId(IdSlice(2).composite_key()));
  WriteRaw(damaged, "{\"meta\":");
  CHECK(RunCli({"reconcile", "--data-root", root}, &out) == kExitDoneWithFailures);
  CHECK(out.find("  ERROR unreadable aggTrades BTCUSDT:id:2000-2999:1000: ") != std::string::npos);
  CHECK(out.find(" 0 disagree") != std::string::npos);

  // Usage.
  CHECK(RunCli({"reconcile", "--interval", "1w"}, &out, &err) == kExitUsage);
  CHECK(err.find("--interval: reconcile compares klines candles of 1s to 1d, not '1w'") !=
        std::string::npos);
  CHECK(RunCli({"reconcile", "--interval", "id"}, &out, &err) == kExitUsage);
  CHECK(RunCli({"reconcile", "--start", "yesterday"}, &out, &err) == kExitUsage);
  CHECK(RunCli({"reconcile", "--start", "2021-01-02", "--end", "2021-01-01"}, &out, &err) ==
        kExitUsage);
  CHECK(RunCli({"reconcile", "--symbols", "BTCUSDT,"}, &out, &err) == kExitUsage);
  CHECK(RunCli({"reconcile", "--stats-dir", "x"}, &out, &err) == kExitUsage);
  CHECK(RunCli({"holes", "--symbols", "BTCUSDT"}, &out, &err) == kExitUsage);
  CHECK(RunCli({"--start", "2021-01-01"}, &out, &err) == kExitUsage);
}

TEST_CASE("reconcile's decimals are exact", "[reconcile]") {
  Int128 v = 0;
  REQUIRE(ParseScaledDecimal("12.50000000", &v));
  CHECK(FormatScaledDecimal(v) == "12.5");
  Int128 w = 0;
  REQUIRE(ParseScaledDecimal("12.5", &w));
  CHECK(v == w);
  REQUIRE(ParseScaledDecimal("0.00000001", &v));
  CHECK(FormatScaledDecimal(v) == "0.00000001");
  CHECK(FormatScaledDecimal(v * 3) == "0.00000003");
  REQUIRE(ParseScaledDecimal("-3", &v));
  CHECK(FormatScaledDecimal(v) == "-3");
  REQUIRE(ParseScaledDecimal("0.000", &v));
  CHECK(FormatScaledDecimal(v) == "0");
  REQUIRE(ParseScaledDecimal("99999999999999999999.999999999999999999", &v));
  CHECK(FormatScaledDecimal(v) == "99999999999999999999.999999999999999999");
  REQUIRE(ParseScaledDecimal("1.1000000000000000000000", &v));  // zeros beyond 18 digits
  CHECK(FormatScaledDecimal(v) == "1.1");
  // 0.1 + 0.2 is 0.3 exactly (it is not in binary floating point).
  Int128 a = 0, b = 0, c = 0;
  REQUIRE(ParseScaledDecimal("0.1", &a));
  REQUIRE(ParseScaledDecimal("0.2", &b));
  REQUIRE(ParseScaledDecimal("0.3", &c));
  CHECK(a + b == c);
  CHECK_FALSE(ParseScaledDecimal("1.0000000000000000001", &v));  // a 19th digit
  CHECK_FALSE(ParseScaledDecimal("100000000000000000000", &v));  // 21 integer digits
  CHECK_FALSE(ParseScaledDecimal("", &v));
  CHECK_FALSE(ParseScaledDecimal("-", &v));
  CHECK_FALSE(ParseScaledDecimal(".5", &v));
  CHECK_FALSE(ParseScaledDecimal("5.", &v));
  CHECK_FALSE(ParseScaledDecimal("1e5", &v));
  CHECK_FALSE(ParseScaledDecimal("+1", &v));
}

}  // namespace qlir::status_tool
