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

}  // namespace qlir::fetcher
