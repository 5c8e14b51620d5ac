#include "planner/credit_ledger.h"

#include <algorithm>

namespace qlir::planner {

void CreditLedger::OnReady(const std::string& identity, std::string fetcher_id, uint32_t credits,
                           int64_t now_ms) {
  Fetcher& f = fetchers_[identity];
  f.fetcher_id = std::move(fetcher_id);
  f.credits = credits;
  f.granted = credits;
  f.last_seen_ms = now_ms;
}

void CreditLedger::OnSeen(const std::string& identity, int64_t now_ms) {
  auto it = fetchers_.find(identity);
  if (it != fetchers_.end()) it->second.last_seen_ms = now_ms;
}

void CreditLedger::OnJobDone(const std::string& identity) {
  auto it = fetchers_.find(identity);
  if (it != fetchers_.end() && it->second.credits < it->second.granted) ++it->second.credits;
}

void CreditLedger::ZeroCredits(const std::string& identity) {
  auto it = fetchers_.find(identity);
  if (it != fetchers_.end()) it->second.credits = 0;
}

bool CreditLedger::AnyCredit() const {
  for (const auto& [id, f] : fetchers_) {
    if (f.credits > 0) return true;
  }
  return false;
}

std::optional<std::string> CreditLedger::TakeCredit() {
  if (fetchers_.empty()) return std::nullopt;
  // Start after the last one served, wrapping around.
  auto start = fetchers_.upper_bound(last_served_);
  auto it = start;
  for (size_t i = 0; i < fetchers_.size(); ++i) {
    if (it == fetchers_.end()) it = fetchers_.begin();
    if (it->second.credits > 0) {
      --it->second.credits;
      last_served_ = it->first;
      return it->first;
    }
    ++it;
  }
  return std::nullopt;
}

std::vector<std::string> CreditLedger::TakeDead(int64_t now_ms) {
  std::vector<std::string> dead;
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    if (now_ms - it->second.last_seen_ms >= 3 * heartbeat_ms_) {
      dead.push_back(it->first);
      it = fetchers_.erase(it);
    } else {
      ++it;
    }
  }
  return dead;
}

void CreditLedger::OnSent(const std::string& identity, int64_t now_ms) {
  auto it = fetchers_.find(identity);
  if (it != fetchers_.end()) it->second.last_sent_ms = now_ms;
}

std::vector<std::string> CreditLedger::DueHeartbeat(int64_t now_ms) const {
  std::vector<std::string> out;
  for (const auto& [id, f] : fetchers_) {
    if (now_ms - f.last_sent_ms >= heartbeat_ms_) out.push_back(id);
  }
  return out;
}

std::optional<int64_t> CreditLedger::NextDeadline() const {
  std::optional<int64_t> next;
  for (const auto& [id, f] : fetchers_) {
    const int64_t d = std::min(f.last_sent_ms + heartbeat_ms_, f.last_seen_ms + 3 * heartbeat_ms_);
    if (!next || d < *next) next = d;
  }
  return next;
}

uint32_t CreditLedger::credits(const std::string& identity) const {
  auto it = fetchers_.find(identity);
  return it == fetchers_.end() ? 0 : it->second.credits;
}

std::string CreditLedger::fetcher_id(const std::string& identity) const {
  auto it = fetchers_.find(identity);
  return it == fetchers_.end() ? std::string() : it->second.fetcher_id;
}

}  // namespace qlir::planner
