// Test doubles around a real fetcher: a fake planner ROUTER and a fake persister PULL bound on
// loopback with kernel-chosen ports, a scriptable klines HTTP server (cpp-httplib), and a
// fetcher loop running in a thread with an eventfd as its stop signal. Every wait has a
// deadline; nothing sleeps for luck.
#pragma once

#include <httplib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/klines/slice_key.h"
#include "common/wire.h"
#include "fetcher/fetcher_loop.h"

namespace qlir::fetcher::testing {

inline int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct FromFetcher {
  std::string identity;
  wire::Message message;
};

class FakePlanner {
 public:
  explicit FakePlanner(zmq::context_t& ctx, const std::string& endpoint = "tcp://127.0.0.1:*")
      : ctx_(ctx) {
    Bind(endpoint);
  }
  // ZeroMQ closes a socket asynchronously, so rebinding a port just closed can meet
  // EADDRINUSE for a moment: retry until a 10 s deadline.
  void Bind(const std::string& endpoint) {
    const int64_t deadline = SteadyMs() + 10000;
    for (;;) {
      router_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::router);
      router_->set(zmq::sockopt::linger, 0);
      router_->set(zmq::sockopt::router_mandatory, 1);
      try {
        router_->bind(endpoint);
        break;
      } catch (const zmq::error_t& e) {
        if (e.num() != EADDRINUSE || SteadyMs() > deadline) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    endpoint_ = router_->get(zmq::sockopt::last_endpoint);
  }
  void Close() { router_.reset(); }
  const std::string& endpoint() const { return endpoint_; }

  // The next message (any type) within timeout_ms.
  std::optional<FromFetcher> Recv(int timeout_ms) {
    const int64_t deadline = SteadyMs() + timeout_ms;
    for (;;) {
      int64_t left = deadline - SteadyMs();
      if (left < 0) return std::nullopt;
      zmq::pollitem_t item{router_->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(left));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(*router_, std::back_inserter(parts))) continue;
      if (parts.size() != 2) continue;
      auto m = wire::Decode(parts[1].to_string_view());
      if (!m.ok()) continue;
      return FromFetcher{parts[0].to_string(), *m};
    }
  }
  // The next message of type T, skipping heartbeats and anything else.
  template <typename T>
  std::optional<T> RecvType(int timeout_ms, std::string* identity = nullptr) {
    const int64_t deadline = SteadyMs() + timeout_ms;
    for (;;) {
      int64_t left = deadline - SteadyMs();
      if (left < 0) return std::nullopt;
      auto m = Recv(static_cast<int>(left));
      if (!m) return std::nullopt;
      if (auto* v = std::get_if<T>(&m->message)) {
        if (identity) *identity = m->identity;
        last_identity_ = m->identity;
        return *v;
      }
      if (auto* r = std::get_if<wire::Ready>(&m->message)) last_identity_ = m->identity, (void)r;
    }
  }
  void Send(const std::string& identity, const wire::Message& m) {
    SendRaw(identity, wire::Encode(m));
  }
  void SendRaw(const std::string& identity, const std::string& bytes) {
    std::vector<zmq::const_buffer> parts{zmq::buffer(identity), zmq::buffer(bytes)};
    zmq::send_multipart(*router_, parts);
  }
  void SendParts(const std::string& identity, const std::vector<std::string>& frames) {
    std::vector<zmq::const_buffer> parts{zmq::buffer(identity)};
    for (const auto& f : frames) parts.push_back(zmq::buffer(f));
    zmq::send_multipart(*router_, parts);
  }
  const std::string& last_identity() const { return last_identity_; }

