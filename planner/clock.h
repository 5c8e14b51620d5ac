// Clocks of the planner (docs/conventions.md, "Seams"): a monotonic local Clock, manual in tests,
// so that leases, liveness, backoff and refresh run without sleeping; and the ExchangeClock, the
// exchange's idea of "now" kept as an offset from the local clock (docs/exchange-rules.md, "Other
// endpoints": decide which candles are closed by the server's time, never by the local one).
#pragma once

#include <cstdint>

#include "common/time_util.h"

namespace qlir::planner {

// Milliseconds from an arbitrary origin; never goes back.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() override { return MonotonicMs(); }
};

// A clock that moves only when told (tests).
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_(start_ms) {}
  int64_t NowMs() override { return now_; }
  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }

 private:
  int64_t now_;
};

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
