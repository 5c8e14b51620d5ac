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

  // The closed-window rule, the one place it is written: at the exchange's time `server_ms` the
  // window is closed when server_ms > end_ms. Only then can its data no longer change, so a
  // response fetched then is final (ok); one fetched at or before end_ms is partial and is
  // fetched again once the window has closed. Always the exchange's clock, never the local one.
  bool ClosedAt(int64_t server_ms) const { return server_ms > end_ms; }
  friend bool operator==(const SliceKey&, const SliceKey&) = default;
  friend auto operator<=>(const SliceKey&, const SliceKey&) = default;
};

}  // namespace qlir
