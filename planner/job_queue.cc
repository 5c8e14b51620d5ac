#include "planner/job_queue.h"

namespace qlir::planner {

void JobQueue::Push(SliceRef r) {
  if (r.series >= series_.size()) series_.resize(r.series + 1);
  series_[r.series].push(r.index);
  ++size_;
}

void JobQueue::PushFront(SliceRef r) {
  head_.push_front(r);
  ++size_;
}

std::optional<SliceRef> JobQueue::Pop() {
  if (size_ == 0) return std::nullopt;
  if (!head_.empty()) {
    SliceRef r = head_.front();
    head_.pop_front();
    --size_;
    return r;
  }
  for (size_t tried = 0; tried < series_.size(); ++tried) {
    const size_t s = (next_series_ + tried) % series_.size();
    if (series_[s].empty()) continue;
    SliceRef r{static_cast<uint32_t>(s), series_[s].top()};
    series_[s].pop();
    next_series_ = (s + 1) % series_.size();
    --size_;
    return r;
  }
  return std::nullopt;  // unreachable while size_ is right
}

std::vector<SliceRef> DelayQueue::PopDue(int64_t now_ms) {
  std::vector<SliceRef> out;
  while (!heap_.empty() && heap_.top().first <= now_ms) {
    out.push_back(heap_.top().second);
    heap_.pop();
  }
  return out;
}

}  // namespace qlir::planner
