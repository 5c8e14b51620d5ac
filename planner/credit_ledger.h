// Fetchers known to the planner, their credits and their liveness (docs/protocol.md).
// READY sets a fetcher's credit to an absolute number; each job sent takes one; each JOB_DONE
// gives one back (never above the READY number, so a duplicate JOB_DONE cannot inflate it).
// A fetcher silent for 3 heartbeat intervals is dead. Only READY registers a fetcher: another
// message from an unknown identity (e.g. one that talked to a previous planner) is not a credit
// grant; the fetcher notices our silence towards it and sends READY afresh.
// Plain class fed messages and time; no sockets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qlir::planner {

class CreditLedger {
 public:
  explicit CreditLedger(int64_t heartbeat_ms) : heartbeat_ms_(heartbeat_ms) {}
  CreditLedger(const CreditLedger&) = delete;
  CreditLedger& operator=(const CreditLedger&) = delete;

  void OnReady(const std::string& identity, std::string fetcher_id, uint32_t credits,
               int64_t now_ms);
  bool Known(const std::string& identity) const { return fetchers_.count(identity) != 0; }
  // Any message from the fetcher.
  void OnSeen(const std::string& identity, int64_t now_ms);
  // JOB_DONE: one credit back.
  void OnJobDone(const std::string& identity);
  // The fetcher could take no more (its pipe is full): no credit until its next READY/JOB_DONE.
  void ZeroCredits(const std::string& identity);

  bool AnyCredit() const;
  // Takes one credit from the next fetcher having one, round robin; nullopt when none has.
  std::optional<std::string> TakeCredit();

  void Remove(const std::string& identity) { fetchers_.erase(identity); }
  // Removes and returns the fetchers silent for 3 heartbeat intervals.
  std::vector<std::string> TakeDead(int64_t now_ms);
  // We sent something to the fetcher (any message counts as our heartbeat).
  void OnSent(const std::string& identity, int64_t now_ms);
  // Fetchers we have sent nothing to for a heartbeat interval.
  std::vector<std::string> DueHeartbeat(int64_t now_ms) const;
  // Earliest time at which a heartbeat falls due or a fetcher dies.
  std::optional<int64_t> NextDeadline() const;

  uint32_t credits(const std::string& identity) const;
  std::string fetcher_id(const std::string& identity) const;
  size_t size() const { return fetchers_.size(); }

 private:
  struct Fetcher {
    std::string fetcher_id;
    uint32_t credits = 0;
    uint32_t granted = 0;  // the READY number
    int64_t last_seen_ms = 0;
    int64_t last_sent_ms = 0;
  };
  int64_t heartbeat_ms_;
  std::map<std::string, Fetcher> fetchers_;
  std::string last_served_;  // round-robin cursor: identity that got the last job
};

}  // namespace qlir::planner
