// Clock: wall-clock time and interruptible sleeps for the fetcher (docs/conventions.md, "Seams").
// The rate limiter aligns its windows to the wall clock as the exchange does, so this is wall time,
// not monotonic time. RealClock sleeps on a condition variable that RequestStop() wakes;
// ManualClock advances its time on each sleep so that backoff and Retry-After run instantly.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace qlir::fetcher {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() = 0;
  // Waits `ms` (<= 0: not at all). Returns false, early if need be, once a stop was requested.
  virtual bool SleepMs(int64_t ms) = 0;
  virtual bool StopRequested() = 0;
};

// Thread-safe: any thread may sleep; RequestStop() wakes them all.
class RealClock final : public Clock {
 public:
  RealClock() = default;
  RealClock(const RealClock&) = delete;
  RealClock& operator=(const RealClock&) = delete;

  int64_t NowMs() override;
  bool SleepMs(int64_t ms) override;
  bool StopRequested() override { return stop_.load(); }
  void RequestStop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;  // signalled by RequestStop
  std::atomic<bool> stop_{false};
};

// Time moves only when told to or when someone sleeps. Records every sleep.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_(now_ms) {}
  int64_t NowMs() override { return now_.load(); }
  bool SleepMs(int64_t ms) override {
    if (stop_.load()) return false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sleeps_.push_back(ms);
    }
    if (ms > 0) now_ += ms;
    return !stop_.load();
  }
  bool StopRequested() override { return stop_.load(); }
  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }
  void RequestStop() { stop_ = true; }
  std::vector<int64_t> sleeps() {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

 private:
  std::atomic<int64_t> now_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int64_t> sleeps_;  // guarded by mu_
};

}  // namespace qlir::fetcher
