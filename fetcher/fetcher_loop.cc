#include "fetcher/fetcher_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/endpoint.h"
#include "common/log.h"
#include "common/time_util.h"
#include "common/wire.h"
#include "fetcher/planner_link.h"

namespace qlir::fetcher {
namespace {

// The key a JOB_DONE or JOB_RETURN is about, for logs ("" for other messages).
std::string KeyOf(const wire::Message& m) {
  if (const auto* d = std::get_if<wire::JobDone>(&m)) return d->key;
  if (const auto* r = std::get_if<wire::JobReturn>(&m)) return r->key;
  return {};
}

struct WorkItem {
  wire::Job job;
  const Endpoint* endpoint = nullptr;
  SliceKey key;
};

struct Completion {
  wire::Job job;
  JobOutcome outcome;
};

// A result waiting for room on the PUSH socket, and the JOB_DONE that follows it.
struct Pending {
  wire::Job job;
  std::string outcome;
  std::string frame;  // encoded FETCH_RESULT
};

class Fetcher {
 public:
  Fetcher(const FetcherOptions& options, const HttpClientFactory& make_http, SharedRateState* rate,
          Clock& clock)
      : options_(options),
        make_http_(make_http),
        rate_(rate),
        rates_(rate->path(), rate->limiter().options(), rate),
        clock_(clock),
        backoff_(options.backoff_base_ms, options.backoff_max_ms, std::random_device{}()),
        link_(PlannerLinkOptions{options.fetcher_id, options.heartbeat_ms, options.liveness,
                                 options.reconnect_initial_ms, options.reconnect_max_ms, kMaxHeld},
              clock_.MonotonicNowMs()),
        stats_file_(options.stats_file, "fetcher", options.fetcher_id, clock_.WallNowMs(),
                    options.stats_ms) {}
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;
  ~Fetcher() {
    if (event_fd_ >= 0) ::close(event_fd_);
  }

  Status Run(int stop_fd);

 private:
  void WorkerMain();
  void StopWorkers();
  Status ConnectPlanner();
  void ClosePlanner();
  void SendToPlanner(const wire::Message& m, const std::string& key);
  // Heartbeat, close a silent link, or reconnect, as the planner link says.
  void StepPlannerLink(int64_t now);
  void OnPlannerReadable();
  void OnPlannerMessage(const wire::Message& m);
  void OnJob(const wire::Job& job);
  void OnCompletions();
  void FlushOutbox();
  void BeginStop();
  int credits() const { return std::max(0, options_.concurrency - in_flight_); }
  // Cumulative counters plus gauges (in_flight, queued, outbox, held) as of now.
  Counters Snapshot();
  void MaybeReportStats(int64_t now);

  const FetcherOptions options_;
  const HttpClientFactory make_http_;
  SharedRateState* const rate_;  // the spot host's request weight (--rate-state)
  // Every budget by exchange host and limit (rate_ among them): a job spends the one of its
  // endpoint (RateStateSet::Requests).
  RateStateSet rates_;
  struct Learned {
    int64_t limit = 0;  // the last limit a JOB carried (applied to that state)
    int64_t window_ms = 0;
    int64_t at_ms = 0;
  };
  std::map<SharedRateState*, Learned> learned_;  // main thread only
  static constexpr int64_t kRelearnMs = 300000;
  Clock& clock_;  // time, and the sleeps that a stop wakes (workers' backoff and rate waits)
  Backoff backoff_;

  zmq::context_t ctx_{1};
  std::unique_ptr<zmq::socket_t> dealer_;  // null while waiting to reconnect
  std::unique_ptr<zmq::socket_t> push_;
  // With CURVE: say when a server refuses our key (else it only looks silent). Each is reset
  // before its socket closes.
  std::unique_ptr<curve::HandshakeWatch> dealer_watch_;
  std::unique_ptr<curve::HandshakeWatch> push_watch_;
  int event_fd_ = -1;  // workers -> main: completions are waiting

  std::mutex mu_;
  std::condition_variable cv_;   // work_ or workers_exit_ changed
  std::deque<WorkItem> work_;    // guarded by mu_
  std::deque<Completion> done_;  // guarded by mu_
  bool workers_exit_ = false;    // guarded by mu_
  std::vector<std::thread> workers_;

