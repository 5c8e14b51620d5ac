// GET /api/v3/aggTrades (spot aggregate trades) as an Endpoint (common/endpoint.h). Everything
// about it lives in this folder: the grid of id ranges, key rules, URL, payload validation and
// audit (payload.h), its request weight (docs/exchange-rules.md, "Aggregate trades").
//
// Aggregate trade ids are contiguous per symbol, so the slices are id ranges, not time windows
// (Endpoint::Axis::kId): the series parameter (the layout's "interval" directory and the
// composite key's interval field) is "id", and slice k of the grid holds ids
// [k * 1000, k * 1000 + 999], fetched with fromId = k * 1000 and limit = 1000. A slice is final
// when its last id is there; before that it is partial, the open tail (docs/on-disk-format.md).
#pragma once

#include <string_view>

#include "common/endpoint.h"

namespace qlir::aggtrades {

inline constexpr std::string_view kEndpointName = "aggTrades";
inline constexpr std::string_view kInterval = "id";
inline constexpr int kDefaultLimit = 1000;
// Weight 4 in the spot REQUEST_WEIGHT budget, the one klines spend (since 2025-03-10).
inline constexpr int64_t kRequestWeight = 4;

// The one instance, registered in common/endpoint.cc.
const Endpoint& TheAggTradesEndpoint();

}  // namespace qlir::aggtrades
