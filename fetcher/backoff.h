// Exponential backoff with jitter for retried fetch attempts (docs/exchange-rules.md, "429, 418 and
// Retry-After": capped exponential backoff is our choice). Delay before retry n (n = 1 after the
// first failure): d = min(max_ms, base_ms * 2^(n-1)), then a uniformly random value in [d/2, d]
// ("equal jitter"), so that fetchers failing together do not retry together, yet never retry at
// once.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

namespace qlir::fetcher {

class Backoff {
 public:
  Backoff(int64_t base_ms, int64_t max_ms, uint64_t seed);
  // Thread-safe.
  int64_t DelayMs(int retry);
  // The cap before jitter: min(max_ms, base_ms * 2^(retry-1)).
  int64_t CeilingMs(int retry) const;

 private:
  const int64_t base_ms_;
  const int64_t max_ms_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace qlir::fetcher