  // Main thread only.
  int in_flight_ = 0;  // jobs taken and not yet answered with JOB_DONE/JOB_RETURN
  std::deque<Pending> outbox_;
  static constexpr size_t kMaxHeld = 10000;
  PlannerLink link_;  // liveness, reconnect delay, READY credits, held answers
  bool stopping_ = false;
  int64_t last_drop_log_ms_ = -1;  // "planner queue full" lines: at most one a minute
  int64_t dropped_unsent_ = 0;     // messages dropped since that line
  Counters counters_;
  StatsFile stats_file_;
  int64_t last_stats_ms_ = 0;
};

void Fetcher::WorkerMain() {
  std::unique_ptr<HttpClient> http = make_http_();
  FetchJobDeps deps{http.get(), rate_, &clock_, &backoff_};
  std::map<const Endpoint*, SharedRateState*> budgets;
  for (;;) {
    WorkItem item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return workers_exit_ || !work_.empty(); });
      if (work_.empty()) return;
      item = std::move(work_.front());
      work_.pop_front();
    }
    JobOutcome outcome;
    if (clock_.StopRequested()) {
      outcome.handed_back = true;
    } else {
      // The budget of the job's endpoint on its exchange host (fundingRate: its own limit).
      auto budget = budgets.find(item.endpoint);
      if (budget == budgets.end()) {
        Result<SharedRateState*> b = rates_.Requests(*item.endpoint);
        if (!b.ok()) Log(LogLevel::kWarn, item.job.key, b.error() + "; using " + rate_->path());
        budget = budgets.emplace(item.endpoint, b.ok() ? *b : rate_).first;
      }
      deps.rate = budget->second;
      outcome = RunFetchJob(*item.endpoint, item.key, options_.job, deps);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(Completion{std::move(item.job), std::move(outcome)});
    }
    const uint64_t one = 1;
    // Cannot fail short of a full counter (2^64 - 2).
    if (::write(event_fd_, &one, sizeof one) != sizeof one) {
      Log(LogLevel::kError, "", "eventfd write failed");
    }
  }
}

void Fetcher::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers_exit_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

Status Fetcher::ConnectPlanner() {
  try {
    dealer_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    dealer_->set(zmq::sockopt::linger, 0);
    dealer_->set(zmq::sockopt::maxmsgsize, wire::kMaxMessageBytes);
    if (options_.curve) {
      Status s = curve::MakeClient(*dealer_, options_.curve->own, options_.curve->server_public);
      auto watch = s.ok() ? curve::HandshakeWatch::Start(&ctx_, dealer_.get(), "planner",
                                                         options_.curve->own.public_key)
                          : Result<std::unique_ptr<curve::HandshakeWatch>>(s);
      if (!watch.ok()) {
        dealer_.reset();
        return watch.status();
      }
      dealer_watch_ = std::move(*watch);
    }
    dealer_->connect(options_.planner);
  } catch (const zmq::error_t& e) {
    dealer_.reset();
    return Status::Error("cannot connect to planner " + options_.planner + ": " + e.what());
  }
  Log(LogLevel::kInfo, "",
      "connecting to planner " + options_.planner + ", READY with " + std::to_string(credits()) +
          " credit(s)");
  // READY, then the answers held while the link was down.
  for (const wire::Message& m : link_.OnConnected(credits(), clock_.MonotonicNowMs())) {
    SendToPlanner(m, KeyOf(m));
  }
  return Status::Ok();
}

void Fetcher::ClosePlanner() {
  if (!dealer_) return;
  dealer_watch_.reset();
  try {
    dealer_->close();
  } catch (const zmq::error_t& e) {
    Log(LogLevel::kWarn, "", std::string("closing planner socket: ") + e.what());
  }
  dealer_.reset();
}

