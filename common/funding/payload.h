// Validation and audit of a GET /fapi/v1/fundingRate answer against the slice it was asked for
// (docs/exchange-rules.md, "Funding rate history"). The body is stored verbatim; these only read.
// Never throw; errors name the row and field at fault.
#pragma once

#include <string_view>

#include "common/endpoint.h"
#include "common/slice_key.h"
#include "common/status.h"

namespace qlir::funding {

// Checks that `body` is what the exchange sends for `key`:
//  - a JSON array of at most key.limit objects;
//  - each with "symbol" (a string equal to key.symbol), "fundingTime" (an integer),
//    "fundingRate" (a string holding a plain decimal -?digits(.digits)?) and "markPrice" (a
//    string holding a plain decimal, or "" as on rows before late 2023); other fields (the
//    exchange adds "rateType" on some rows) are allowed and ignored;
//  - fundingTime strictly ascending and inside [key.start_ms, key.end_ms].
// An empty array is a valid answer (no event in the window). first_ts and last_ts are the first
// and last fundingTime.
Result<PayloadSummary> ValidateFundingPayload(std::string_view body, const SliceKey& key);

// Every row checked for sense (qlir-status verify): the rules above, and a markPrice, when
// given, not negative. Events more than a second after the hour are counted as irregular (the
// exchange records them a few milliseconds after it).
PayloadAudit AuditFundingPayload(std::string_view body, const SliceKey& key);

// A stored body without a slice (recovery of a file the manifest lacks): a JSON array; n_items is
// its length, first_ts and last_ts the fundingTime of its first and last rows (-1 when absent).
Result<PayloadSummary> SummarizeFundingData(std::string_view raw_data);

}  // namespace qlir::funding
