#include "fetcher/backoff.h"

#include <algorithm>

namespace qlir::fetcher {

Backoff::Backoff(int64_t base_ms, int64_t max_ms, uint64_t seed)
    : base_ms_(std::max<int64_t>(0, base_ms)), max_ms_(std::max<int64_t>(0, max_ms)), rng_(seed) {}

int64_t Backoff::CeilingMs(int retry) const {
  int64_t d = base_ms_;
  for (int i = 1; i < retry && d < max_ms_; ++i) d *= 2;
  return std::min(d, max_ms_);
}

int64_t Backoff::DelayMs(int retry) {
  const int64_t d = CeilingMs(retry);
  if (d <= 1) return d;
  std::lock_guard<std::mutex> lock(mu_);
  std::uniform_int_distribution<int64_t> dist(d / 2, d);
  return dist(rng_);
}

}  // namespace qlir::fetcher
