// The trade tape of a simulated spot symbol: every aggregate trade GET /api/v3/aggTrades serves,
// and the trades every kline is aggregated from (candles.h), so trades and candles agree exactly
// (README.md, "Trade tape"). A pure function of the SymbolSpec; nothing is stored.
//
// Shape:
//   - Trading minutes: minutes whose 1m candle exists (candles.h: the span ends after the
//     listing, opens before the delisting, is not wholly inside a gap; overlapping or touching
//     gaps count as one). Every trading minute holds rows, every other minute none.
//   - Minute n (the n-th trading minute, from 0) holds rows [R(n), R(n+1)) with
//     R(n) = k*n + e(n), e(0) = 0, e(n) a hashed bit for k >= 2 (0 for k = 1), k the spec's
//     trades_per_minute: k-1 to k+1 rows a minute, k on average. Aggregate ids start at 0.
//   - The rows of a minute sit in the longest part of it that is outside gaps and inside
//     [listing, delisting), one per equal slot, so times ascend.
//   - Underlying trade ids: row a starts at F(a) = 2a + e'(a) (e'(0) = 0, else a hashed bit);
//     a valid row owns [F(a), F(b) - 1] where b is the next valid row, so 1 to 3+ trades each and
//     l + 1 of one valid row is f of the next. Quantities telescope the same way: row a holds
//     V(b) - V(a) with V(a) = a*v + w(a), v = volume / k, w(a) hashed in [0, v). So the trade
//     count and the volume of any id range cost O(1).
//   - Prices: p = max(1, price * (1 + ppm / 1e6)), ppm = two triangle waves of T (piecewise
//     linear) + noise of T in [-200, 200]. So the highest and lowest price of a long id range lie
//     where the waves come within the noise of their best value over the range, next to a
//     turning point or an end, and Summarize reads only those rows.
//   - Invalidated rows: in each block of 500 ids, the one at a hashed position, unless it is the
//     first row of its minute (so no minute is left without a valid row): p = q = 0, f = l = -1,
//     a, T, m and M kept.
// Id -> row and time -> id cost O(number of gaps); a sequential Cursor costs O(1) a row.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/exchange-sim/candles.h"

namespace qlir::sim {

// One aggregate trade; prices and quantities in units of 1e-8.
struct AggTrade {
  int64_t id = 0;            // a
  int64_t price = 0;         // p (0 when invalidated)
  int64_t qty = 0;           // q (0 when invalidated)
  int64_t first_trade = 0;   // f (-1 when invalidated)
  int64_t last_trade = 0;    // l (-1 when invalidated)
  int64_t time = 0;          // T, ms
  bool buyer_maker = false;  // m
  bool best_match = true;    // M
  bool valid() const { return first_trade >= 0; }
  friend bool operator==(const AggTrade&, const AggTrade&) = default;
};

// The trade price model shared with candles that hold no trade: the price at instant t.
int64_t TapePriceAt(const SymbolSpec& spec, int64_t t_ms);

class Tape {
 public:
  // Copies what it needs from spec (gaps are sorted and merged).
  explicit Tape(const SymbolSpec& spec);

  // The number of rows with time < t: the id of the first row at or after t. Any t.
  int64_t CountBefore(int64_t t_ms) const;
  // One past the last id there will ever be (the delisting's CountBefore); a huge value for a
  // symbol that is never delisted.
  int64_t end_id() const { return end_id_; }
  // Rows with time <= now: ids [0, CountUpTo(now)).
  int64_t CountUpTo(int64_t now_ms) const;
  // REQUIRES: 0 <= id < end_id().
  AggTrade Row(int64_t id) const;
  bool Invalidated(int64_t id) const;
  // The price of the last valid row before `id`, or of the first valid row when there is none
  // before it; TapePriceAt(listing) for a tape without rows.
  int64_t PriceBefore(int64_t id) const;

  // What a candle holds: the valid rows of ids [first, last).
  struct Summary {
    bool has_trades = false;  // a valid row in the range; the rest is 0 when not
    int64_t open = 0, high = 0, low = 0, close = 0;  // prices of the first, highest, ...
    int64_t volume = 0;                              // sum of q (saturating)
    int64_t trades = 0;                              // sum of l - f + 1
  };
  // REQUIRES: 0 <= first <= last <= end_id(). Cost: O(last - first) up to a few hundred rows,
  // then about O(number of gaps + turning points of the waves) lookups and a few dozen rows.
  Summary Summarize(int64_t first, int64_t last) const;
  // The same by reading every row (tests compare the two).
  Summary SummarizeByScan(int64_t first, int64_t last) const;
  // Summarize reads every row of ranges up to this many rows.
  static constexpr int64_t kFullRows = 16;

  class Cursor;

 private:
  // F(id) and w(id) of a row, known from the row before (a cursor reads on).
  struct Carry {
    int64_t id = -1;
    int64_t f = 0;
    int64_t w = 0;
  };

 public:
  // What SummarizeByScan does from the cursor's row up to `last` (the cursor ends there), so that
  // consecutive short candles share one cursor.
  static Summary ScanRows(Cursor* cursor, int64_t last);

