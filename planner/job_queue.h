// The planner's job queue: slices waiting to be handed to a fetcher. Oldest first within a
// series, fairly interleaved across series (round robin), and a head for jobs that must go out
// again before anything else (expired or returned leases, docs/conventions.md, "Credits, leases and
// heartbeats"). Entries are (series, grid index) integers; the queue does not deduplicate, the
// caller keeps each slice's SliceState and skips stale entries (lazy deletion).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

#include "planner/universe.h"

namespace qlir::planner {

class JobQueue {
 public:
  JobQueue() = default;
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Appends at the series' place: among entries of its series, lower grid indices come first.
  void Push(SliceRef r);
  // Puts r at the head of the whole queue (before every series).
  void PushFront(SliceRef r);
  // The head entry if any, else the oldest entry of the next series in round-robin order.
  std::optional<SliceRef> Pop();

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  using MinHeap = std::priority_queue<int64_t, std::vector<int64_t>, std::greater<int64_t>>;
  std::deque<SliceRef> head_;
  std::vector<MinHeap> series_;  // indexed by series
  size_t next_series_ = 0;       // round-robin cursor
  size_t size_ = 0;
};

// Slices waiting for a time (failure backoff, refresh of an open slice): a min-heap on due time.
class DelayQueue {
 public:
  void Add(int64_t due_ms, SliceRef r) { heap_.push({due_ms, r}); }
  // Removes and returns every entry due at or before now, earliest first.
  std::vector<SliceRef> PopDue(int64_t now_ms);
  std::optional<int64_t> NextDue() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.top().first;
  }
  size_t size() const { return heap_.size(); }

 private:
  using Entry = std::pair<int64_t, SliceRef>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
};

}  // namespace qlir::planner
