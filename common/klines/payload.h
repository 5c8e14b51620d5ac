// Validation of a GET /api/v3/klines response body against the slice it was asked for
// (docs/exchange-rules.md, "Klines response" and "Irregular candles"). A body that fails here is
// never stored as ok: the fetcher counts it as a failed attempt and retries.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/endpoint.h"
#include "common/klines/slice_key.h"
#include "common/status.h"

namespace qlir::klines {

// n_items, and the open times of the first and last kline (-1 when empty).
using PayloadSummary = qlir::PayloadSummary;

// Checks that `body` is what the exchange sends for `key`:
//  - a JSON array (whitespace allowed between tokens) of arrays of exactly 12 fields;
//  - fields 0 (open time), 6 (close time) and 8 (number of trades) are JSON integers (no
//    fraction or exponent; trades >= 0); fields 1-5, 7, 9, 10, 11 are JSON strings holding a
//    plain decimal ("-"? digits ("." digits)?);
//  - open times strictly ascending and inside [key.start_ms, key.end_ms];
//  - at most key.limit rows.
// Open times are NOT required to lie on the interval grid, and close times are not checked
// against open + interval - 1: early history has misaligned rows (docs/exchange-rules.md,
// "Irregular candles"). An empty array is a valid, complete answer. Never throws; the error names
// the row, field and byte offset at fault.
Result<PayloadSummary> ValidateKlinesPayload(std::string_view body, const KlineSliceKey& key);

// Every row of a stored body checked for sense against its slice (qlir-status verify): the
// shape and window rules of ValidateKlinesPayload, and in each row low <= open <= high,
// low <= close <= high, volume, quote volume, taker buy base and quote volumes not negative
// (decimals compared exactly, as text), number of trades not negative. Open times off the
// interval's grid (multiples of the interval from the epoch; Mondays 00:00 UTC for 1w) and close
// times other than open + interval - 1 are counted as irregular, not bad: the exchange serves
// such rows in early history (docs/exchange-rules.md, "Irregular candles").
PayloadAudit AuditKlinesPayload(std::string_view body, const KlineSliceKey& key);

// Exact comparison of two plain decimals as the exchange writes them (-?digits(.digits)?):
// negative, zero or positive as a < b, a == b, a > b. "1.50" == "1.5", "-0" == "0".
int CompareDecimal(std::string_view a, std::string_view b);

// A stored body without a slice to check it against (recovery of a file the manifest lacks): a
// JSON array; n_items is its length, first_ts and last_ts the first field of its first and last
// rows when that is an integer (else -1). An error when `raw_data` is not a JSON array.
Result<PayloadSummary> SummarizeKlinesData(std::string_view raw_data);

}  // namespace qlir::klines