  // Reads rows in id order, O(1) a row.
  class Cursor {
   public:
    // REQUIRES: 0 <= id <= tape.end_id(); `tape` outlives the cursor. prices_only: rows carry
    // id, time, price and validity only (qty, f and l are left 0; f is -1 when invalidated).
    Cursor(const Tape& tape, int64_t id, bool prices_only = false);
    int64_t id() const { return id_; }
    // The row at id(). REQUIRES: id() < end_id().
    const AggTrade& row() const { return row_; }
    void Next();

   private:
    void EnterMinute();  // minute n_ is set: load its bounds
    void Load();         // fills row_ for id_
    const Tape& tape_;
    int64_t id_ = 0;
    int64_t n_ = 0;           // trading minute index of id_
    int64_t minute_ms_ = 0;   // its open time
    int64_t first_id_ = 0;    // R(n_)
    int64_t end_minute_ = 0;  // R(n_ + 1)
    int64_t lo_ = 0, hi_ = 0;
    bool next_invalid_ = false;  // Invalidated(id_ + 1) after Load()
    bool prices_only_ = false;
    Carry carry_;
    AggTrade row_;
  };

 private:
  struct Span {
    int64_t start = 0;
    int64_t end = 0;
  };
  int64_t R(int64_t n) const;
  int64_t MinuteOfId(int64_t id) const;    // n with R(n) <= id < R(n+1)
  int64_t MinuteStart(int64_t n) const;    // open time of the n-th trading minute
  int64_t MinutesBefore(int64_t m) const;  // trading minutes in [first_minute_, m), m aligned
  bool IsTradingMinute(int64_t m) const;
  Span FreeSpan(int64_t m) const;          // where minute m's rows sit
  int64_t TradeIdStart(int64_t id) const;  // F(id)
  int64_t VolumeOffset(int64_t id) const;  // w(id)
  int64_t NextValid(int64_t id) const;     // the first valid id after id
  int64_t FirstValidAtOrAfter(int64_t id) const;
  // Sum of q over the valid rows of [a, b) where a and b are valid ids (or end ids): V(b) - V(a).
  int64_t VolumeBetween(int64_t a, int64_t b) const;
  // The wave part of the price's ppm at t (the price without noise), and the noise bound.
  int64_t WavePpm(int64_t t) const;
  // Id, time, price and validity of a row (MakeRow's prices_only).
  AggTrade PriceRow(int64_t id) const;
  // Highest (want_high) or lowest price of the valid rows in [first, last), reading only rows
  // near the waves' extremes; a and z are the first and the last valid row of the range.
  int64_t Extreme(int64_t first, int64_t last, const AggTrade& a, const AggTrade& z,
                  bool want_high) const;
  // Fills *row for id in the minute whose rows are [first, end) and sit in span; invalid and
  // next_invalid are Invalidated(id) and Invalidated(id + 1).
  // prices_only: leaves qty, f and l out (f = -1 still marks an invalidated row). carry: F and w
  // of id when carry->id == id; set to those of the next valid row.
  void MakeRow(int64_t id, Span span, int64_t first, int64_t end, bool invalid, bool next_invalid,
               AggTrade* row, bool prices_only = false, Carry* carry = nullptr) const;

  SymbolSpec spec_;  // gaps merged
  uint64_t seed_ = 0;
  int64_t k_ = 3;
  int64_t mean_qty_ = 1;  // v: units of 1e-8 per row on average
  int64_t first_minute_ = 0;
  int64_t end_minute_ = 0;         // minutes at or after it have no rows
  std::vector<Span> gap_minutes_;  // whole minutes inside a gap, >= first_minute_, ascending
  int64_t end_id_ = 0;
};

// An aggTrades query after parameter validation (api.h has the HTTP rules).
struct AggTradesWindow {
  std::optional<int64_t> from_id;   // never together with a time
  std::optional<int64_t> start_ms;  // inclusive bound on T
  std::optional<int64_t> end_ms;    // inclusive bound on T
  int limit = 500;                  // 1..1000
};

// The ids the exchange returns for `window` at now_ms, [first, last), ascending, of rows with
// T <= now:
//   fromId:          ids >= fromId, at most limit;
//   start and/or end: the oldest `limit` rows with start <= T <= end (absent bounds open);
//   neither:         the newest `limit` rows.
struct IdRange {
  int64_t first = 0;
  int64_t last = 0;
};
IdRange SelectAggTradeIds(const Tape& tape, const AggTradesWindow& window, int64_t now_ms);

// The exchange's compact JSON, {"a":..,"p":"..","q":"..","f":..,"l":..,"T":..,"m":..,"M":..}
// per row, for one row / a whole window, appended to *out.
void AppendAggTradeJson(const AggTrade& row, std::string* out);
void AppendAggTradesJson(const Tape& tape, const AggTradesWindow& window, int64_t now_ms,
                         std::string* out);

// The exact body the simulator serves for a valid aggTrades request (tests recompute windows
// with it). Errors on a limit outside 1..1000 or fromId combined with a time.
Result<std::string> AggTradesJson(const SymbolSpec& spec, std::optional<int64_t> from_id,
                                  std::optional<int64_t> start_ms, std::optional<int64_t> end_ms,
                                  int limit, int64_t now_ms);

}  // namespace qlir::sim
