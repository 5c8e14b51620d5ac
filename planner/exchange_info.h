// What the planner reads from the exchange's answers (docs/exchange-rules.md, "Other endpoints"
// and "Rate limits"): which symbols exist and their status, and the request-weight limit (GET
// /api/v3/exchangeInfo), and the exchange's clock (GET /api/v3/time). Parsers only: the requests
// go through ExchangeClient (exchange_client.h), which retries and shares the weight budget; a
// series' first and last item come from its Endpoint (common/endpoint.h). Parsers never throw;
// errors say what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qlir::planner {

struct WeightLimit {
  int64_t limit = 0;      // weight per window
  int64_t window_ms = 0;  // intervalNum x interval
  friend bool operator==(const WeightLimit&, const WeightLimit&) = default;
};

struct ExchangeInfo {
  std::map<std::string, std::string> status;  // symbol -> "TRADING", "BREAK", ...
  std::optional<WeightLimit> weight;          // rateLimits[REQUEST_WEIGHT], if stated
  // True when `symbol` is listed and trading; false when listed with another status (a
  // delisted symbol is BREAK) or gone.
  bool Trading(const std::string& symbol) const {
    auto it = status.find(symbol);
    return it != status.end() && it->second == "TRADING";
  }
};

// An exchangeInfo body, spot (/api/v3) or USD-M futures (/fapi/v1): `symbols[].symbol` and
// `.status` (a symbol without status counts as TRADING; a futures contract whose contractType is
// not PERPETUAL is left out), and the REQUEST_WEIGHT entry of `rateLimits` (interval SECOND,
// MINUTE, HOUR or DAY times intervalNum). Errors: not JSON, no symbols array.
Result<ExchangeInfo> ParseExchangeInfo(std::string_view json);

// serverTime of a /api/v3/time body.
Result<int64_t> ParseServerTime(std::string_view json);

}  // namespace qlir::planner