void Fetcher::SendToPlanner(const wire::Message& m, const std::string& key) {
  const std::string_view type = wire::TypeName(wire::TypeOf(m));
  if (!dealer_) {
    if (link_.Hold(m)) {
      Log(LogLevel::kInfo, key,
          "planner not connected; " + std::string(type) + " held until the next READY");
    } else {
      Log(LogLevel::kWarn, key, "planner not connected; dropped " + std::string(type));
    }
    return;
  }
  const std::string frame = wire::Encode(m);
  try {
    auto sent = dealer_->send(zmq::buffer(frame), zmq::send_flags::dontwait);
    if (!sent) {
      // No connection takes it: the planner is down, or refuses us (our CURVE key, or CURVE
      // on one side only). Count the attempt as a send, so the next heartbeat waits its
      // interval instead of spinning (an answer is then also sent again after a lost link),
      // and say so at most once a minute.
      const int64_t now = clock_.MonotonicNowMs();
      link_.OnSent(m, now);
      ++dropped_unsent_;
      if (now - last_drop_log_ms_ >= 60000 || last_drop_log_ms_ < 0) {
        Log(LogLevel::kWarn, key,
            "planner queue full (no working connection: is the planner up, and does it accept "
            "our CURVE key?); dropped " +
                std::string(type) +
                (dropped_unsent_ > 1
                     ? " and " + std::to_string(dropped_unsent_ - 1) + " earlier message(s)"
                     : std::string()));
        last_drop_log_ms_ = now;
        dropped_unsent_ = 0;
      }
      return;
    }
    link_.OnSent(m, clock_.MonotonicNowMs());
  } catch (const zmq::error_t& e) {
    Log(LogLevel::kWarn, key, "send " + std::string(type) + " to planner: " + e.what());
  }
}

void Fetcher::StepPlannerLink(int64_t now) {
  switch (link_.Due(now, stopping_)) {
    case PlannerLink::Step::kNothing:
      break;
    case PlannerLink::Step::kSendHeartbeat:
      SendToPlanner(link_.Heartbeat(), "");
      break;
    case PlannerLink::Step::kClose:
      Log(LogLevel::kWarn, "",
          "planner silent for " + std::to_string(link_.silent_ms(now)) +
              " ms; closing and reconnecting in " + std::to_string(link_.reconnect_delay_ms()) +
              " ms");
      ClosePlanner();
      link_.OnClosed(now);
      break;
    case PlannerLink::Step::kConnect:
      if (Status s = ConnectPlanner(); !s.ok()) {
        Log(LogLevel::kError, "", s.message());
        link_.OnClosed(now);  // try again after the reconnect delay
      }
      break;
  }
}

void Fetcher::OnPlannerReadable() {
  for (int i = 0; i < 1000 && dealer_; ++i) {
    std::vector<zmq::message_t> parts;
    try {
      auto n = zmq::recv_multipart(*dealer_, std::back_inserter(parts), zmq::recv_flags::dontwait);
      if (!n) return;
    } catch (const zmq::error_t& e) {
      Log(LogLevel::kWarn, "", std::string("receive from planner: ") + e.what());
      return;
    }
    link_.OnReceived(clock_.MonotonicNowMs());  // any message: the planner is alive
    if (parts.size() != 1) {
      Log(LogLevel::kWarn, "",
          "dropped a " + std::to_string(parts.size()) +
              "-frame message from the planner (expected 1 frame)");
      continue;
    }
    Result<wire::Message> m = wire::Decode(parts[0].to_string_view());
    if (!m.ok()) {
      Log(LogLevel::kWarn, "",
          "dropped a malformed message from the planner (" + std::to_string(parts[0].size()) +
              " bytes): " + m.error());
      continue;
    }
    OnPlannerMessage(*m);
  }
}

void Fetcher::OnPlannerMessage(const wire::Message& m) {
  if (const auto* job = std::get_if<wire::Job>(&m)) {
    OnJob(*job);
  } else if (std::holds_alternative<wire::Heartbeat>(m)) {
    // Any message counts as a sign of life; nothing else to do.
  } else {
    Log(LogLevel::kWarn, "",
        "dropped an unexpected " + std::string(wire::TypeName(wire::TypeOf(m))) +
            " from the planner");
  }
}

