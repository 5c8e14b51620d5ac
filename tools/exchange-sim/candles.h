// Deterministic candles for the exchange simulator (docs/exchange-rules.md, "Klines response").
//
// Every candle aggregates the symbol's trade tape (tape.h), the aggregate trades that
// /api/v3/aggTrades serves: open, close, high and low are the first, last, highest and lowest
// price of the valid trades with time in [open, open + interval) and time <= now; volume the
// exact sum of their quantities; quote volume the sum of price * quantity / 1e8 (truncated per
// trade); trade count the sum of l - f + 1; taker buy volumes the same sums over trades whose
// buyer is not the maker. A candle without trades (most 1s candles; none of the 1m candles
// outside the still-open one) has 0 trades and volumes, and open = high = low = close = the
// price of the last trade before it, as on the exchange. So a closed candle is a pure function
// of (symbol spec, interval, open time) that any test can recompute (KlinesJson below), the
// still-open candle grows with `now`, and candles opening after `now` never exist. All values
// are integers in units of 1e-8 printed with 8 fraction digits, as the spot API does.
//
// Which candles exist for a symbol:
//   - open times lie on the interval grid: multiples of the interval from the epoch, except 1w,
//     which opens on Mondays 00:00 UTC (epoch + 4 days + k weeks), as the exchange does;
//   - a candle exists when its span [open, open + interval) ends after the listing time, it opens
//     before the delisting time (if any), and its span is not wholly inside a gap window;
//   - and, at serving time, open <= now.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace qlir::sim {

// A window with no trading at all, [start_ms, end_ms). Candles wholly inside it do not exist.
struct GapWindow {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  friend bool operator==(const GapWindow&, const GapWindow&) = default;
};

struct SymbolSpec {
  std::string symbol;
  std::string base_asset;
  std::string quote_asset;
  int64_t listing_ms = 0;
  std::optional<int64_t> delisting_ms;  // candles opening at or after it do not exist
  std::vector<GapWindow> gaps;
  int64_t base_price = 100'00000000;  // typical price, units of 1e-8 quote asset
  int64_t base_volume = 10'00000000;  // typical base volume per minute, units of 1e-8
  int trades_per_minute = 3;          // aggregate trades per minute on average (tape.h)
};

// One kline; prices and volumes in units of 1e-8.
struct Candle {
  int64_t open_time = 0;
  int64_t open = 0;
  int64_t high = 0;
  int64_t low = 0;
  int64_t close = 0;
  int64_t volume = 0;
  int64_t close_time = 0;
  int64_t quote_volume = 0;
  int64_t trades = 0;
  int64_t taker_buy_base = 0;
  int64_t taker_buy_quote = 0;
  friend bool operator==(const Candle&, const Candle&) = default;
};

// Grid of open times for an interval (see the file comment about 1w).
int64_t AlignDown(int64_t t_ms, int64_t interval_ms);
int64_t AlignUp(int64_t t_ms, int64_t interval_ms);

// Existence by listing, delisting and gaps; ignores `now`. REQUIRES: open_ms on the grid.
bool CandleExists(const SymbolSpec& spec, int64_t interval_ms, int64_t open_ms);

// The candle opening at open_ms as served at now_ms. A closed candle (open + interval <= now)
// does not depend on now_ms. REQUIRES: open_ms on the grid and open_ms <= now_ms.
Candle MakeCandle(const SymbolSpec& spec, int64_t interval_ms, int64_t open_ms, int64_t now_ms);

// A klines query after parameter validation (see api.h for the HTTP parameter rules).
struct KlinesWindow {
  int64_t interval_ms = 60'000;
  std::optional<int64_t> start_ms;  // inclusive bound on open time
  std::optional<int64_t> end_ms;    // inclusive bound on open time
  int limit = 500;                  // 1..1000
};

// Open times the exchange returns for `window` at now_ms, ascending:
//   start given: the oldest `limit` candles with start <= open <= min(end, now);
//   otherwise:   the newest `limit` candles with open <= min(end, now) (end may be absent).
// Never walks through a gap or the time before listing candle by candle.
std::vector<int64_t> SelectOpenTimes(const SymbolSpec& spec, const KlinesWindow& window,
                                     int64_t now_ms);

// The exchange's compact JSON for one candle / for a whole window, appended to *out.
void AppendCandleJson(const Candle& candle, std::string* out);
void AppendKlinesJson(const SymbolSpec& spec, const KlinesWindow& window, int64_t now_ms,
                      std::string* out);

// The exact body the simulator serves for a valid klines request (for end-to-end tests that
// recompute what a window holds). Errors on an unknown interval or a limit outside 1..1000.
Result<std::string> KlinesJson(const SymbolSpec& spec, std::string_view interval,
                               std::optional<int64_t> start_ms, std::optional<int64_t> end_ms,
                               int limit, int64_t now_ms);

// Formats units of 1e-8 as the exchange does: "0.01634790", "29000.00000000".
void AppendDecimal8(int64_t units, std::string* out);

}  // namespace qlir::sim
