// GET /api/v3/klines as an Endpoint (common/endpoint.h): the klines slice grid, key rules, URL,
// payload validation and weight, all from this folder (interval.h, slice_key.h, payload.h).
#pragma once

#include "common/endpoint.h"

namespace qlir::klines {

inline constexpr std::string_view kEndpointName = "klines";
inline constexpr int64_t kRequestWeight = 2;  // since 2023-08-25 (docs/exchange-rules.md)

// The one instance, registered in common/endpoint.cc.
const Endpoint& TheKlinesEndpoint();

}  // namespace qlir::klines
