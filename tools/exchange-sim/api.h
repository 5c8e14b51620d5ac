// The simulator's REST surface without HTTP: parameter rules and error bodies of
// /api/v3/klines and /api/v3/exchangeInfo (docs/exchange-rules.md: "Klines request" to "HTTP
// statuses and errors"), so they can be tested without sockets. server.cc maps these onto httplib.
//
// klines checks, in this order (the first failing one answers):
//   -1101 a parameter given twice               -1104 an unknown parameter
//   -1102 symbol or interval missing or empty   -1105 startTime/endTime/limit/timeZone empty
//   -1100 startTime/endTime/limit not ^[0-9]{1,20}$
//   -1121 unknown symbol                        -1120 unknown interval (1M is not simulated)
//   -1130 limit outside 1..1000 (never clamped), a time beyond int64, a non-zero timeZone
//   -1023 startTime > endTime
//
// aggTrades checks, in this order:
//   -1101 a parameter given twice               -1104 an unknown parameter
//   -1102 symbol missing or empty               -1105 fromId/startTime/endTime/limit empty
//   -1100 fromId/startTime/endTime/limit not ^[0-9]{1,20}$
//   -1121 unknown symbol
//   -1130 limit outside 1..1000 (never clamped), a value beyond int64
//   -1128 fromId together with startTime or endTime
//   -1023 startTime > endTime
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tools/exchange-sim/candles.h"
#include "tools/exchange-sim/rate_limiter.h"
#include "tools/exchange-sim/tape.h"

namespace qlir::sim {

// Query parameters after URL decoding (httplib::Params has this type).
using Params = std::multimap<std::string, std::string>;

struct ApiError {
  int http_status = 400;
  int code = 0;
  std::string msg;
  // {"code":-1121,"msg":"Invalid symbol."}
  std::string Json() const;
};

// An HTTP 400 with the exchange's error code and message.
ApiError BadRequest(int code, std::string msg);
// The value of a parameter, or nullptr when it was not sent.
const std::string* FindParam(const Params& p, const std::string& key);

struct KlinesRequest {
  const SymbolSpec* spec = nullptr;  // points into the symbol list given to ParseKlinesParams
  std::string interval;
  KlinesWindow window;
};

std::variant<KlinesRequest, ApiError> ParseKlinesParams(const Params& params,
                                                        const std::vector<SymbolSpec>& symbols);

// The (symbol, interval, startTime, endTime, limit) a klines request asked for, from the raw
// parameter text, as `SYMBOL:interval:start-end:limit` (absent ones empty). For a request with
// all five this is common/klines KlineSliceKey::composite_key(); used by /sim/counters.
std::string KlinesWindowKey(const Params& params);

struct AggTradesRequest {
  const SymbolSpec* spec = nullptr;  // points into the symbol list given to ParseAggTradesParams
  AggTradesWindow window;
};

std::variant<AggTradesRequest, ApiError> ParseAggTradesParams(
    const Params& params, const std::vector<SymbolSpec>& symbols);

// The key /sim/counters counts an aggTrades request under, from the raw parameter text: with
// fromId, `SYMBOL:id:<fromId>-<fromId + limit - 1>:<limit>` (the composite key of an aggTrades
// slice; the last id empty when fromId or limit is not a number), else
// `SYMBOL:time:<startTime>-<endTime>:<limit>` (absent ones empty).
std::string AggTradesWindowKey(const Params& params);

// exchangeInfo: no parameter, symbol=S, or symbols=["A","B"]. Returns the body or the error.
std::variant<std::string, ApiError> ExchangeInfo(const Params& params,
                                                 const std::vector<SymbolSpec>& symbols,
                                                 const RateLimitConfig& limits, int64_t now_ms);

// Request weights (docs/exchange-rules.md, "Klines request", "Aggregate trades" and "Other
// endpoints"): klines 2, aggTrades 4, exchangeInfo 20, ping and time 1.
inline constexpr int kWeightKlines = 2;
inline constexpr int kWeightAggTrades = 4;
inline constexpr int kWeightExchangeInfo = 20;
inline constexpr int kWeightPing = 1;
inline constexpr int kWeightTime = 1;

// The -1003 bodies of a 429 and a 418.
ApiError TooManyRequests(const RateLimitConfig& limits);
ApiError Banned(int64_t banned_until_ms);
// The -1003 body of a 429 on /fapi/v1/fundingRate (its limit in requests).
ApiError FundingTooManyRequests(const RateLimitConfig& limits);
// 504 {"code":-1007,...}
ApiError BackendTimeout();

}  // namespace qlir::sim
