#include "planner/backoff.h"

#include <algorithm>

namespace qlir::planner {

int64_t FailureBackoff::DelayAfter(int n) const {
  int64_t d = base_ms_;
  for (int i = 1; i < n && d < max_ms_; ++i) d *= 2;
  return std::min(d, max_ms_);
}

int64_t FailureBackoff::OnFailure(SliceRef r) {
  int& n = failures_[r];
  ++n;
  return DelayAfter(n);
}

int FailureBackoff::failures(SliceRef r) const {
  auto it = failures_.find(r);
  return it == failures_.end() ? 0 : it->second;
}

std::vector<SliceRef> FailureBackoff::FailedForGoodList() const {
  std::vector<SliceRef> out;
  for (const auto& [r, n] : failures_) {
    if (n >= max_failures_) out.push_back(r);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace qlir::planner