void Fetcher::OnJob(const wire::Job& job) {
  const int64_t wall = clock_.WallNowMs();
  // The request-weight limit the planner read from the exchangeInfo of the job's host, for that
  // host's weight state (an unknown endpoint is refused below).
  const Endpoint* job_endpoint = FindEndpoint(job.endpoint);
  Result<SharedRateState*> weight_state =
      job_endpoint ? rates_.Weight(*job_endpoint) : Result<SharedRateState*>(rate_);
  if (!weight_state.ok()) Log(LogLevel::kWarn, "", weight_state.error());
  Learned& learned = learned_[weight_state.ok() ? *weight_state : rate_];
  if (weight_state.ok() && job.weight_limit > 0 && job.weight_window_ms >= 1000 &&
      (job.weight_limit != learned.limit || job.weight_window_ms != learned.window_ms ||
       wall - learned.at_ms >= kRelearnMs)) {
    // The limit the planner read from exchangeInfo: shared with every fetcher on the host.
    // Stored again every kRelearnMs, so that a limit a 429 lowered (a 429 may come from
    // another of the exchange's limits) does not stay lowered for ever.
    Status s = (*weight_state)->Learn(wall, job.weight_limit, job.weight_window_ms);
    if (s.ok()) {
      const bool changed =
          job.weight_limit != learned.limit || job.weight_window_ms != learned.window_ms;
      learned.limit = job.weight_limit;
      learned.window_ms = job.weight_window_ms;
      learned.at_ms = wall;
      if (changed) {
        Log(LogLevel::kInfo, "",
            "exchange weight limit " + std::to_string(job.weight_limit) + " per " +
                std::to_string(job.weight_window_ms) + " ms (from the planner)" +
                ((*weight_state)->path() == rate_->path() ? ""
                                                          : ", in " + (*weight_state)->path()));
      }
    } else {
      Log(LogLevel::kWarn, "", s.message());
    }
  }
  if (stopping_) {
    Log(LogLevel::kInfo, job.key, "stopping: returning job " + std::to_string(job.job_id));
    SendToPlanner(wire::JobReturn{job.job_id, job.key}, job.key);
    return;
  }
  if (in_flight_ >= options_.concurrency) {
    Log(LogLevel::kWarn, job.key,
        "job " + std::to_string(job.job_id) + " beyond our credits; returning it");
    SendToPlanner(wire::JobReturn{job.job_id, job.key}, job.key);
    return;
  }
  const Endpoint* endpoint = FindEndpoint(job.endpoint);
  Result<SliceKey> key = endpoint ? endpoint->ParseKey(job.key) : Result<SliceKey>(SliceKey{});
  if (!endpoint || !key.ok()) {
    const std::string why = !endpoint ? UnknownEndpointMessage(job.endpoint) : key.error();
    Log(LogLevel::kError, job.key,
        "bad job " + std::to_string(job.job_id) + ": " + why + "; answering JOB_DONE failed");
    SendToPlanner(wire::JobDone{job.job_id, job.key, "failed"}, job.key);
    ++counters_["jobs_rejected"];
    return;
  }
  ++in_flight_;
  ++counters_["jobs_received"];
  Log(LogLevel::kDebug, job.key, "job " + std::to_string(job.job_id) + " accepted");
  {
    std::lock_guard<std::mutex> lock(mu_);
    work_.push_back(WorkItem{job, endpoint, *key});
  }
  cv_.notify_one();
}

void Fetcher::OnCompletions() {
  uint64_t count = 0;
  if (::read(event_fd_, &count, sizeof count) < 0 && errno != EAGAIN) {
    Log(LogLevel::kWarn, "", "eventfd read failed");
  }
  std::deque<Completion> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(done_);
  }
  for (Completion& c : done) {
    const JobStats& js = c.outcome.stats;
    counters_["http_requests"] += js.http_requests;
    counters_["bytes_received"] += js.bytes_received;
    counters_["http_429"] += js.http_429;
    counters_["http_418"] += js.http_418;
    counters_["http_5xx"] += js.http_5xx;
    counters_["network_errors"] += js.network_errors;
    counters_["invalid_bodies"] += js.invalid_bodies;
    counters_["retries"] += js.retries;
    if (c.outcome.handed_back) {
      ++counters_["jobs_returned"];
      SendToPlanner(wire::JobReturn{c.job.job_id, c.job.key}, c.job.key);
      --in_flight_;
      continue;
    }
    wire::FetchResult& r = c.outcome.result;
    std::string frame = wire::Encode(r);
    if (static_cast<int64_t>(frame.size()) > wire::kMaxMessageBytes) {
      r.outcome = "failed";
      r.error = "result of " + std::to_string(frame.size()) + " bytes exceeds the message limit";
      r.body.clear();
      Log(LogLevel::kError, r.key, r.error);
      frame = wire::Encode(r);
    }
    ++counters_["jobs_" + r.outcome];  // jobs_ok, jobs_partial, jobs_failed
    outbox_.push_back(Pending{std::move(c.job), r.outcome, std::move(frame)});
  }
  FlushOutbox();
}

