#include "planner/completion.h"

namespace qlir::planner {

Completion CheckCompletion(const Universe& u, const std::vector<bool>& ready,
                           const FailureBackoff& backoff, int64_t exchange_now_ms) {
  return CheckCompletion(u, ready, backoff,
                         std::vector<int64_t>(u.series_count(), exchange_now_ms));
}

Completion CheckCompletion(const Universe& u, const std::vector<bool>& ready,
                           const FailureBackoff& backoff, const std::vector<int64_t>& axis_now) {
  Completion c;
  const std::vector<SliceRef> ffg = backoff.FailedForGoodList();
  for (uint32_t s = 0; s < u.series_count(); ++s) {
    if (s >= ready.size() || !ready[s]) return c;
    const SeriesCounts& n = u.counts(s);
    if (n.pending > 0) return c;
    // Open slices sit at the tail: count the partial ones there.
    int64_t open_partial = 0;
    for (int64_t i = u.end_index(s) - 1; i >= u.first_index(s); --i) {
      SliceRef r{s, i};
      if (!u.IsOpen(r, axis_now[s])) break;
      if (u.status(r) == SliceStatus::kPartial) ++open_partial;
    }
    if (n.partial > open_partial) return c;  // a closed slice is only partial
    int64_t failed_for_good = 0;
    for (const SliceRef& r : ffg) {
      if (r.series == s && u.Contains(r) && u.status(r) == SliceStatus::kFailed) ++failed_for_good;
    }
    if (n.failed > failed_for_good) return c;  // a failure still has tries left
  }
  c.complete = true;
  for (const SliceRef& r : ffg) {
    if (u.Contains(r) && u.status(r) == SliceStatus::kFailed) c.failed_for_good.push_back(r);
  }
  return c;
}

}  // namespace qlir::planner
