// Binance kline intervals and their fixed lengths (docs/exchange-rules.md, "Intervals").
// Only fixed-length intervals are supported: 1M (a calendar month) has no fixed length.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace qlir::klines {

// "1m" -> 60000. Case-sensitive, as the exchange is ("1M" is a month and is rejected).
Result<int64_t> IntervalToMs(std::string_view interval);

// Every supported interval, shortest first.
const std::vector<std::string>& SupportedIntervals();

}  // namespace qlir::klines
