// Test fakes for the planner's sockets: a persister ROUTER and fetcher DEALERs (the planner's log
// lines are captured by tests/log_capture.h). Every wait polls a socket with a deadline; nothing
// sleeps.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/log.h"
#include "common/wire.h"

namespace qlir::planner::testing {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
inline constexpr auto kDeadline = std::chrono::seconds(20);

inline std::optional<std::vector<zmq::message_t>> RecvWithin(zmq::socket_t& s,
                                                             milliseconds timeout) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
  std::vector<zmq::message_t> parts;
  zmq::message_t m;
  (void)s.recv(m);
  bool more = m.more();
  parts.push_back(std::move(m));
  while (more) {
    zmq::message_t n;
    (void)s.recv(n);
    more = n.more();
    parts.push_back(std::move(n));
  }
  return parts;
}

class FakePersister {
 public:
  FakePersister(zmq::context_t& ctx, const std::string& endpoint)
      : socket_(ctx, zmq::socket_type::router) {
    // Closing it (a persister going away) still delivers what it sent: the context outlives it.
    socket_.set(zmq::sockopt::linger, 2000);
    socket_.bind(endpoint);
  }
  // Waits for the next message other than HELLO.
  std::optional<wire::Message> Next(milliseconds timeout = milliseconds(10000)) {
    const auto end = SteadyClock::now() + timeout;
    while (SteadyClock::now() < end) {
      auto parts = RecvWithin(socket_, milliseconds(50));
      if (!parts || parts->size() != 2) continue;
      peer_ = (*parts)[0].to_string();
      auto m = wire::Decode((*parts)[1].to_string_view());
      REQUIRE(m.ok());
      if (std::holds_alternative<wire::Hello>(*m)) {
        ++hellos_;
        continue;
      }
      return *m;
    }
    return std::nullopt;
  }
  // Answers the next STATUS_REQUEST with `known`, as a persister does (docs/protocol.md): in key
  // order, pages of at most `page` slices (0: all in one), each next page on the planner's next
  // request, until the last. Returns the pages sent.
  int ServeStatus(std::vector<wire::SliceState> known = {}, size_t page = 0) {
    std::map<std::string, std::string> stored;
    for (const auto& st : known) stored[st.key] = st.status;
    for (int pages = 1;; ++pages) {
      auto m = Next();
      REQUIRE(m);
      auto* req = std::get_if<wire::StatusRequest>(&*m);
      REQUIRE(req);
      size_t n = page == 0 ? stored.size() + 1 : page;
      if (req->max > 0) n = std::min<size_t>(n, req->max);
      wire::StatusReply reply{
          req->request_id, req->endpoint, req->symbol, req->interval, "", {}, false};
      for (auto it = stored.upper_bound(req->after); it != stored.end(); ++it) {
        if (reply.slices.size() == n) {
          reply.more = true;
          break;
        }
        reply.slices.push_back({it->first, it->second});
      }
      ++status_pages_;
      Send(reply);
      if (!reply.more) return pages;
    }
  }
  int status_pages() const { return status_pages_; }
  void Durable(const std::string& key, const std::string& status) {
    Send(wire::Durable{"klines", {{key, status}}});
  }
  void Send(const wire::Message& m) {
    REQUIRE(!peer_.empty());
    socket_.send(zmq::buffer(peer_), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(wire::Encode(m)));
  }
  int hellos() const { return hellos_; }

 private:
  zmq::socket_t socket_;
  std::string peer_;
  int hellos_ = 0;
  int status_pages_ = 0;
};

class FakeFetcher {
 public:
  FakeFetcher(zmq::context_t& ctx, const std::string& endpoint, std::string name)
      : socket_(ctx, zmq::socket_type::dealer), name_(std::move(name)) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }
  void Send(const wire::Message& m) {
    if (const auto* r = std::get_if<wire::Ready>(&m)) {
      ready_ = *r;
      last_recv_ = SteadyClock::now();
    }
    socket_.send(zmq::buffer(wire::Encode(m)));
  }
  void SendRaw(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      socket_.send(zmq::buffer(frames[i]),
                   i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  // Waits for the next message; heartbeats back while waiting when `alive`. Like a real
  // fetcher, says READY again when the planner has been silent for a while (it may have counted
  // us dead while the test was busy elsewhere).
  std::optional<wire::Message> Next(milliseconds timeout, bool alive = true) {
    const auto end = SteadyClock::now() + timeout;
    while (SteadyClock::now() < end) {
      if (alive) Send(wire::Heartbeat{name_});
      if (alive && ready_ && SteadyClock::now() - last_recv_ > kPlannerSilence) Send(*ready_);
      auto parts = RecvWithin(socket_, milliseconds(50));
      if (!parts) continue;
      last_recv_ = SteadyClock::now();
      REQUIRE(parts->size() == 1);
      auto m = wire::Decode((*parts)[0].to_string_view());
      REQUIRE(m.ok());
      return *m;
    }
    return std::nullopt;
  }
  // The next JOB, skipping heartbeats; nullopt at the deadline.
  std::optional<wire::Job> NextJob(milliseconds timeout = kDeadline) {
    const auto end = SteadyClock::now() + timeout;
    while (SteadyClock::now() < end) {
      auto m = Next(std::chrono::duration_cast<milliseconds>(end - SteadyClock::now()));
      if (!m) break;
      if (auto* j = std::get_if<wire::Job>(&*m)) return *j;
      ++heartbeats_;
    }
    return std::nullopt;
  }
  // Reads until `n` planner heartbeats came; returns the jobs seen meanwhile.
  std::vector<wire::Job> JobsUntilHeartbeats(int n) {
    std::vector<wire::Job> jobs;
    int seen = 0;
    const auto end = SteadyClock::now() + kDeadline;
    while (seen < n && SteadyClock::now() < end) {
      auto m = Next(milliseconds(1000));
      if (!m) continue;
      if (auto* j = std::get_if<wire::Job>(&*m)) {
        jobs.push_back(*j);
      } else if (std::holds_alternative<wire::Heartbeat>(*m)) {
        ++seen;
      }
    }
    REQUIRE(seen == n);
    return jobs;
  }
  int heartbeats() const { return heartbeats_; }

 private:
  // 3 heartbeat intervals of the planners in these tests (100 ms), and some.
  static constexpr auto kPlannerSilence = milliseconds(500);
  zmq::socket_t socket_;
  std::string name_;
  std::optional<wire::Ready> ready_;
  SteadyClock::time_point last_recv_ = SteadyClock::now();
  int heartbeats_ = 0;
};

}  // namespace qlir::planner::testing
