// The klines slice model (docs/on-disk-format.md, "Slice keys"): KlineSliceKey and its composite
// key `SYMBOL:interval:start_ms-end_ms:limit`, e.g. BTCUSDT:1m:1609459200000-1609465199999:1000,
// deterministic grid slicing, and the /api/v3/klines URL of a slice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/slice_key.h"
#include "common/status.h"

namespace qlir::klines {

inline constexpr int kDefaultLimit = 1000;

// A klines slice: the shared key (common/slice_key.h); start and end are inclusive open times.
using KlineSliceKey = qlir::SliceKey;

// Strict parser: exactly the form composite_key() writes (no signs, no leading zeros, no spaces),
// a valid symbol, a supported interval, start <= end, 1 <= limit <= 1000.
Result<KlineSliceKey> ParseCompositeKey(std::string_view key);

// The global grid: span = interval_ms * limit; slice k covers [k*span, (k+1)*span - 1] from the
// Unix epoch. Returns the index of the slice holding t (t >= 0).
int64_t GridIndex(int64_t t_ms, int64_t interval_ms, int limit = kDefaultLimit);
KlineSliceKey GridSlice(std::string_view symbol, std::string_view interval, int64_t interval_ms,
                        int64_t index, int limit = kDefaultLimit);

// Every grid slice intersecting [start_ms, end_ms], ascending. Errors on a bad interval or
// symbol, or start > end, or a negative start.
Result<std::vector<KlineSliceKey>> GenerateKlineSlices(std::string_view symbol,
                                                       std::string_view interval, int64_t start_ms,
                                                       int64_t end_ms, int limit = kDefaultLimit);

// True when the key lies exactly on the grid (what every slice we store must be).
bool IsGridSlice(const KlineSliceKey& key);

inline constexpr std::string_view kDefaultBaseUrl = "https://api.binance.com";

// <base>/api/v3/klines?symbol=..&interval=..&startTime=..&endTime=..&limit=.., symbol
// percent-encoded (UTF-8 bytes). A trailing '/' on base is ignored.
std::string BuildKlineUrl(std::string_view base_url, const KlineSliceKey& key);

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string PercentEncode(std::string_view s);

}  // namespace qlir::klines
