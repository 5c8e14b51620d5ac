// Time helpers: wall clock in ms, ISO-8601 UTC text ("2025-01-01T00:01:23Z"), and a parser for
// user-given times (date or date-time, UTC) and for ISO text back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qlir {

int64_t WallClockMs();
int64_t MonotonicMs();

// Second precision, UTC, ending in Z: 2025-01-01T00:01:23Z (the manifest's format).
std::string FormatIsoUtc(int64_t ms);
// Millisecond precision: 2025-01-01T00:01:23.456Z (logs).
std::string FormatIsoUtcMs(int64_t ms);

// Accepts YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.fff]][Z], with ' ' allowed for 'T'; all UTC.
// Also accepts a plain integer of milliseconds since the epoch.
Result<int64_t> ParseTimeUtc(std::string_view text);

}  // namespace qlir
