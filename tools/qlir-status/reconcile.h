// `qlir-status reconcile` (tools/qlir-status/README.md, "Reconcile"): for every symbol with both
// a klines series (`--interval`, default 1m) and an aggTrades series stored, checks each candle
// against the aggregate trades whose time T falls inside it, over the time both cover:
//   trade count = sum of (l - f + 1), volume = exact sum of q, open/close = the first/last
//   trade's price (by id), high/low = the largest/smallest price,
// over the valid trades (rows the exchange invalidated are skipped). Decimals are compared
// exactly (scaled integers, never floating point).
//
// Only stored responses are read (manifest entries `ok` and `partial`). Time both cover: a
// klines `ok` slice covers its window; a `partial` one its candles before the last stored one
// (the last may have been open when fetched). Trades cover a candle only when a run of stored,
// contiguous ids holds a trade before the candle and one after it (or starts at the symbol's
// first trade), so every trade of the candle is stored. Read-only, like the rest of qlir-status.
// Both series are read in time order, one klines slice at a time (memory holds one slice's
// candles and the trades read ahead of it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/qlir-status/ranges.h"

namespace qlir::status_tool {

struct ReconcileOptions {
  std::vector<std::string> symbols;  // empty: every symbol with both series
  std::string interval = "1m";       // the klines interval compared
  // Candles whose open time lies in [start_ms, end_ms] (both inclusive) only.
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
};

// One field of one candle on which the candle and the trades disagree.
struct Disagreement {
  std::string symbol;
  int64_t open_ms = 0;
  std::string field;   // "candle", "trades", "volume", "open", "high", "low", "close"
  std::string candle;  // the candle's value as stored ("none": no candle)
  std::string trades;  // the value the trades give
};

struct SymbolReconcile {
  std::string symbol;
  std::string error;          // a manifest that cannot be read: nothing compared for the symbol
  int64_t klines_slices = 0;  // stored klines responses read
  int64_t trade_slices = 0;   // stored aggTrades responses read
  int64_t first_id = -1;      // smallest and largest stored aggregate trade id
  int64_t last_id = -1;
  std::vector<TimeRange> compared;  // the candles both cover (open time to last ms)
  int64_t candles_compared = 0;
  int64_t agreeing = 0;
  int64_t disagreeing = 0;
  int64_t trades_read = 0;              // aggTrades rows read (invalidated included)
  int64_t invalidated = 0;              // rows skipped as invalidated
  std::vector<std::string> unreadable;  // "KEY: why" for stored responses that could not be read
};

struct ReconcileReport {
  std::filesystem::path data_root;
  std::string interval;
  std::vector<SymbolReconcile> symbols;
  std::vector<Disagreement> disagreements;  // by symbol, then open time
  int64_t candles_compared() const;
  int64_t disagreeing() const;
  bool HasError() const;  // a manifest or a stored response that could not be read
};

// Reconciles every symbol under `root` that has both series (or those of options.symbols; one
// of them without both series is reported with an error). Fails only when the root cannot be
// listed or options are invalid.
Result<ReconcileReport> Reconcile(const std::filesystem::path& root,
                                  const ReconcileOptions& options);

std::string RenderReconcileText(const ReconcileReport& r);
std::string RenderReconcileJson(const ReconcileReport& r);

// 0 everything compared agrees; 2 (kExitDoneWithFailures) a disagreement, or a manifest or
// response that could not be read; 69 (kExitCannotStart) nothing to compare (no symbol with
// both series, or no time both cover).
int ReconcileExitCode(const ReconcileReport& r);

// Exact decimals for reconcile: a plain decimal (-?digits(.digits)?) with at most 18 fraction
// digits (trailing zeros beyond are fine) and 20 integer digits, scaled by 10^18.
__extension__ using Int128 = __int128;
bool ParseScaledDecimal(std::string_view text, Int128* out);
// The shortest plain decimal of a scaled value: 12.5, 0.00000001, -3, 0.
std::string FormatScaledDecimal(Int128 v);

}  // namespace qlir::status_tool