void Fetcher::FlushOutbox() {
  while (!outbox_.empty()) {
    Pending& p = outbox_.front();
    try {
      auto sent = push_->send(zmq::buffer(p.frame), zmq::send_flags::dontwait);
      if (!sent) return;  // persister queue full: try again when the socket is writable
    } catch (const zmq::error_t& e) {
      Log(LogLevel::kWarn, p.job.key, std::string("send FETCH_RESULT: ") + e.what());
      return;
    }
    // Only now does the planner get its credit back (docs/protocol.md).
    SendToPlanner(wire::JobDone{p.job.job_id, p.job.key, p.outcome}, p.job.key);
    --in_flight_;
    outbox_.pop_front();
  }
}

void Fetcher::BeginStop() {
  stopping_ = true;
  clock_.RequestStop();  // wakes every backoff and rate-limit wait
  std::deque<WorkItem> unstarted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unstarted.swap(work_);
  }
  Log(LogLevel::kInfo, "",
      "stopping: " + std::to_string(in_flight_) + " job(s) in hand, " +
          std::to_string(unstarted.size()) + " not started");
  for (const WorkItem& w : unstarted) {
    SendToPlanner(wire::JobReturn{w.job.job_id, w.job.key}, w.job.key);
    --in_flight_;
    ++counters_["jobs_returned"];
  }
}

Counters Fetcher::Snapshot() {
  Counters c = counters_;
  for (const char* name :
       {"jobs_received", "jobs_ok", "jobs_partial", "jobs_failed", "jobs_returned", "http_requests",
        "http_429", "http_418", "retries", "bytes_received"}) {
    c.emplace(name, 0);  // present even when still zero, so tables line up
  }
  size_t queued = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued = work_.size();
  }
  c["in_flight"] = in_flight_;
  c["queued"] = static_cast<int64_t>(queued);
  c["outbox"] = static_cast<int64_t>(outbox_.size());
  c["held"] = static_cast<int64_t>(link_.held());
  c["planner_connected"] = dealer_ ? 1 : 0;
  return c;
}

void Fetcher::MaybeReportStats(int64_t now) {
  if (now - last_stats_ms_ < options_.stats_ms) return;
  last_stats_ms_ = now;
  Counters c = Snapshot();
  if (dealer_) SendToPlanner(wire::Heartbeat{options_.fetcher_id, c}, "");
  stats_file_.Write(clock_.WallNowMs(), c);
}

