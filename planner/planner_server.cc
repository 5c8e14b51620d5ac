#include "planner/planner_server.h"

#include <poll.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <zmq.hpp>

#include "common/curve.h"
#include "common/exit_codes.h"
#include "common/klines/interval.h"
#include "common/time_util.h"
#include "common/wire.h"
#include "planner/coordinator.h"
#include "planner/exchange_info.h"
#include "common/log.h"
#include "planner/plan.h"

namespace qlir::planner {
namespace {

// Messages handled per socket before timers get a turn.
constexpr int kMaxDrain = 10000;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

class Server {
 public:
  Server(const Options& o, HttpClient& http, Clock& clock, int stop_fd, Coordinator* coordinator,
         std::vector<std::string> unknown_symbols)
      : unknown_symbols_(std::move(unknown_symbols)),
        o_(o),
        http_(http),
        clock_(clock),
        stop_fd_(stop_fd),
        c_(*coordinator),
        stats_(o.stats_file, "planner", kSenderName, WallClockMs()) {}

  Result<int> Serve();

 private:
  Status Open();
  void Flush(int64_t now);
  bool RecvMultipart(zmq::socket_t& s, std::vector<zmq::message_t>* parts);
  void DrainJobs(int64_t now);
  void DrainControl(int64_t now);
  void DrainMonitor(int64_t now);
  void MaybeSyncClock(int64_t now);
  void Report(int64_t now);
  void WriteStats(int64_t now, bool force);
  // Logs the plan once every series' statuses are in; true when it has been logged.
  bool MaybeLogPlan();

