// Clock: the one source of time for every process, in the manner of LevelDB's Env (the clock
// seam of docs/conventions.md, "Seams"). Logic takes a Clock& and never reads the system clock
// itself, so that tests drive time with a ManualClock and
// leases, liveness, backoff, flushes and rate windows run without sleeping.
//   - MonotonicNowMs: ms from an arbitrary origin that never goes back (timeouts, cadences).
//   - WallNowMs: ms since the Unix epoch (rate-limit windows aligned as the exchange aligns them,
//     manifest and stats times, the exchange's "now").
//   - SleepMs: waits, and returns false (early if need be) once RequestStop was called, so that a
//     stop wakes every backoff and rate-limit wait at once.
// Thread-safe: any thread may read, sleep or stop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace qlir {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t MonotonicNowMs() const = 0;
  virtual int64_t WallNowMs() const = 0;
  // Waits `ms` (<= 0: not at all). Returns false, early if need be, once a stop was requested.
  virtual bool SleepMs(int64_t ms) = 0;
  virtual bool StopRequested() const = 0;
  virtual void RequestStop() = 0;
};

// The system's clocks; sleeps on a condition variable that RequestStop wakes.
class RealClock final : public Clock {
 public:
  RealClock() = default;
  RealClock(const RealClock&) = delete;
  RealClock& operator=(const RealClock&) = delete;

  int64_t MonotonicNowMs() const override;
  int64_t WallNowMs() const override;
  bool SleepMs(int64_t ms) override;
  bool StopRequested() const override { return stop_.load(); }
  void RequestStop() override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;  // signalled by RequestStop
  std::atomic<bool> stop_{false};
};

// Tests: one time that moves only when told to or when someone sleeps (a sleep advances it by
// its length, so backoff and Retry-After run instantly). Monotonic and wall time are the same
// number. Records every sleep.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 0) : now_(now_ms) {}
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  int64_t MonotonicNowMs() const override { return now_.load(); }
  int64_t WallNowMs() const override { return now_.load(); }
  bool SleepMs(int64_t ms) override;
  bool StopRequested() const override { return stop_.load(); }
  void RequestStop() override { stop_ = true; }

  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }
  std::vector<int64_t> sleeps() const;

 private:
  std::atomic<int64_t> now_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<int64_t> sleeps_;  // guarded by mu_
};

}  // namespace qlir