Status Fetcher::Run(int stop_fd) {
  event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) return Status::Error("eventfd failed");
  try {
    push_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::push);
    push_->set(zmq::sockopt::linger, static_cast<int>(options_.linger_ms));
    push_->set(zmq::sockopt::maxmsgsize, wire::kMaxMessageBytes);
    push_->set(zmq::sockopt::sndhwm, 64);
    if (options_.curve) {
      Status s = curve::MakeClient(*push_, options_.curve->own, options_.curve->server_public);
      if (!s.ok()) return s;
      auto watch = curve::HandshakeWatch::Start(&ctx_, push_.get(), "persister",
                                                options_.curve->own.public_key);
      if (!watch.ok()) return watch.status();
      push_watch_ = std::move(*watch);
    }
    push_->connect(options_.persister);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot connect to persister " + options_.persister + ": " + e.what());
  }
  QLIR_RETURN_IF_ERROR(ConnectPlanner());
  for (int i = 0; i < options_.concurrency; ++i) workers_.emplace_back([this] { WorkerMain(); });
  Log(LogLevel::kInfo, "",
      "started: " + std::to_string(options_.concurrency) + " slot(s), persister " +
          options_.persister + ", base URL " + options_.job.base_url + ", rate state " +
          rate_->path() +
          (options_.curve ? ", CURVE key " + options_.curve->own.public_key : ", no CURVE"));

  int64_t stop_began_ms = 0;
  for (;;) {
    int64_t now = clock_.MonotonicNowMs();
    if (stopping_ && in_flight_ == 0) break;
    if (stopping_ && now - stop_began_ms > options_.linger_ms &&
        static_cast<size_t>(in_flight_) == outbox_.size()) {
      Log(LogLevel::kWarn, "",
          "persister not taking results; exiting with " + std::to_string(outbox_.size()) +
              " unsent");
      break;
    }
    // Only live items go in: zmq_poll must never see a null socket with fd -1.
    std::vector<zmq::pollitem_t> items;
    items.push_back({nullptr, event_fd_, ZMQ_POLLIN, 0});
    int stop_i = -1, dealer_i = -1, push_i = -1, dealer_watch_i = -1, push_watch_i = -1;
    if (dealer_watch_) {
      dealer_watch_i = static_cast<int>(items.size());
      items.push_back({dealer_watch_->events().handle(), 0, ZMQ_POLLIN, 0});
    }
    if (push_watch_) {
      push_watch_i = static_cast<int>(items.size());
      items.push_back({push_watch_->events().handle(), 0, ZMQ_POLLIN, 0});
    }
    if (!stopping_) {
      stop_i = static_cast<int>(items.size());
      items.push_back({nullptr, stop_fd, ZMQ_POLLIN, 0});
    }
    if (dealer_) {
      dealer_i = static_cast<int>(items.size());
      items.push_back({dealer_->handle(), 0, ZMQ_POLLIN, 0});
    }
    if (!outbox_.empty()) {
      push_i = static_cast<int>(items.size());
      items.push_back({push_->handle(), 0, ZMQ_POLLOUT, 0});
    }

    int64_t timeout = link_.NextWakeMs(now, stopping_);
    if (stopping_) timeout = std::min<int64_t>(timeout, 100);
    timeout = std::max<int64_t>(timeout, 0);
    try {
      zmq::poll(items, std::chrono::milliseconds(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) Log(LogLevel::kWarn, "", std::string("poll: ") + e.what());
      continue;
    }
    if (stop_i >= 0 && (items[stop_i].revents & ZMQ_POLLIN)) {
      char buf[128];  // a signalfd_siginfo or an eventfd counter; either way it means "stop"
      if (::read(stop_fd, buf, sizeof buf) < 0) {
        Log(LogLevel::kDebug, "", "stop fd read failed");
      }
      BeginStop();
    }
    if (dealer_watch_i >= 0 && (items[dealer_watch_i].revents & ZMQ_POLLIN)) {
      dealer_watch_->Drain(clock_.MonotonicNowMs());
    }
    if (push_watch_i >= 0 && (items[push_watch_i].revents & ZMQ_POLLIN)) {
      push_watch_->Drain(clock_.MonotonicNowMs());
    }
    if (items[0].revents & ZMQ_POLLIN) OnCompletions();
    if (dealer_i >= 0 && (items[dealer_i].revents & ZMQ_POLLIN)) OnPlannerReadable();
    if (push_i >= 0 && (items[push_i].revents & ZMQ_POLLOUT)) FlushOutbox();

    now = clock_.MonotonicNowMs();
    StepPlannerLink(now);
    MaybeReportStats(now);
  }
  StopWorkers();
  stats_file_.Write(clock_.WallNowMs(), Snapshot());
  // Give the last JOB_DONE/JOB_RETURN time to leave; a reconnect closes with linger 0 instead.
  if (dealer_) {
    try {
      dealer_->set(zmq::sockopt::linger, static_cast<int>(options_.linger_ms));
    } catch (const zmq::error_t&) {
    }
  }
  ClosePlanner();
  push_watch_.reset();
  push_->close();  // lingers up to linger_ms for queued results
  Log(LogLevel::kInfo, "", "stopped");
  return Status::Ok();
}

}  // namespace

Status RunFetcher(const FetcherOptions& options, const HttpClientFactory& make_http,
                  SharedRateState* rate, Clock& clock, int stop_fd) {
  Fetcher f(options, make_http, rate, clock);
  Status s = f.Run(stop_fd);
  return s;
}

}  // namespace qlir::fetcher
