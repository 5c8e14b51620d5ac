#include "tools/qlir-status/repair.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <zmq.hpp>

#include "common/time_util.h"
#include "common/wire.h"

namespace qlir::status_tool {

Result<MarkPendingOutcome> SendMarkPending(const std::string& persister,
                                           const std::string& endpoint,
                                           const std::vector<std::string>& keys, int timeout_ms,
                                           const std::optional<curve::Setup>& curve) {
  MarkPendingOutcome out;
  if (keys.empty()) return out;
  try {
    zmq::context_t ctx(1);
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::maxmsgsize, wire::kMaxMessageBytes);
    // Queue messages only on a completed connection, so that an absent persister makes send time
    // out with a clear error instead of the message waiting in a pipe to nowhere.
    dealer.set(zmq::sockopt::immediate, 1);
    dealer.set(zmq::sockopt::sndtimeo, timeout_ms);
    if (curve) {
      QLIR_RETURN_IF_ERROR(curve::MakeClient(dealer, curve->own, curve->server_public));
    }
    try {
      dealer.connect(persister);
    } catch (const zmq::error_t& e) {
      return Status::Error("bad persister address '" + persister + "': " + e.what());
    }
    // Request ids only need to tell our own replies apart; start somewhere random so that a
    // stale reply from an earlier run cannot be mistaken for ours.
    uint64_t request_id = std::random_device{}() | 1;
    for (size_t begin = 0; begin < keys.size(); begin += kKeysPerMessage) {
      const size_t end = std::min(keys.size(), begin + kKeysPerMessage);
      wire::MarkPending mp;
      mp.request_id = ++request_id;
      mp.endpoint = endpoint;
      mp.keys.assign(keys.begin() + static_cast<std::ptrdiff_t>(begin),
                     keys.begin() + static_cast<std::ptrdiff_t>(end));
      const std::string bytes = wire::Encode(mp);
      if (!dealer.send(zmq::buffer(bytes), zmq::send_flags::none)) {
        return Status::Error("persister not reachable at " + persister + " (no connection within " +
                             std::to_string(timeout_ms) + " ms)");
      }
      const int64_t deadline = MonotonicMs() + timeout_ms;
      std::optional<wire::Ack> ack;
      while (!ack) {
        const int64_t left = deadline - MonotonicMs();
        if (left <= 0) {
          return Status::Error("no ACK from the persister at " + persister + " within " +
                               std::to_string(timeout_ms) + " ms");
        }
        zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 1, std::chrono::milliseconds(left));
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        zmq::message_t msg;
        if (!dealer.recv(msg, zmq::recv_flags::dontwait)) continue;
        auto decoded = wire::Decode(msg.to_string_view());
        if (!decoded) continue;  // not for us; the persister may send other things
        if (auto* a = std::get_if<wire::Ack>(&*decoded); a && a->request_id == mp.request_id) {
          ack = *a;
        }
      }
      if (!ack->error.empty()) {
        return Status::Error("the persister at " + persister +
                             " refused MARK_PENDING: " + ack->error);
      }
      out.sent += mp.keys.size();
      out.found += ack->count;
    }
    return out;
  } catch (const zmq::error_t& e) {
    return Status::Error("ZeroMQ error talking to the persister at " + persister + ": " + e.what());
  }
}

}  // namespace qlir::status_tool
