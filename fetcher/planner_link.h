// PlannerLink: the fetcher's side of the planner link as decisions, fed what happened and `now`,
// with no socket (the ZeroMQ guide's Paranoid Pirate worker as a small class; the shape of
// planner/coordinator.h). The socket loop (fetcher_loop.cc) makes and closes the DEALER and
// moves frames; this class says when, and what to send:
//   - READY with our free credits on every connect, then the answers held meanwhile;
//   - liveness: any message from the planner is a sign of life; silent for `liveness`
//     heartbeat intervals, the planner is gone: close, and reconnect after a delay that starts
//     at reconnect_initial_ms and doubles up to reconnect_max_ms (reset by the next message);
//   - a HEARTBEAT when we sent nothing for a heartbeat interval;
//   - answers (JOB_DONE, JOB_RETURN) made while the link is down are held (up to max_held) and
//     sent after the next READY, and so are those sent since shortly before the planner fell
//     silent: they may have died with the old connection (linger 0). A planner counts a
//     repeated answer once (leases by job id, credits capped by READY).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "common/wire.h"

namespace qlir::fetcher {

struct PlannerLinkOptions {
  std::string fetcher_id = "fetcher";
  int64_t heartbeat_ms = 1000;
  int liveness = 3;  // planner silent this many heartbeat intervals -> gone
  int64_t reconnect_initial_ms = 1000;
  int64_t reconnect_max_ms = 32000;
  size_t max_held = 10000;
};

class PlannerLink {
 public:
  // What the socket loop must do after Due.
  enum class Step {
    kNothing,
    kSendHeartbeat,  // send Heartbeat() and call OnSent
    kClose,          // the planner fell silent: close the socket, call OnClosed
    kConnect,        // the reconnect delay is over: make the socket, call OnConnected
  };

  // The link starts down with no delay: the first Due asks for a connect.
  PlannerLink(PlannerLinkOptions options, int64_t now_ms);

  // The socket is connected: READY with `credits`, then every held answer, in order. Each must
  // be passed to OnSent (or Hold, when it could not be sent).
  std::vector<wire::Message> OnConnected(int credits, int64_t now_ms);
  // A message came from the planner, whatever it is.
  void OnReceived(int64_t now_ms);
  // `m` left on the socket.
  void OnSent(const wire::Message& m, int64_t now_ms);
  // An answer that cannot go now (link down). False when it is dropped (max_held reached).
  bool Hold(const wire::Message& answer);
  // The socket was closed (after kClose, or because connecting failed).
  void OnClosed(int64_t now_ms);

  // What to do at `now` (after a poll). While `stopping`, the link is not made again.
  Step Due(int64_t now_ms, bool stopping);
  // How long the loop may sleep before Due has something to do (>= 0).
  int64_t NextWakeMs(int64_t now_ms, bool stopping) const;

  wire::Heartbeat Heartbeat() const { return wire::Heartbeat{options_.fetcher_id, {}}; }
  bool connected() const { return connected_; }
  size_t held() const { return held_.size(); }
  int64_t reconnect_delay_ms() const { return delay_ms_; }
  // The planner's silence so far.
  int64_t silent_ms(int64_t now_ms) const { return now_ms - last_recv_ms_; }

 private:
  static bool IsAnswer(const wire::Message& m) {
    return std::holds_alternative<wire::JobDone>(m) || std::holds_alternative<wire::JobReturn>(m);
  }
  int64_t silence_limit_ms() const { return options_.heartbeat_ms * options_.liveness; }

  const PlannerLinkOptions options_;
  bool connected_ = false;
  int64_t last_recv_ms_;
  int64_t last_send_ms_;
  int64_t reconnect_at_ms_;
  int64_t delay_ms_;
  std::deque<wire::Message> held_;
  std::deque<std::pair<int64_t, wire::Message>> sent_answers_;  // recent, for a lost link
};

}  // namespace qlir::fetcher
