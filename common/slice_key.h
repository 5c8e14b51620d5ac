// The slice key every endpoint shares (docs/on-disk-format.md, "Slice keys"): a series (symbol and
// interval, the two folder levels under <root>/binance/<endpoint>/raw/), an inclusive window in
// milliseconds and the item limit, written as the composite key
// `SYMBOL:interval:start_ms-end_ms:limit` (e.g. BTCUSDT:1m:1609459200000-1609465199999:1000).
// Which symbols, intervals and limits are valid is each endpoint's business (common/endpoint.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qlir {

struct SliceKey {
  std::string symbol;
  std::string interval;
  int64_t start_ms = 0;  // inclusive
  int64_t end_ms = 0;    // inclusive
  int limit = 1000;

  std::string composite_key() const;
  std::string slice_id() const;  // BLAKE2b-128 of composite_key() (common/slice_id.h)

  // The closed-window rule, the one place it is written: at the exchange's time `server_ms` the
  // window is closed when server_ms > end_ms. Only then can its data no longer change, so a
  // response fetched then is final (ok); one fetched at or before end_ms is partial and is
  // fetched again once the window has closed. Always the exchange's clock, never the local one.
  bool ClosedAt(int64_t server_ms) const { return server_ms > end_ms; }
  friend bool operator==(const SliceKey&, const SliceKey&) = default;
  friend auto operator<=>(const SliceKey&, const SliceKey&) = default;
};

// What ParseSliceKey leaves to the endpoint (common/endpoint.h): the symbol and interval it
// accepts and its largest limit.
struct SliceKeyRules {
  // Named in the "expected ..." error of a key that does not have four fields.
  std::string_view shape = "SYMBOL:interval:start-end:limit";
  int max_limit = 1000;
  // Judges symbol and interval right after the split, before any number is read, so the
  // endpoint's reason comes first for a key with several faults; may be empty.
  std::function<Status(std::string_view symbol, std::string_view interval)> check_series;
};

// The structural parse of a composite key, the one place it is written. The key splits on its
// last three colons (a symbol may not contain ':'); the series must pass rules.check_series, and
// neither symbol nor interval may be empty nor the symbol hold ':'; start, end and limit are
// canonical non-negative integers (digits only, no sign, no leading zero except "0", fits int64);
// the limit is 1..rules.max_limit and start <= end. Errors read
// "malformed composite key '<key>': <reason>".
Result<SliceKey> ParseSliceKey(std::string_view key, const SliceKeyRules& rules = {});

// Digits only, no sign, no leading zero (except "0" itself), fits int64.
bool ParseCanonicalInt(std::string_view s, int64_t* out);

}  // namespace qlir
