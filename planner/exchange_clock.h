// ExchangeClock: the exchange's idea of "now", kept as an offset from the local monotonic clock
// (common/clock.h). Which candles are closed is decided by the server's time, never by the local
// one (docs/exchange-rules.md, "Other endpoints").
#pragma once

#include <cstdint>

namespace qlir::planner {

// The exchange's clock as an offset from the local Clock.
class ExchangeClock {
 public:
  // `server_ms` was read while the local clock went from `local_before` to `local_after`: the
  // server stamped it somewhere in between, so take the middle.
  void Sync(int64_t server_ms, int64_t local_before, int64_t local_after) {
    offset_ = server_ms - (local_before + (local_after - local_before) / 2);
    synced_ = true;
  }
  void SetOffset(int64_t offset_ms) {
    offset_ = offset_ms;
    synced_ = true;
  }
  // The exchange's time (ms since the Unix epoch) at local time `local_ms`.
  int64_t Now(int64_t local_ms) const { return local_ms + offset_; }
  int64_t offset() const { return offset_; }
  bool synced() const { return synced_; }

 private:
  int64_t offset_ = 0;
  bool synced_ = false;
};

}  // namespace qlir::planner
