#include "fetcher/clock.h"

#include <chrono>

#include "common/time_util.h"

namespace qlir::fetcher {

int64_t RealClock::NowMs() { return WallClockMs(); }

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

}  // namespace qlir::fetcher
