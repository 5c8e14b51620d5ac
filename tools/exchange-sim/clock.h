// Clock: the simulator's notion of "now" in ms since the epoch. The server reads it once per
// request, and /api/v3/time, the Date header, the open candle and the rate-limit windows all use
// that one value. Tests inject a ManualClock so windows, bans and the open candle move without
// sleeping (docs/conventions.md, "Seams").
#pragma once

#include <atomic>
#include <cstdint>

#include "common/time_util.h"

namespace qlir::sim {

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual int64_t NowMs() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override { return WallClockMs(); }
};

// Set and advanced by the test; thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace qlir::sim
