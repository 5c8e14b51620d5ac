// The request-weight budget of one IP (docs/exchange-rules.md, "Rate limits"), as plain
// logic over a RateState so that several threads and processes can share one state (see
// shared_rate_state.h) and tests can drive it with a manual clock.
//
// The exchange counts weight in fixed windows aligned to the clock (hh:mm:00.000 to
// hh:mm:59.999 for 1 minute) and resets to zero when the next window starts. We mirror that:
// every request reserves its weight in the current window before it is sent, and every
// response's X-MBX-USED-WEIGHT-<window> header raises the count to what the exchange has seen
// (which includes other programs on the same IP). A request reserved in the last
// window_grace_ms of a window is also counted in the next one, since it may arrive there.
// 429 and 418 pause everybody until Retry-After has passed.
//
// The limit is learned, not assumed: the planner reads it from exchangeInfo's rateLimits
// (REQUEST_WEIGHT) and hands it to every fetcher in its jobs; Learn() stores it in the shared
// state, where it overrides the options' weight_limit and window_ms for every process on the
// host. A 429 whose used-weight header is within what we believed the limit to be proves the
// limit lower: the state's limit drops to just under that header, so a wrong guess costs one
// 429 (and the pause it brings), never the run of 429s that ends in a 418 ban.
//
// Pacing (options.pace): without it the budget is spent as fast as the transfers go at the
// window's start, and any other program on the IP meets 429s for the rest of the window. With
// it, the weight the window may hold grows with time: a burst at the start, then the rest of
// the budget (less a margin) released evenly up to the window's end. Since the used-weight
// header counts every program on the IP, what others spend comes off our share as they spend
// it, and the exchange's count never passes the budget before the window ends. Paced, requests
// reserved late in a window are not counted in the next one too (window_grace_ms is unused):
// any window-long interval, wherever the exchange's boundaries fall, holds at most one burst
// and one window of the even rate, which is the top (budget less the margin).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace qlir::fetcher {

// What the processes on one host share. All times are wall-clock ms since the epoch.
struct RateState {
  int64_t window_start_ms = 0;  // start of the window `used` belongs to
  int64_t used = 0;             // weight used in it: our reservations or the header, the larger
  int64_t next_used = 0;        // reserved late in this window, counted in the next one too
  int64_t pause_until_ms = 0;   // nobody sends before this (429/418)
  int64_t limit = 0;            // learned weight limit per window; 0: the options' weight_limit
  int64_t window_ms = 0;        // learned window; 0: the options' window_ms
  friend bool operator==(const RateState&, const RateState&) = default;
};

struct RateLimiterOptions {
  int64_t weight_limit = 6000;  // the exchange's limit per window
  int64_t window_ms = 60000;
  int64_t max_weight = 0;                   // our own lower budget per window; 0: none
  int64_t default_retry_after_429_ms = -1;  // -1: until the window ends
  int64_t default_ban_ms = 120000;          // 418 without Retry-After: the shortest ban (2 minutes)
  // A request reserved this close to the window's end may reach the exchange in the next
  // window (latency, clock skew), so it is counted in both. Capped at half the window.
  int64_t window_grace_ms = 1000;
  // Spread the budget over the window (see the top of this file). Off here, so that the plain
  // logic keeps its simplest contract; the fetcher binary turns it on (--pace).
  bool pace = false;
  int64_t pace_burst_permille = 50;   // weight allowed at once at the window's start
  int64_t pace_margin_permille = 10;  // left unspent at the window's end, for others' lag
  // Read the X-MBX-USED-WEIGHT-* header. Off for a limit the header does not count (fundingRate's
  // requests per 5 minutes: its answers carry the futures weight, which says nothing about it);
  // such a limit is kept by our own reservations and the exchange's 429s alone.
  bool read_used_weight = true;
};

// What one HTTP response tells the limiter.
struct RateObservation {
  int status = 0;
  std::optional<int64_t> used_weight;    // the X-MBX-USED-WEIGHT-<window> header
  std::optional<int64_t> retry_after_s;  // the Retry-After header
};

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimiterOptions& options) : options_(options) {}

  // The weight we allow ourselves per window: the exchange's limit (learned in `state`, else
  // the options') or our lower budget.
  int64_t budget(const RateState& state) const;
  int64_t budget() const { return budget(RateState{}); }
  // The exchange's limit and window as `state` knows them (learned, else the options').
  int64_t Limit(const RateState& state) const {
    return state.limit > 0 ? state.limit : options_.weight_limit;
  }
  int64_t Window(const RateState& state) const {
    return state.window_ms > 0 ? state.window_ms : options_.window_ms;
  }
  // "x-mbx-used-weight-1m" for a 60000 ms window, "-10s" for 10000 ms, ... When that header
  // is absent, "x-mbx-used-weight-1m" is read instead (simulators name every window so; on a
  // window shorter than a minute it can only overstate the use).
  static std::string UsedWeightHeader(int64_t window_ms);
  std::string UsedWeightHeader() const { return UsedWeightHeader(options_.window_ms); }

  // Stores the exchange's stated limit (exchangeInfo rateLimits) in `state`. A new window
  // length starts counting afresh from the window holding now_ms, keeping what was used.
  // REQUIRES: limit >= 1, window_ms >= 1000.
  void Learn(RateState& state, int64_t now_ms, int64_t limit, int64_t window_ms) const;

  // Reserves `weight` in the window holding now_ms. Returns 0 when it is reserved, otherwise the
  // ms to wait before asking again (nothing reserved): the pause's end, the moment the paced
  // allowance has grown enough, or the next window.
  int64_t Reserve(RateState& state, int64_t now_ms, int64_t weight) const;

  // Applies a response to a request sent at sent_ms. The used-weight header only counts when
  // the request was sent in the current window: a header from the previous window says nothing
  // about this one.
  void Observe(RateState& state, int64_t now_ms, int64_t sent_ms, const RateObservation& obs) const;

  // Reads status, the used-weight header and Retry-After from lower-cased headers.
  // `window_ms` names the header (UsedWeightHeader); 0: the options' window.
  RateObservation ObservationFrom(int status, const std::map<std::string, std::string>& headers,
                                  int64_t window_ms = 0) const;

  const RateLimiterOptions& options() const { return options_; }

 private:
  int64_t WindowStart(const RateState& state, int64_t t_ms) const;
  // The weight the window may hold `elapsed_ms` after its start: the budget, or when pacing
  // burst + (top - burst) * elapsed / window.
  int64_t Allowance(const RateState& state, int64_t elapsed_ms) const;
  // Moves `state` into the window holding now_ms (never backwards).
  void Roll(RateState& state, int64_t now_ms) const;

  const RateLimiterOptions options_;
};

}  // namespace qlir::fetcher
