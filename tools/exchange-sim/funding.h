// The simulator's USD-M futures side (docs/exchange-rules.md, "Funding rate history"): a fixed
// set of futures contracts, their deterministic funding events, and the bodies and parameter
// rules of GET /fapi/v1/exchangeInfo and GET /fapi/v1/fundingRate. No HTTP here (server.cc).
//
// Events: a contract settles at every multiple (from the epoch) of the funding interval in force,
// from its first event on, never after `now`; the interval can change at a given time (SOLUSDT:
// 8 h, then 4 h from 2025-06-01). fundingTime is the slot plus 0..49 ms, fundingRate a decimal
// with 8 digits and markPrice "" before 2023-10-31T08:00Z, both pure functions of (symbol, slot).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tools/exchange-sim/api.h"

namespace qlir::sim {

struct FuturesContract {
  std::string symbol;
  std::string contract_type = "PERPETUAL";  // or CURRENT_QUARTER (no funding)
  int64_t onboard_ms = 0;                   // exchangeInfo onboardDate
  int64_t first_event_ms = 0;               // the first funding slot (may precede onboardDate)
  // (from_ms, interval_ms), ascending by from_ms; the first from_ms <= first_event_ms.
  std::vector<std::pair<int64_t, int64_t>> intervals;
  std::optional<int64_t> delisting_ms;  // no slot at or after it; status SETTLING from then
  int64_t price_units = 0;              // typical mark price, 1e-8 units
};

struct FundingEvent {
  int64_t funding_time = 0;
  std::string rate;
  std::string mark_price;
};

// BTCUSDT and ETHUSDT (8 h), SOLUSDT (8 h, 4 h from 2025-06-01T00:00Z), HYPEUSDT (1 h, listed
// 2025-05-30), and BTCUSDT_260327 (a delivery contract: no funding).
const std::vector<FuturesContract>& DefaultFuturesContracts();

// The events with start_ms <= fundingTime <= end_ms and fundingTime <= now_ms, ascending.
std::vector<FundingEvent> FundingEvents(const FuturesContract& c, int64_t start_ms, int64_t end_ms,
                                        int64_t now_ms);

// The compact JSON array the exchange sends for `events`.
std::string FundingJson(const std::string& symbol, const std::vector<FundingEvent>& events);

// GET /fapi/v1/fundingRate: symbol (required here), startTime, endTime, limit (default 100,
// 1..1000). startTime=0 counts as absent. With startTime: the first `limit` events from it up to
// endTime; without: the newest `limit` up to endTime (or now). Errors as for klines: -1101,
// -1104, -1102, -1105, -1100, -1121 (unknown or not a perpetual), -1130, -1023.
std::variant<std::string, ApiError> FundingRateAnswer(const Params& params,
                                                      const std::vector<FuturesContract>& contracts,
                                                      int64_t now_ms);

// GET /fapi/v1/exchangeInfo: every contract (contractType, status TRADING, or SETTLING once
// delisted, onboardDate), and rateLimits REQUEST_WEIGHT = futures_weight per window.
std::string FuturesExchangeInfo(const std::vector<FuturesContract>& contracts,
                                const RateLimitConfig& futures_weight, int64_t now_ms);

// SYMBOL:1h:startTime-endTime:limit from the raw parameters (/sim/counters' windows).
std::string FundingWindowKey(const Params& params);

}  // namespace qlir::sim
