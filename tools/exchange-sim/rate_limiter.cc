#include "tools/exchange-sim/rate_limiter.h"

#include <algorithm>

namespace qlir::sim {
namespace {

int64_t CeilSeconds(int64_t ms) { return std::max<int64_t>(1, (ms + 999) / 1000); }

}  // namespace

int64_t RateLimiter::WindowOf(int64_t now_ms) const {
  int64_t q = now_ms / config_.window_ms;
  if (now_ms % config_.window_ms != 0 && now_ms < 0) --q;
  return q;
}

AdmitResult RateLimiter::Admit(const std::string& ip, int64_t weight, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  IpState& s = ips_[ip];
  const int64_t window = WindowOf(now_ms);
  if (s.window != window) {
    s.window = window;
    s.used = 0;
    s.rejected = 0;
  }
  AdmitResult r;
  if (now_ms < s.banned_until_ms) {
    r.admission = Admission::kBanned;
    r.used_weight = s.used;
    r.banned_until_ms = s.banned_until_ms;
    r.retry_after_s = CeilSeconds(s.banned_until_ms - now_ms);
    return r;
  }
  s.used += weight;
  r.used_weight = s.used;
  if (s.used <= config_.weight_limit) return r;
  if (s.rejected >= config_.ban_after) {
    s.banned_until_ms = now_ms + config_.ban_ms;
    r.admission = Admission::kBanned;
    r.ban_started = true;
    r.banned_until_ms = s.banned_until_ms;
    r.retry_after_s = CeilSeconds(config_.ban_ms);
    return r;
  }
  ++s.rejected;
  r.admission = Admission::kLimited;
  r.retry_after_s = CeilSeconds((window + 1) * config_.window_ms - now_ms);
  return r;
}

int64_t RateLimiter::UsedWeight(const std::string& ip, int64_t now_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ips_.find(ip);
  if (it == ips_.end() || it->second.window != WindowOf(now_ms)) return 0;
  return it->second.used;
}

RateLimitConfig RateLimiter::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

void RateLimiter::SetConfig(const RateLimitConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  if (config.window_ms != config_.window_ms) {
    for (auto& [ip, s] : ips_) s.window = INT64_MIN;  // window indexes of another length
  }
  config_ = config;
}

void RateLimiter::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  ips_.clear();
}

}  // namespace qlir::sim
