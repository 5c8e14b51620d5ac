#include "planner/lease_table.h"

#include <algorithm>

namespace qlir::planner {

void LeaseTable::Add(Lease lease) {
  by_slice_[lease.slice] = lease.job_id;
  const uint64_t id = lease.job_id;
  by_job_.emplace(id, std::move(lease));
}

const Lease* LeaseTable::FindJob(uint64_t job_id) const {
  auto it = by_job_.find(job_id);
  return it == by_job_.end() ? nullptr : &it->second;
}

const Lease* LeaseTable::FindSlice(SliceRef r) const {
  auto it = by_slice_.find(r);
  return it == by_slice_.end() ? nullptr : FindJob(it->second);
}

bool LeaseTable::MarkDone(uint64_t job_id, std::string outcome, int64_t now_ms) {
  auto it = by_job_.find(job_id);
  if (it == by_job_.end()) return false;
  if (it->second.done_at_ms < 0) it->second.done_at_ms = now_ms;
  it->second.outcome = std::move(outcome);
  return true;
}

Lease LeaseTable::Remove(std::map<uint64_t, Lease>::iterator it) {
  Lease l = std::move(it->second);
  by_job_.erase(it);
  by_slice_.erase(l.slice);
  return l;
}

std::optional<Lease> LeaseTable::ReleaseSlice(SliceRef r) {
  auto s = by_slice_.find(r);
  if (s == by_slice_.end()) return std::nullopt;
  return Remove(by_job_.find(s->second));
}

std::optional<Lease> LeaseTable::ReleaseJob(uint64_t job_id) {
  auto it = by_job_.find(job_id);
  if (it == by_job_.end()) return std::nullopt;
  return Remove(it);
}

std::vector<Lease> LeaseTable::TakeFetcher(const std::string& fetcher) {
  std::vector<Lease> out;
  for (auto it = by_job_.begin(); it != by_job_.end();) {
    if (it->second.fetcher == fetcher && it->second.done_at_ms < 0) {
      out.push_back(Remove(it++));
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<Lease> LeaseTable::TakeExpired(int64_t now_ms) {
  std::vector<Lease> out;
  for (auto it = by_job_.begin(); it != by_job_.end();) {
    if (Deadline(it->second) <= now_ms) {
      out.push_back(Remove(it++));
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<uint32_t> LeaseTable::SeriesAwaitingDurable() const {
  std::vector<uint32_t> out;
  for (const auto& [id, l] : by_job_) {
    if (l.done_at_ms >= 0) out.push_back(l.slice.series);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<int64_t> LeaseTable::NextExpiry() const {
  std::optional<int64_t> next;
  for (const auto& [id, l] : by_job_) {
    const int64_t d = Deadline(l);
    if (!next || d < *next) next = d;
  }
  return next;
}

size_t LeaseTable::CountFor(const std::string& fetcher) const {
  size_t n = 0;
  for (const auto& [id, l] : by_job_) n += l.fetcher == fetcher ? 1 : 0;
  return n;
}

size_t LeaseTable::CountSeries(uint32_t series) const {
  size_t n = 0;
  for (const auto& [id, l] : by_job_) n += l.slice.series == series ? 1 : 0;
  return n;
}

}  // namespace qlir::planner
