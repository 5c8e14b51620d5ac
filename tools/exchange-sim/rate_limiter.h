// Request-weight limiter per client IP, as the exchange applies it (docs/exchange-rules.md,
// "Rate limits"): fixed windows aligned to the clock (window k covers
// [k * window_ms, (k + 1) * window_ms)), a weight limit per window, HTTP 429 beyond it, and an
// automatic ban (HTTP 418) for a client that keeps sending while limited.
//
// Rules, per IP:
//   - a banned IP gets kBanned until the ban ends; those requests are not charged;
//   - otherwise the request's weight is added to the window's used weight (also when rejected:
//     used weight can exceed the limit, as on the exchange);
//   - used > limit: the request is rejected. The first `ban_after` rejections in a window are
//     kLimited (429); the next one starts a ban of ban_ms and is kBanned (418).
// Time comes from the caller (an injected clock), so tests run without sleeping.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace qlir::sim {

struct RateLimitConfig {
  int64_t weight_limit = 6000;
  int64_t window_ms = 60'000;
  int64_t ban_ms = 120'000;
  int64_t ban_after = 10;  // 429s tolerated per window before a ban
};

enum class Admission { kOk, kLimited, kBanned };

struct AdmitResult {
  Admission admission = Admission::kOk;
  int64_t used_weight = 0;      // in the current window, after this request
  int64_t retry_after_s = 0;    // for kLimited / kBanned: ceil(wait / 1 s), at least 1
  int64_t banned_until_ms = 0;  // for kBanned
  bool ban_started = false;     // this request started the ban
};

// Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimitConfig config) : config_(config) {}
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  AdmitResult Admit(const std::string& ip, int64_t weight, int64_t now_ms);
  // Used weight of ip in the window holding now_ms (0 if none).
  int64_t UsedWeight(const std::string& ip, int64_t now_ms) const;
  // Forgets all windows and bans.
  void Reset();
  RateLimitConfig config() const;
  // Replaces the limits (POST /sim/limits). Used weight and bans in progress are kept; a new
  // window length starts new windows. REQUIRES: config valid (see ParseLimitsJson).
  void SetConfig(const RateLimitConfig& config);

 private:
  struct IpState {
    int64_t window = INT64_MIN;  // index of the window the counts below belong to
    int64_t used = 0;
    int64_t rejected = 0;  // 429s in this window
    int64_t banned_until_ms = 0;
  };
  int64_t WindowOf(int64_t now_ms) const;  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  RateLimitConfig config_;                        // guarded by mu_
  std::unordered_map<std::string, IpState> ips_;  // guarded by mu_
};

}  // namespace qlir::sim
