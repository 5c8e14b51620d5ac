#include "fetcher/rate_limiter.h"

#include <algorithm>
#include <charconv>

namespace qlir::fetcher {
namespace {

std::optional<int64_t> ParseNonNegative(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && s[b] == ' ') ++b;
  while (e > b && s[e - 1] == ' ') --e;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data() + b, s.data() + e, v);
  if (b == e || ec != std::errc() || p != s.data() + e || v < 0) return std::nullopt;
  return v;
}

}  // namespace

int64_t RateLimiter::budget(const RateState& state) const {
  if (options_.max_weight > 0) return std::min(Limit(state), options_.max_weight);
  return Limit(state);
}

std::string RateLimiter::UsedWeightHeader(int64_t window_ms) {
  const int64_t w = window_ms;
  std::string suffix;
  if (w % 86400000 == 0) {
    suffix = std::to_string(w / 86400000) + "d";
  } else if (w % 3600000 == 0) {
    suffix = std::to_string(w / 3600000) + "h";
  } else if (w % 60000 == 0) {
    suffix = std::to_string(w / 60000) + "m";
  } else {
    suffix = std::to_string(std::max<int64_t>(1, w / 1000)) + "s";
  }
  return "x-mbx-used-weight-" + suffix;
}

int64_t RateLimiter::WindowStart(const RateState& state, int64_t t_ms) const {
  const int64_t w = Window(state);
  int64_t r = t_ms % w;
  if (r < 0) r += w;
  return t_ms - r;
}

int64_t RateLimiter::Allowance(const RateState& state, int64_t elapsed_ms) const {
  const int64_t b = budget(state);
  if (!options_.pace) return b;
  const int64_t top = b - b * options_.pace_margin_permille / 1000;
  const int64_t burst =
      std::min(top, std::max<int64_t>(1, b * options_.pace_burst_permille / 1000));
  return burst + (top - burst) * elapsed_ms / Window(state);
}

void RateLimiter::Learn(RateState& state, int64_t now_ms, int64_t limit, int64_t window_ms) const {
  if (limit < 1 || window_ms < 1000) return;
  if (window_ms != Window(state)) {
    // Windows of another length: what was counted in the old one is kept as a floor of the new
    // one (the safe side), and the new window starts where now_ms falls.
    const int64_t used = state.used;
    state.window_ms = window_ms;
    state.window_start_ms = WindowStart(state, now_ms);
    state.used = used;
    state.next_used = 0;
  }
  state.limit = limit;
}

void RateLimiter::Roll(RateState& state, int64_t now_ms) const {
  const int64_t start = WindowStart(state, now_ms);
  // A clock that went back (or a process with a clock behind ours) keeps the newer window:
  // counting against it is the safe side.
  if (start > state.window_start_ms) {
    const bool adjacent = start == state.window_start_ms + Window(state);
    state.window_start_ms = start;
    state.used = adjacent ? state.next_used : 0;
    state.next_used = 0;
  }
}

int64_t RateLimiter::Reserve(RateState& state, int64_t now_ms, int64_t weight) const {
  Roll(state, now_ms);
  if (now_ms < state.pause_until_ms) return state.pause_until_ms - now_ms;
  const int64_t window = Window(state);
  const int64_t next = state.window_start_ms + window;
  // Paced, the grace is not needed: wherever the exchange's window boundaries really fall
  // (clock skew, latency), a window-long interval holds one burst and a window's worth of the
  // even rate, burst + (top - burst) = top < budget. Counting late requests twice would only
  // throw away a second of budget every window.
  const bool late =
      !options_.pace && next - now_ms <= std::min(options_.window_grace_ms, window / 2);
  const int64_t elapsed = now_ms - state.window_start_ms;
  const int64_t need = state.used + weight;
  const bool next_ok = !late || state.next_used + weight <= budget(state);
  if (need <= Allowance(state, elapsed) && next_ok) {
    state.used += weight;
    if (late) state.next_used += weight;
    return 0;
  }
  if (options_.pace && next_ok && need <= Allowance(state, window - 1)) {
    // Wait for the first ms at which the paced allowance reaches `need` (it only grows).
    int64_t lo = elapsed, hi = window - 1;
    while (lo + 1 < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      (Allowance(state, mid) >= need ? hi : lo) = mid;
    }
    return std::max<int64_t>(1, hi - elapsed);
  }
  return std::max<int64_t>(1, next - now_ms);
}

void RateLimiter::Observe(RateState& state, int64_t now_ms, int64_t sent_ms,
                          const RateObservation& obs) const {
  Roll(state, now_ms);
  const bool same_window = WindowStart(state, sent_ms) == state.window_start_ms &&
                           WindowStart(state, now_ms) == state.window_start_ms;
  if (obs.used_weight && same_window) state.used = std::max(state.used, *obs.used_weight);
  if (obs.status == 429 && obs.used_weight && same_window && *obs.used_weight <= Limit(state)) {
    // Refused within what we took for the limit: the real one is lower (the header counts the
    // refused request too, so the limit is below it).
    state.limit = std::max<int64_t>(1, *obs.used_weight - 1);
  }
  if (obs.status == 429) {
    int64_t wait_ms =
        obs.retry_after_s ? *obs.retry_after_s * 1000 : options_.default_retry_after_429_ms;
    if (wait_ms < 0) wait_ms = state.window_start_ms + Window(state) - now_ms;
    state.pause_until_ms = std::max(state.pause_until_ms, now_ms + wait_ms);
  } else if (obs.status == 418) {
    const int64_t wait_ms = obs.retry_after_s ? *obs.retry_after_s * 1000 : options_.default_ban_ms;
    state.pause_until_ms = std::max(state.pause_until_ms, now_ms + wait_ms);
  }
}

RateObservation RateLimiter::ObservationFrom(int status,
                                             const std::map<std::string, std::string>& headers,
                                             int64_t window_ms) const {
  RateObservation obs;
  obs.status = status;
  if (options_.read_used_weight) {
    auto it = headers.find(UsedWeightHeader(window_ms > 0 ? window_ms : options_.window_ms));
    if (it == headers.end()) it = headers.find("x-mbx-used-weight-1m");
    if (it != headers.end()) obs.used_weight = ParseNonNegative(it->second);
  }
  if (auto ra = headers.find("retry-after"); ra != headers.end()) {
    obs.retry_after_s = ParseNonNegative(ra->second);
  }
  return obs;
}

}  // namespace qlir::fetcher
