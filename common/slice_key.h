// The slice key every endpoint shares (docs/on-disk-format.md, "Slice keys"): a series (symbol and
// interval, the two folder levels under <root>/binance/<endpoint>/raw/), an inclusive window in
// milliseconds and the item limit, written as the composite key
// `SYMBOL:interval:start_ms-end_ms:limit` (e.g. BTCUSDT:1m:1609459200000-1609465199999:1000).
// Which symbols, intervals and limits are valid is each endpoint's business (common/endpoint.h).
#pragma once

#include <cstdint>
#include <string>

namespace qlir {

struct SliceKey {
  std::string symbol;
  std::string interval;
  int64_t start_ms = 0;  // inclusive
  int64_t end_ms = 0;    // inclusive
  int limit = 1000;

  std::string composite_key() const;
  std::string slice_id() const;  // BLAKE2b-128 of composite_key() (common/slice_id.h)
  friend bool operator==(const SliceKey&, const SliceKey&) = default;
  friend auto operator<=>(const SliceKey&, const SliceKey&) = default;
};

}  // namespace qlir
