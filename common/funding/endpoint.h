// GET /fapi/v1/fundingRate (USD-M futures funding rate history) as an Endpoint
// (common/endpoint.h). Everything about it lives in this folder: the grid of 1000-hour windows,
// key rules, URL, payload validation and audit (payload.h), the futures host and its own rate
// limit (docs/exchange-rules.md, "Funding rate history").
//
// Funding events are not on a fixed grid (every 8 h for most contracts, 4 h or 1 h for some,
// and a contract's interval can change), so the series parameter (the layout's "interval"
// directory and the composite key's interval field) is the shortest funding interval the grid
// allows for, "1h": slice k covers [k * 1000 h, (k + 1) * 1000 h - 1] from the epoch, a window
// that can never hold more than 1000 events, the request's limit (docs/on-disk-format.md).
#pragma once

#include <string_view>

#include "common/endpoint.h"

namespace qlir::funding {

inline constexpr std::string_view kEndpointName = "fundingRate";
inline constexpr std::string_view kInterval = "1h";
inline constexpr int64_t kIntervalMs = 3600000;
inline constexpr int kDefaultLimit = 1000;
inline constexpr std::string_view kDefaultBaseUrl = "https://fapi.binance.com";
// Its own per-IP limit, shared with GET /fapi/v1/fundingInfo: 500 requests per 5 minutes.
inline constexpr int64_t kRequestLimit = 500;
inline constexpr int64_t kRequestWindowMs = 300000;

// The one instance, registered in common/endpoint.cc.
const Endpoint& TheFundingEndpoint();

}  // namespace qlir::funding
