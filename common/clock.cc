#include "common/clock.h"

#include <chrono>

#include "common/time_util.h"

namespace qlir {

int64_t RealClock::MonotonicNowMs() const { return MonotonicMs(); }

int64_t RealClock::WallNowMs() const { return WallClockMs(); }

bool RealClock::SleepMs(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ms > 0) {
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
  }
  return !stop_.load();
}

void RealClock::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

bool ManualClock::SleepMs(int64_t ms) {
  if (stop_.load()) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.push_back(ms);
  }
  if (ms > 0) now_ += ms;
  return !stop_.load();
}

std::vector<int64_t> ManualClock::sleeps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeps_;
}

}  // namespace qlir