 private:
  zmq::context_t& ctx_;
  std::unique_ptr<zmq::socket_t> router_;
  std::string endpoint_;
  std::string last_identity_;
};

class FakePersister {
 public:
  explicit FakePersister(zmq::context_t& ctx, const std::string& endpoint = "tcp://127.0.0.1:*")
      : pull_(ctx, zmq::socket_type::pull) {
    pull_.set(zmq::sockopt::linger, 0);
    const int64_t deadline = SteadyMs() + 10000;
    for (;;) {
      try {
        pull_.bind(endpoint);
        break;
      } catch (const zmq::error_t& e) {
        if (e.num() != EADDRINUSE || SteadyMs() > deadline) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    endpoint_ = pull_.get(zmq::sockopt::last_endpoint);
  }
  const std::string& endpoint() const { return endpoint_; }
  std::optional<wire::FetchResult> Recv(int timeout_ms) {
    zmq::pollitem_t item{pull_.handle(), 0, ZMQ_POLLIN, 0};
    const int64_t deadline = SteadyMs() + timeout_ms;
    for (;;) {
      int64_t left = deadline - SteadyMs();
      if (left < 0) return std::nullopt;
      zmq::poll(&item, 1, std::chrono::milliseconds(left));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t msg;
      if (!pull_.recv(msg)) continue;
      auto m = wire::Decode(msg.to_string_view());
      if (!m.ok()) continue;
      if (auto* r = std::get_if<wire::FetchResult>(&*m)) return *r;
    }
  }

 private:
  zmq::socket_t pull_;
  std::string endpoint_;
};

// Serves /api/v3/klines with `rows` generated candles per request (inside the asked window),
// and /api/v3/time. `script` can override the answer per symbol: a list of
// (status, body) answers consumed in order, then the normal answer.
class KlinesServer {
 public:
  using Answer = std::pair<int, std::string>;
  KlinesServer() {
    server_.Get("/api/v3/klines", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string symbol = req.get_param_value("symbol");
      const int64_t start = std::stoll(req.get_param_value("startTime"));
      const int64_t end = std::stoll(req.get_param_value("endTime"));
      const int limit = std::stoi(req.get_param_value("limit"));
      std::optional<Answer> scripted;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++requests_[symbol];
        auto it = script_.find(symbol);
        if (it != script_.end() && !it->second.empty()) {
          scripted = it->second.front();
          it->second.erase(it->second.begin());
        }
      }
      if (hook) hook(req);
      if (scripted) {
        res.status = scripted->first;
        res.set_content(scripted->second, "application/json");
        return;
      }
      res.set_content(Candles(start, end, limit), "application/json");
    });
    server_.Get("/api/v3/time", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"serverTime\":" +
                          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count()) +
                          "}",
                      "application/json");
    });
    server_.set_keep_alive_max_count(1000);  // httplib's default of 5 would hide reuse
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Already bound: connections wait in the backlog until the thread accepts them.
  }
  ~KlinesServer() {
    server_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Script(const std::string& symbol, std::vector<Answer> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    script_[symbol] = std::move(answers);
  }
  int requests(const std::string& symbol) {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_[symbol];
  }
  // One 1m candle per minute from start, at most `limit`, up to end.
  static std::string Candles(int64_t start, int64_t end, int limit) {
    std::string b = "[";
    int n = 0;
    for (int64_t t = start; t <= end && n < limit; t += 60000, ++n) {
      b += (n ? "," : "") + std::string("[") + std::to_string(t) +
           ",\"1.00000000\",\"2.00000000\",\"0.50000000\",\"1.50000000\",\"10.00000000\"," +
           std::to_string(t + 59999) + ",\"15.00000000\",7,\"5.00000000\",\"7.50000000\",\"0\"]";
    }
    return b + "]";
  }
  std::function<void(const httplib::Request&)> hook;  // set before requests arrive

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::vector<Answer>> script_;  // guarded by mu_
  std::map<std::string, int> requests_;                // guarded by mu_
};

// Options of a fetcher under test against these fakes: quick reconnects and backoff, the caller
// sets what its case needs on top.
inline FetcherOptions TestFetcherOptions(const FakePlanner& planner, const FakePersister& persister,
                                         std::string base_url, std::string fetcher_id,
                                         int concurrency) {
  FetcherOptions o;
  o.planner = planner.endpoint();
  o.persister = persister.endpoint();
  o.fetcher_id = std::move(fetcher_id);
  o.concurrency = concurrency;
  o.reconnect_initial_ms = 50;
  o.backoff_base_ms = 1;
  o.job.base_url = std::move(base_url);
  return o;
}

// RunFetcher in a thread on the real clock; Stop() signals its eventfd and joins.
class InThreadFetcher {
 public:
  InThreadFetcher(FetcherOptions options, std::string rate_path, HttpOptions http = {},
                  RateLimiterOptions rate = {})
      : stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    thread_ = std::thread([=, this] {
      auto state = SharedRateState::Open(rate_path, rate);
      if (!state.ok()) {
        status_ = state.status();
        return;
      }
      status_ = RunFetcher(
          options, [http] { return MakeCurlHttpClient(http); }, state->get(), clock_, stop_fd_);
      done_ = true;
    });
  }
  ~InThreadFetcher() {
    if (thread_.joinable()) (void)Stop();  // a test that cared has checked Stop() already
    ::close(stop_fd_);
  }
  Status Stop() {
    const uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof one) != sizeof one) return Status::Error("eventfd");
    thread_.join();
    return status_;
  }
  bool done() const { return done_; }

 private:
  int stop_fd_;
  RealClock clock_;
  std::thread thread_;
  Status status_;
  std::atomic<bool> done_{false};
};

inline klines::KlineSliceKey MinuteKey(const std::string& symbol, int64_t index, int limit = 10) {
  return klines::GridSlice(symbol, "1m", 60000, index, limit);
}

}  // namespace qlir::fetcher::testing