  const std::vector<std::string> unknown_symbols_;
  bool plan_logged_ = false;
  const Options& o_;
  HttpClient& http_;
  Clock& clock_;
  int stop_fd_;
  Coordinator& c_;
  zmq::context_t ctx_{1};
  std::unique_ptr<curve::ZapHandler> zap_;  // before the sockets: see Open
  zmq::socket_t jobs_{ctx_, zmq::socket_type::router};
  zmq::socket_t control_{ctx_, zmq::socket_type::dealer};
  zmq::socket_t monitor_{ctx_, zmq::socket_type::pair};
  // Logs fetchers refused outside ZAP (CURVE on one side only); destroyed before jobs_.
  std::unique_ptr<curve::RefusalWatch> jobs_watch_;
  Outbox out_;
  bool persister_connected_before_ = false;
  int64_t last_sync_ms_ = 0;
  StatsFile stats_;
  int64_t last_handshake_warning_ms_ = -60000;
};

Status Server::Open() {
  const int64_t max_size = wire::kMaxMessageBytes;
  try {
    jobs_.set(zmq::sockopt::router_mandatory, 1);
    jobs_.set(zmq::sockopt::maxmsgsize, max_size);
    jobs_.set(zmq::sockopt::linger, 0);
    control_.set(zmq::sockopt::maxmsgsize, max_size);
    control_.set(zmq::sockopt::linger, 0);
    // Queue nothing for a persister that is not there: a STATUS_REQUEST sent into the void
    // would be answered twice once it comes up.
    control_.set(zmq::sockopt::immediate, 1);
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot set socket options: ") + e.what());
  }
  auto curve_setup = curve::LoadSetup(o_.curve, curve::Role::kServerAndClient);
  if (!curve_setup.ok()) return curve_setup.status();
  if (*curve_setup) {
    const curve::Setup& cs = **curve_setup;
    // The handler must be up before the CURVE server binds: without one libzmq lets anyone in.
    curve::ZapPolicy policy;
    policy.Allow(curve::kJobsDomain, cs.allowed);
    auto zap = curve::ZapHandler::Start(&ctx_, std::move(policy));
    if (!zap.ok()) return zap.status();
    zap_ = std::move(*zap);
    if (Status s = curve::MakeServer(jobs_, cs.own, curve::kJobsDomain); !s.ok()) return s;
    if (Status s = curve::MakeClient(control_, cs.own, cs.server_public); !s.ok()) return s;
    LogInfo("CURVE on: " + std::to_string(cs.allowed.size()) + " allowed fetcher key(s)");
  }
  auto watch = curve::RefusalWatch::Start(&ctx_, &jobs_, "jobs");
  if (!watch.ok()) return watch.status();
  jobs_watch_ = std::move(*watch);
  try {
    jobs_.bind(o_.jobs_bind);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot bind the jobs socket to " + o_.jobs_bind + ": " + e.what());
  }
  // The monitor tells us when the persister connection comes (back): see OnPersisterConnected.
  const std::string mon_ep =
      "inproc://planner-control-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  if (zmq_socket_monitor(control_.handle(), mon_ep.c_str(),
                         ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
    return Status::Error(std::string("cannot monitor the control socket: ") +
                         zmq_strerror(zmq_errno()));
  }
  try {
    monitor_.connect(mon_ep);
    control_.connect(o_.persister);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot connect to the persister at " + o_.persister + ": " + e.what());
  }
  return Status::Ok();
}

void Server::Flush(int64_t now) {
  for (const wire::Message& m : out_.to_persister) {
    const std::string bytes = wire::Encode(m);
    try {
      if (!control_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
        LogDebug(std::string(wire::TypeName(wire::TypeOf(m))) +
                 " not sent: the persister is not connected");
        c_.OnPersisterSendFailed(m);
      } else {
        LogDebug(std::string(wire::TypeName(wire::TypeOf(m))) + " sent to the persister");
      }
    } catch (const zmq::error_t& e) {
      LogWarn(std::string("send to the persister failed: ") + e.what());
      c_.OnPersisterSendFailed(m);
    }
  }
  for (const auto& [identity, m] : out_.to_fetchers) {
    const std::string bytes = wire::Encode(m);
    const auto* job = std::get_if<wire::Job>(&m);
    try {
      bool sent =
          jobs_.send(zmq::buffer(identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait)
              .has_value();
      if (sent) sent = jobs_.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
      if (!sent && job) c_.OnJobNotSent(identity, job->job_id, now);
    } catch (const zmq::error_t& e) {
      if (e.num() == EHOSTUNREACH) {
        c_.OnFetcherUnreachable(identity, now);  // idempotent for its later messages
      } else {
        LogWarn(std::string("send to a fetcher failed: ") + e.what());
        if (job) c_.OnJobNotSent(identity, job->job_id, now);
      }
    }
  }
  out_.clear();
}

bool Server::RecvMultipart(zmq::socket_t& s, std::vector<zmq::message_t>* parts) {
  parts->clear();
  zmq::message_t m;
  if (!s.recv(m, zmq::recv_flags::dontwait)) return false;
  bool more = m.more();
  parts->push_back(std::move(m));
  while (more) {
    zmq::message_t next;
    if (!s.recv(next, zmq::recv_flags::none)) break;
    more = next.more();
    parts->push_back(std::move(next));
  }
  return true;
}

void Server::DrainJobs(int64_t now) {
  std::vector<zmq::message_t> parts;
  for (int i = 0; i < kMaxDrain && RecvMultipart(jobs_, &parts); ++i) {
    if (parts.size() != 2) {
      LogWarn("dropped a " + std::to_string(parts.size()) + "-frame message on the jobs socket");
      continue;
    }
    const std::string identity = parts[0].to_string();
    auto msg = wire::Decode(parts[1].to_string_view());
    if (!msg) {
      LogWarn("dropped a bad message of " + std::to_string(parts[1].size()) +
              " bytes on the jobs socket: " + msg.error());
      continue;
    }
    c_.OnFetcherMessage(identity, *msg, now, &out_);
  }
}

void Server::DrainControl(int64_t now) {
  std::vector<zmq::message_t> parts;
  for (int i = 0; i < kMaxDrain && RecvMultipart(control_, &parts); ++i) {
    if (parts.size() != 1) {
      LogWarn("dropped a " + std::to_string(parts.size()) + "-frame message on the control socket");
      continue;
    }
    auto msg = wire::Decode(parts[0].to_string_view());
    if (!msg) {
      LogWarn("dropped a bad message of " + std::to_string(parts[0].size()) +
              " bytes on the control socket: " + msg.error());
      continue;
    }
    c_.OnPersisterMessage(*msg, now, &out_);
  }
}

void Server::DrainMonitor(int64_t now) {
  std::vector<zmq::message_t> parts;
  while (RecvMultipart(monitor_, &parts)) {
    if (parts.empty() || parts[0].size() < 6) continue;
    uint16_t event = 0;
    std::memcpy(&event, parts[0].data(), sizeof event);
    if (event == ZMQ_EVENT_CONNECTED) {
      LogInfo(std::string("connected to the persister at ") + o_.persister);
      c_.OnPersisterConnected(now, persister_connected_before_, &out_);
      persister_connected_before_ = true;
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
      LogWarn("persister connection lost at " + o_.persister);
      c_.OnPersisterLost(now);
    } else if (now - last_handshake_warning_ms_ >= 60000) {
      // libzmq retries every 100 ms or so: one line a minute is enough.
      last_handshake_warning_ms_ = now;
      LogWarn("handshake with the persister at " + o_.persister + " failed (" +
              (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                   ? std::string("our CURVE key was refused: the persister must run with the same "
                                 "--curve-secret-key")
                   : std::string("security mismatch: CURVE on one side only, or a wrong key")) +
              ")");
    }
  }
}

void Server::MaybeSyncClock(int64_t now) {
  if (o_.once || now - last_sync_ms_ < o_.time_sync_ms) return;
  last_sync_ms_ = now;
  const int64_t before = clock_.MonotonicNowMs();
  auto t = FetchServerTime(http_, o_.base_url);
  const int64_t after = clock_.MonotonicNowMs();
  if (!t) {
    LogWarn("cannot re-read the exchange clock, keeping the offset: " + t.error());
    return;
  }
  c_.SyncExchangeClock(*t, before, after);
}

void Server::Report(int64_t now) {
  for (const std::string& line : c_.ProgressLines(now)) LogInfo(line);
  for (const std::string& line : c_.SummaryLines(now)) LogInfo(line);
  WriteStats(now, true);
}

bool Server::MaybeLogPlan() {
  if (plan_logged_) return true;
  const Universe& u = c_.universe();
  PlanInput in;
  for (uint32_t s = 0; s < u.series_count(); ++s) {
    if (!c_.ready(s)) return false;
    const SeriesCounts& counts = u.counts(s);
    in.series.push_back({u.SeriesName(s), counts.total(), counts.pending + counts.failed,
                         u.endpoint().default_limit()});
  }
  plan_logged_ = true;
  in.request_weight = u.endpoint().request_weight();
  in.weight_per_minute = o_.plan_weight_per_minute;
  in.data_root = o_.data_root;
  in.free_bytes = FreeBytes(o_.data_root);
  const Plan plan = MakePlan(in);
  for (const std::string& line : PlanLines(in, plan)) LogInfo(line);
  if (std::string warning = PlanWarning(in, plan); !warning.empty()) LogWarn(warning);
  return true;
}

void Server::WriteStats(int64_t now, bool force) {
  const int64_t wall = WallClockMs();
  if (!force && !stats_.Due(wall)) return;
  stats_.Write(wall, c_.StatsCounters(), {{"fetchers", c_.FetcherStats(now, wall)}});
}

Result<int> Server::Serve() {
  if (Status s = Open(); !s.ok()) return s;
  LogInfo("jobs socket bound at " + o_.jobs_bind + "; persister at " + o_.persister);
  int64_t now = clock_.MonotonicNowMs();
  last_sync_ms_ = now;
  try {
    c_.Start(now, &out_);
    Flush(now);
    while (true) {
      now = clock_.MonotonicNowMs();
      if (MaybeLogPlan() && o_.plan_only) {
        LogInfo("--plan-only: exiting 0 without fetching");
        return kExitDone;
      }
      if (auto code = c_.Finished(now)) {
        for (SliceRef r : c_.failed_for_good()) {
          LogError("failed for good key=" + c_.universe().Key(r));
        }
        Report(now);
        if (!unknown_symbols_.empty()) {
          LogError("skipped " + std::to_string(unknown_symbols_.size()) +
                   " unknown symbol(s): " + Join(unknown_symbols_));
        }
        if (*code == 0 && unknown_symbols_.empty()) {
          LogInfo("--once: every slice is done; exiting 0");
          return kExitDone;
        }
        LogInfo("--once: " + std::to_string(c_.failed_for_good().size()) +
                " slices failed for good, " + std::to_string(unknown_symbols_.size()) +
                " unknown symbol(s) skipped; exiting 2");
        return kExitDoneWithFailures;
      }
      MaybeSyncClock(now);
      c_.Tick(now, &out_);
      c_.Dispatch(now, &out_);
      Flush(now);
      WriteStats(now, false);
      zmq::pollitem_t items[] = {
          {jobs_.handle(), 0, ZMQ_POLLIN, 0},
          {control_.handle(), 0, ZMQ_POLLIN, 0},
          {monitor_.handle(), 0, ZMQ_POLLIN, 0},
          {nullptr, stop_fd_, ZMQ_POLLIN, 0},
      };
      const size_t n_items = stop_fd_ >= 0 ? 4 : 3;
      try {
        zmq::poll(items, n_items, std::chrono::milliseconds(c_.NextWakeMs(clock_.MonotonicNowMs())));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;  // stop_fd says whether to stop
        throw;
      }
      now = clock_.MonotonicNowMs();
      if (n_items == 4 && (items[3].revents & ZMQ_POLLIN)) {
        Report(now);
        if (o_.once && !o_.plan_only) {
          LogInfo("stop requested before the run was complete; exiting 3");
          return kExitStopped;
        }
        LogInfo("stop requested; exiting 0");
        return kExitDone;
      }
      if (items[2].revents & ZMQ_POLLIN) DrainMonitor(now);
      if (items[1].revents & ZMQ_POLLIN) DrainControl(now);
      if (items[0].revents & ZMQ_POLLIN) DrainJobs(now);
    }
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("zeromq error: ") + e.what());
  }
}

}  // namespace

