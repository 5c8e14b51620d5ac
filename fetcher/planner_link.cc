#include "fetcher/planner_link.h"

#include <algorithm>

namespace qlir::fetcher {

PlannerLink::PlannerLink(PlannerLinkOptions options, int64_t now_ms)
    : options_(std::move(options)),
      last_recv_ms_(now_ms),
      last_send_ms_(now_ms),
      reconnect_at_ms_(now_ms),
      delay_ms_(options_.reconnect_initial_ms) {}

std::vector<wire::Message> PlannerLink::OnConnected(int credits, int64_t now_ms) {
  connected_ = true;
  last_recv_ms_ = now_ms;  // the silence is counted from the connect
  std::vector<wire::Message> out;
  out.reserve(held_.size() + 1);
  out.push_back(wire::Ready{options_.fetcher_id, static_cast<uint32_t>(std::max(0, credits))});
  // Answers for jobs of the previous connection, after READY: they let the planner close those
  // leases. READY already counts their slots as free; the planner caps credits at READY's
  // number, and a job beyond our slots would be returned anyway.
  for (wire::Message& m : held_) out.push_back(std::move(m));
  held_.clear();
  return out;
}

void PlannerLink::OnReceived(int64_t now_ms) {
  last_recv_ms_ = now_ms;
  delay_ms_ = options_.reconnect_initial_ms;  // the planner is alive
}

void PlannerLink::OnSent(const wire::Message& m, int64_t now_ms) {
  last_send_ms_ = now_ms;
  if (!IsAnswer(m)) return;
  sent_answers_.emplace_back(now_ms, m);
  const int64_t keep_ms = 2 * silence_limit_ms();
  while (!sent_answers_.empty() && sent_answers_.front().first < now_ms - keep_ms) {
    sent_answers_.pop_front();
  }
}

bool PlannerLink::Hold(const wire::Message& answer) {
  if (!IsAnswer(answer) || held_.size() >= options_.max_held) return false;
  held_.push_back(answer);
  return true;
}

void PlannerLink::OnClosed(int64_t now_ms) {
  if (connected_) {
    // Answers sent since shortly before the planner's last word may have died with the
    // connection (linger 0 drops what is queued): send them again after the next READY.
    for (auto& [sent_ms, m] : sent_answers_) {
      if (sent_ms >= last_recv_ms_ - options_.heartbeat_ms && held_.size() < options_.max_held) {
        held_.push_back(std::move(m));
      }
    }
  }
  sent_answers_.clear();
  connected_ = false;
  reconnect_at_ms_ = now_ms + delay_ms_;
  delay_ms_ = std::min(delay_ms_ * 2, options_.reconnect_max_ms);
}

PlannerLink::Step PlannerLink::Due(int64_t now_ms, bool stopping) {
  if (connected_) {
    if (now_ms - last_recv_ms_ >= silence_limit_ms()) return Step::kClose;
    if (now_ms - last_send_ms_ >= options_.heartbeat_ms) return Step::kSendHeartbeat;
    return Step::kNothing;
  }
  if (!stopping && now_ms >= reconnect_at_ms_) return Step::kConnect;
  return Step::kNothing;
}

int64_t PlannerLink::NextWakeMs(int64_t now_ms, bool stopping) const {
  int64_t wake = options_.heartbeat_ms;
  if (connected_) {
    wake = std::min(wake, last_send_ms_ + options_.heartbeat_ms - now_ms);
    wake = std::min(wake, last_recv_ms_ + silence_limit_ms() - now_ms);
  } else if (!stopping) {
    wake = std::min(wake, reconnect_at_ms_ - now_ms);
  }
  return std::max<int64_t>(wake, 0);
}

}  // namespace qlir::fetcher
