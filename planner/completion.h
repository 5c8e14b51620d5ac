// The --once completion rule. The run is complete when, in every series,
//   - every closed slice (its last candle closed by the exchange clock) is `ok`, or `failed`
//     for good (FailureBackoff::FailedForGood), and
//   - every slice still open (the tail, when the range reaches now) is at least `partial`
//     (`ok` or `partial`; or failed for good).
// Exit code then: 0 when nothing failed for good, 2 otherwise (the slices are listed).
#pragma once

#include <cstdint>
#include <vector>

#include "planner/backoff.h"
#include "planner/universe.h"

namespace qlir::planner {

struct Completion {
  bool complete = false;
  std::vector<SliceRef> failed_for_good;  // filled when complete
};

// `ready[s]` is false while series s has no status snapshot yet (then nothing is complete).
// `axis_now[s]` is where series s stands on its endpoint's axis (Coordinator::AxisNow): the
// exchange clock, or one past the newest item id.
Completion CheckCompletion(const Universe& u, const std::vector<bool>& ready,
                           const FailureBackoff& backoff, const std::vector<int64_t>& axis_now);
// Every series on the exchange clock (time-axis endpoints).
Completion CheckCompletion(const Universe& u, const std::vector<bool>& ready,
                           const FailureBackoff& backoff, int64_t exchange_now_ms);

}  // namespace qlir::planner