Result<Universe> BuildUniverse(const Options& o, HttpClient& http,
                               const std::vector<std::string>& symbols, int64_t exchange_now) {
  const Endpoint* endpoint = FindEndpoint(o.endpoint);
  if (!endpoint) return Status::Error(UnknownEndpointMessage(o.endpoint));
  Universe u(*endpoint);
  const int64_t end = o.end_ms ? std::min(*o.end_ms, exchange_now) : exchange_now;
  if (o.start_ms && *o.start_ms > exchange_now) {
    return Status::Error("--start " + FormatIsoUtc(*o.start_ms) + " is after the exchange's now " +
                         FormatIsoUtc(exchange_now));
  }
  for (const std::string& symbol : symbols) {
    for (const std::string& interval : o.intervals) {
      const std::string name = symbol + "/" + interval;
      int64_t start = 0;
      if (o.start_ms) {
        start = *o.start_ms;
      } else {
        auto first = FetchFirstCandle(http, o.base_url, symbol, interval);
        if (!first)
          return Status::Error("cannot find the listing of " + name + ": " + first.error());
        if (!first->has_value()) {
          LogWarn(name + " has no candle yet; starting at now");
          start = exchange_now;
        } else {
          start = **first;
          LogInfo("listing of " + name + ": first candle at " + FormatIsoUtc(start));
        }
      }
      start = std::max<int64_t>(start, 0);
      if (start > end) {
        LogWarn(name + " has nothing before --end (its first candle is at " + FormatIsoUtc(start) +
                "); skipped");
        continue;
      }
      auto s = u.AddSeries(symbol, interval, start, end);
      if (!s) return s.status();
      LogInfo("range of " + name + ": " + FormatIsoUtc(start) + " to " +
              (o.end_ms ? FormatIsoUtc(*o.end_ms) : std::string("now (following)")) + ", " +
              std::to_string(u.size(*s)) + " slices so far");
    }
  }
  if (u.series_count() == 0) return Status::Error("no series has anything to fetch in the range");
  return u;
}

