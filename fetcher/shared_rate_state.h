// SharedRateState: one RateState shared by every fetcher thread and process on a host (one IP),
// kept in a small file and changed only under an exclusive flock (docs/exchange-rules.md, "Rate
// limits": limits are per IP). Each change is one read-modify-write of the whole file:
//   qlir-rate v2 <window_start_ms> <used> <next_used> <pause_until_ms> <limit> <window_ms>\n
// (limit and window_ms: the learned limit, 0 when none; a v1 line without them is still read).
// A missing, empty or unreadable content reads as a fresh state (nothing used, no pause): the
// file is a cache of what the exchange knows, and its headers correct us on the next response.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/endpoint.h"
#include "common/status.h"
#include "fetcher/rate_limiter.h"

namespace qlir::fetcher {

class SharedRateState {
 public:
  // Opens (creating, mode 0600, never following a symlink) the state file.
  static Result<std::unique_ptr<SharedRateState>> Open(const std::string& path,
                                                       const RateLimiterOptions& options);
  ~SharedRateState();
  SharedRateState(const SharedRateState&) = delete;
  SharedRateState& operator=(const SharedRateState&) = delete;

  // RateLimiter::Reserve on the shared state: 0 when reserved, else ms to wait.
  // Thread-safe; blocks while another process holds the lock (microseconds).
  Result<int64_t> Reserve(int64_t now_ms, int64_t weight);
  // RateLimiter::Observe on the shared state.
  Status Observe(int64_t now_ms, int64_t sent_ms, const RateObservation& obs);
  // Reads the observation from a response's lower-cased headers (the used-weight header of the
  // learned window) and applies it.
  Status ObserveResponse(int64_t now_ms, int64_t sent_ms, int status,
                         const std::map<std::string, std::string>& headers);
  // RateLimiter::Learn on the shared state: every process on the host uses that limit.
  Status Learn(int64_t now_ms, int64_t limit, int64_t window_ms);
  // The current content (for logs and tests).
  Result<RateState> Read();

  const RateLimiter& limiter() const { return limiter_; }
  const std::string& path() const { return path_; }

 private:
  SharedRateState(std::string path, int fd, const RateLimiterOptions& options)
      : path_(std::move(path)), fd_(fd), limiter_(options) {}
  // Runs fn on the state under the mutex and the file lock, and writes the result back.
  Status Update(const std::function<void(RateState&)>& fn);

  const std::string path_;
  const int fd_;
  const RateLimiter limiter_;
  // flock belongs to the open file description, which all our threads share: the mutex keeps
  // two threads of this process from both "holding" it.
  std::mutex mu_;
};

// Rate state is kept per exchange host and per limit (docs/exchange-rules.md, "Rate limits" and
// "Funding rate history"): the spot host's REQUEST_WEIGHT, the futures host's REQUEST_WEIGHT and
// fundingRate's own 500 requests per 5 minutes are separate budgets of one IP. Each has its own
// file beside `base` (--rate-state): the spot host's request weight keeps `base` itself (the file
// every earlier version used), any other is `base` + "." + host + "." + limit, e.g.
// /tmp/qlir-rate-0.state.fapi.binance.com.fundingRate. The host is the endpoint's exchange host
// (Endpoint::default_base_url), not --base-url, which may be a simulator standing in for it.
std::string RateStatePath(const std::string& base, std::string_view exchange_host,
                          std::string_view limit);
// "fapi.binance.com" from "https://fapi.binance.com".
std::string HostOf(std::string_view url);
inline constexpr std::string_view kWeightLimitName = "weight";

// Every budget one process spends, opened on first use and kept for the process's life.
// Thread-safe.
class RateStateSet {
 public:
  // `weight_options`: the limiter options of every host's request weight (its limit is learned
  // from exchangeInfo); an endpoint's own limit takes the same pacing with its own limit and
  // window, and never reads the used-weight header.
  // `adopted`, when given, is the state already open at its path (not owned).
  RateStateSet(std::string base_path, RateLimiterOptions weight_options,
               SharedRateState* adopted = nullptr)
      : base_(std::move(base_path)), weight_options_(weight_options), adopted_(adopted) {}

  // The request weight of the endpoint's exchange host (exchangeInfo, time, and klines).
  Result<SharedRateState*> Weight(const Endpoint& endpoint);
  // The budget a slice (or listing) request of the endpoint spends: its own limit when it has
  // one, else its host's request weight.
  Result<SharedRateState*> Requests(const Endpoint& endpoint);
  // The options of an endpoint's own limit.
  RateLimiterOptions OwnOptions(const Endpoint::OwnLimit& own) const;
  const std::string& base() const { return base_; }

 private:
  Result<SharedRateState*> Get(const std::string& path, const RateLimiterOptions& options);

  const std::string base_;
  const RateLimiterOptions weight_options_;
  SharedRateState* const adopted_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<SharedRateState>> states_;  // by path; guarded by mu_
};

}  // namespace qlir::fetcher
