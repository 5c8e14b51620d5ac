// Request counters for GET /sim/counters: per client IP and per klines window, so end-to-end
// tests can prove there was no duplicate fetching and no ban. Format in README.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "tools/exchange-sim/faults.h"

namespace qlir::sim {

struct RequestRecord {
  std::string ip;
  int64_t weight = 0;  // weight charged to the IP (0 when banned)
  int status = 0;      // HTTP status sent; 0 when none was (reset, hang)
  FaultKind fault = FaultKind::kNone;
  bool limited = false;      // answered 429
  bool banned = false;       // answered 418
  bool ban_started = false;  // this request started a ban
  bool klines = false;       // a klines request: window_key below is set
  std::string window_key;    // KlinesWindowKey()
  bool klines_ok = false;    // 200 with the complete, valid klines body
  bool api_error = false;    // a 4xx with an exchange error code for bad parameters
};

// Thread-safe.
class Counters {
 public:
  void Record(const RequestRecord& r);
  // Requests inside the API handler right now ("in_flight"; hanging ones included).
  void Enter() { ++in_flight_; }
  void Leave() { --in_flight_; }
  // 0 for the first request with this fault key since the last reset, then 1, 2, ...
  uint64_t NextAttempt(const std::string& fault_key);
  std::string ToJson() const;
  void Reset();

 private:
  struct IpCounts {
    uint64_t requests = 0, weight = 0, limited = 0, banned = 0, bans = 0;
    std::map<std::string, uint64_t> statuses;
    std::map<std::string, uint64_t> faults;
  };
  struct WindowCounts {
    uint64_t requests = 0, ok = 0, limited = 0, faulted = 0, errors = 0;
  };
  std::atomic<int64_t> in_flight_{0};
  mutable std::mutex mu_;
  uint64_t total_ = 0;                                  // guarded by mu_
  std::map<std::string, IpCounts> ips_;                 // guarded by mu_
  std::map<std::string, WindowCounts> windows_;         // guarded by mu_
  std::unordered_map<std::string, uint64_t> attempts_;  // guarded by mu_
};

}  // namespace qlir::sim