namespace {

// True when stop_fd is readable (checked between the start-up requests, which
// do not poll).
bool StopRequested(int stop_fd) {
  if (stop_fd < 0) return false;
  pollfd p{stop_fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

}  // namespace

Result<int> RunPlanner(const Options& o, HttpClient& http, Clock& clock, int stop_fd) {
  qlir::SetLogProcess("planner");
  SetLogLevel(o.verbose ? LogLevel::kDebug : LogLevel::kInfo);
  SetLogJson(o.log_json);
  auto check = CheckSymbols(http, o.base_url, o.symbols);
  if (!check) return Status::Error("cannot check the symbols: " + check.error());
  for (const std::string& s : check->unknown) {
    LogError("unknown symbol " + s + ": not listed by " + o.base_url +
             "/api/v3/exchangeInfo; skipped");
  }
  if (check->known.empty()) {
    // The same command fails again: bad usage, final (common/exit_codes.h).
    bool lower = false;
    for (const std::string& s : check->unknown) {
      lower = lower || std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    }
    LogError("bad usage: --symbols: no known symbol left (unknown: " + Join(check->unknown) + ")" +
             (lower ? "; symbols are upper case, e.g. BTCUSDT" : ""));
    return kExitUsage;
  }
  ExchangeClock exchange;
  const int64_t before = clock.MonotonicNowMs();
  auto server_time = FetchServerTime(http, o.base_url);
  const int64_t after = clock.MonotonicNowMs();
  if (server_time) {
    exchange.Sync(*server_time, before, after);
  } else if (check->date_ms > 0) {
    LogWarn("using the exchangeInfo Date header as the exchange clock: " + server_time.error());
    exchange.Sync(check->date_ms, before, before);
  } else {
    return Status::Error("cannot read the exchange clock: " + server_time.error());
  }
  LogInfo("exchange clock " + FormatIsoUtcMs(exchange.Now(after)) + " (local wall clock " +
          std::to_string(exchange.Now(after) - WallClockMs()) + " ms behind it)");
  if (StopRequested(stop_fd)) return o.once ? kExitStopped : kExitDone;
  if (o.start_ms && *o.start_ms > exchange.Now(clock.MonotonicNowMs())) {
    LogError("bad usage: --start " + FormatIsoUtc(*o.start_ms) + " is after the exchange's now " +
             FormatIsoUtc(exchange.Now(clock.MonotonicNowMs())));
    return kExitUsage;  // the same command fails again: final
  }
  auto universe = BuildUniverse(o, http, check->known, exchange.Now(clock.MonotonicNowMs()));
  if (StopRequested(stop_fd)) return o.once ? kExitStopped : kExitDone;
  if (!universe) return universe.status();
  LogInfo("universe: " + std::to_string(universe->series_count()) + " series, " +
          std::to_string(universe->total_size()) + " slices");
  Coordinator coordinator(CoordinatorConfig::FromOptions(o), std::move(*universe), exchange);
  Server server(o, http, clock, stop_fd, &coordinator, check->unknown);
  return server.Serve();
}

}  // namespace qlir::planner
