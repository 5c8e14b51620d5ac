// Per-slice failure backoff across passes: a slice the persister reports `failed` is tried again
// after a delay that doubles with each failure (base, 2 base, 4 base ... capped), so a slice that
// fails for good does not eat the request budget. After `max_failures` failures it counts as
// failed for good (the --once completion rule); running for ever it is still retried at the cap.
// Only failing slices are stored, so this stays small.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "planner/universe.h"

namespace qlir::planner {

class FailureBackoff {
 public:
  // REQUIRES: 0 < base_ms <= max_ms, max_failures >= 1.
  FailureBackoff(int64_t base_ms, int64_t max_ms, int max_failures)
      : base_ms_(base_ms), max_ms_(max_ms), max_failures_(max_failures) {}

  // Records one more failed attempt of r; returns the delay before the next one.
  int64_t OnFailure(SliceRef r);
  // The slice succeeded (ok or partial): its failures are forgotten.
  void OnSuccess(SliceRef r) { failures_.erase(r); }

  int failures(SliceRef r) const;
  bool FailedForGood(SliceRef r) const { return failures(r) >= max_failures_; }
  // Every slice failed for good, in (series, index) order.
  std::vector<SliceRef> FailedForGoodList() const;
  // The delay after the n-th failure (n >= 1).
  int64_t DelayAfter(int n) const;
  int max_failures() const { return max_failures_; }

 private:
  int64_t base_ms_;
  int64_t max_ms_;
  int max_failures_;
  std::unordered_map<SliceRef, int, SliceRefHash> failures_;
};

}  // namespace qlir::planner
