// What the planner asks the exchange before it plans (docs/exchange-rules.md, "Window rules" and
// "Other endpoints"), through the HttpClient seam: which symbols exist (GET /api/v3/exchangeInfo),
// the exchange's clock (GET /api/v3/time, or the Date header) and a symbol's first candle (GET
// /api/v3/klines with startTime=0&limit=1, the "listing" start). Errors name the URL, the HTTP
// status and the body.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_client.h"
#include "common/status.h"

namespace qlir::planner {

// The `symbols[].symbol` names of an exchangeInfo body.
Result<std::set<std::string>> ParseExchangeInfoSymbols(std::string_view json);

struct SymbolCheck {
  std::vector<std::string> known;    // in the order asked
  std::vector<std::string> unknown;  // not listed by the exchange
  int64_t date_ms = -1;              // the response's Date header, -1 if absent
};
// Splits `symbols` into those the exchange lists and those it does not.
Result<SymbolCheck> CheckSymbols(HttpClient& http, std::string_view base_url,
                                 const std::vector<std::string>& symbols);

// serverTime of /api/v3/time; if that body is unusable but a Date header came, the Date.
Result<int64_t> FetchServerTime(HttpClient& http, std::string_view base_url);
Result<int64_t> ParseServerTime(std::string_view json);

// The open time of the symbol's first candle for `interval`, nullopt when the exchange has none.
Result<std::optional<int64_t>> FetchFirstCandle(HttpClient& http, std::string_view base_url,
                                                std::string_view symbol, std::string_view interval);
Result<std::optional<int64_t>> ParseFirstCandle(std::string_view json);

}  // namespace qlir::planner
