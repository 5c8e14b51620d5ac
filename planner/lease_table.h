// Leases on handed-out jobs (docs/protocol.md, "credits, leases, heartbeats"). A lease records
// (job, slice, fetcher, hand-out time) and ends when the persister reports the slice durable.
// It expires, and the slice goes back to the head of the queue, when
//   - no DURABLE came within `lease_timeout_ms` of the hand-out, or
//   - the fetcher said JOB_DONE but no DURABLE followed within `durable_wait_ms` (the result was
//     lost on the way to, or inside, the persister), or
//   - its fetcher died before JOB_DONE (TakeFetcher; once JOB_DONE is in, the result is with the
//     persister and the fetcher's death no longer matters).
// Plain class fed messages and time; no sockets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "planner/universe.h"

namespace qlir::planner {

struct Lease {
  uint64_t job_id = 0;
  SliceRef slice;
  std::string fetcher;  // ROUTER identity
  int64_t handed_at_ms = 0;
  int64_t done_at_ms = -1;      // JOB_DONE received; -1 not yet
  std::string outcome;          // from JOB_DONE
  bool status_checked = false;  // the persister was asked once already after the wait ran out
};

class LeaseTable {
 public:
  LeaseTable(int64_t lease_timeout_ms, int64_t durable_wait_ms)
      : lease_timeout_ms_(lease_timeout_ms), durable_wait_ms_(durable_wait_ms) {}
  LeaseTable(const LeaseTable&) = delete;
  LeaseTable& operator=(const LeaseTable&) = delete;

  // REQUIRES: no lease on lease.slice and none with lease.job_id.
  void Add(Lease lease);
  const Lease* FindJob(uint64_t job_id) const;
  const Lease* FindSlice(SliceRef r) const;
  // JOB_DONE: starts the bounded wait for DURABLE. False when the job is unknown (its lease
  // already ended or moved to another job).
  bool MarkDone(uint64_t job_id, std::string outcome, int64_t now_ms);
  // DURABLE: the lease on r, if any, ends.
  std::optional<Lease> ReleaseSlice(SliceRef r);
  // JOB_RETURN or a job that could not be sent.
  std::optional<Lease> ReleaseJob(uint64_t job_id);
  // The fetcher is dead or gone: ends and returns its leases still without JOB_DONE.
  std::vector<Lease> TakeFetcher(const std::string& fetcher);
  // Ends and returns every expired lease (see the file comment).
  std::vector<Lease> TakeExpired(int64_t now_ms);
  // Series with a lease whose JOB_DONE came in but whose DURABLE has not (yet).
  std::vector<uint32_t> SeriesAwaitingDurable() const;
  // When the next lease expires, if any lease is open.
  std::optional<int64_t> NextExpiry() const;

  size_t size() const { return by_job_.size(); }
  size_t CountFor(const std::string& fetcher) const;
  size_t CountSeries(uint32_t series) const;

 private:
  int64_t Deadline(const Lease& l) const {
    return l.done_at_ms >= 0 ? l.done_at_ms + durable_wait_ms_ : l.handed_at_ms + lease_timeout_ms_;
  }
  Lease Remove(std::map<uint64_t, Lease>::iterator it);

  int64_t lease_timeout_ms_;
  int64_t durable_wait_ms_;
  std::map<uint64_t, Lease> by_job_;  // job ids grow, so this is hand-out order
  std::unordered_map<SliceRef, uint64_t, SliceRefHash> by_slice_;
};

}  // namespace qlir::planner
