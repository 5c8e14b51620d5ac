#include "planner/planner_server.h"

#include <poll.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <future>
#include <optional>
#include <zmq.hpp>

#include "common/curve.h"
#include "common/exit_codes.h"
#include "common/klines/interval.h"
#include "common/log.h"
#include "common/time_util.h"
#include "common/wire.h"
#include "planner/coordinator.h"
#include "planner/exchange_client.h"
#include "planner/exchange_info.h"
#include "planner/listing_cache.h"
#include "planner/plan.h"

namespace qlir::planner {
namespace {

// Messages handled per socket before timers get a turn.
constexpr int kMaxDrain = 10000;
// Request weights (docs/exchange-rules.md, "Other endpoints").
constexpr int64_t kExchangeInfoWeight = 20;
constexpr int64_t kTimeWeight = 1;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The exchange work of the planner, done off the socket thread (background.h-like): one job at
// a time runs in its own thread and hands back a closure that the socket thread applies.
class Background {
 public:
  ~Background() { Wait(); }
  bool busy() const { return future_.valid(); }
  void Launch(std::function<std::function<void()>()> job) {
    future_ = std::async(std::launch::async, std::move(job));
  }
  // Applies the finished job's closure on this thread; false while it runs (or none).
  bool Poll() {
    if (!future_.valid() ||
        future_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      return false;
    }
    auto apply = future_.get();
    if (apply) apply();
    return true;
  }
  void Wait() {
    if (future_.valid()) future_.wait();
  }

 private:
  std::future<std::function<void()>> future_;
};

// What the start-up requests found (run off the socket thread).
struct Startup {
  int exit_code = -1;  // >= 0: end the run with it (the reason is logged)
  std::vector<std::string> unknown;
  std::optional<WeightLimit> weight;
  int64_t server_ms = 0, local_before = 0, local_after = 0;
  std::vector<SeriesEdges> series;
};

int ExitFor(const Fetched& f, bool once) {
  switch (f.kind) {
    case Fetched::kOk:
      return -1;
    case Fetched::kFinal:
      return kExitCannotStart;
    case Fetched::kGaveUp:
      return kExitTemporary;
    case Fetched::kStopped:
      break;
  }
  return once ? kExitStopped : kExitDone;
}

class Server {
 public:
  Server(const Options& o, HttpClient& http, Clock& clock, int stop_fd)
      : o_(o),
        http_(http),
        clock_(clock),
        stop_fd_(stop_fd),
        stats_(o.stats_file, "planner", kSenderName, WallClockMs()) {}

  Result<int> Serve();

 private:
  Status Open();
  void Flush(int64_t now);
  bool RecvMultipart(zmq::socket_t& s, std::vector<zmq::message_t>* parts);
  void DrainJobs(int64_t now);
  void DrainControl(int64_t now);
  void DrainMonitor(int64_t now);
  void Report(int64_t now);
  void WriteStats(int64_t now, bool force);
  // Before the coordinator exists: answers fetchers so that they stay connected, and keeps
  // their messages (READY) for the coordinator.
  void DrainJobsWhileStarting(int64_t now);
  Startup RunStartup();
  // Builds the coordinator from a finished start-up; an exit code when the run must end.
  std::optional<int> Begin(Startup st, int64_t now);
  // Forever mode: the periodic exchange work (clock, exchangeInfo, delistings).
  void MaybeRefresh(int64_t now);
  void ApplyWeight(const std::optional<WeightLimit>& w);
  // Logs the plan once every series' statuses are in; true when it has been logged.
  bool MaybeLogPlan();

  bool plan_logged_ = false;
  const Options& o_;
  HttpClient& http_;
  Clock& clock_;
  int stop_fd_;
  std::unique_ptr<Coordinator> c_;
  // The host's budgets, shared with the fetchers (fetcher/shared_rate_state.h): rate_ is the
  // request weight of the endpoint's exchange host (exchangeInfo, time, and klines' listing
  // requests), listing_rate_ what a listing request spends (fundingRate: its own limit).
  std::unique_ptr<fetcher::RateStateSet> rates_;
  fetcher::SharedRateState* rate_ = nullptr;
  fetcher::SharedRateState* listing_rate_ = nullptr;
  RealClock wait_clock_;  // the background's waits; RequestStop() ends them
  std::unique_ptr<ExchangeClient> exchange_;
  Background background_;
  std::vector<std::pair<std::string, wire::Message>> early_;  // fetcher messages before start
  std::vector<std::string> unknown_;
  std::optional<WeightLimit> weight_;
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
  int64_t last_info_ms_ = 0;
  int64_t last_newest_ms_ = 0;  // id axis: the series' newest ids last asked
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
  if (zmq_socket_monitor(
          control_.handle(), mon_ep.c_str(),
          ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
              ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
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
        c_->OnPersisterSendFailed(m);
      } else {
        LogDebug(std::string(wire::TypeName(wire::TypeOf(m))) + " sent to the persister");
      }
    } catch (const zmq::error_t& e) {
      LogWarn(std::string("send to the persister failed: ") + e.what());
      c_->OnPersisterSendFailed(m);
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
      if (!sent && job) c_->OnJobNotSent(identity, job->job_id, now);
    } catch (const zmq::error_t& e) {
      if (e.num() == EHOSTUNREACH) {
        c_->OnFetcherUnreachable(identity, now);  // idempotent for its later messages
      } else {
        LogWarn(std::string("send to a fetcher failed: ") + e.what());
        if (job) c_->OnJobNotSent(identity, job->job_id, now);
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
    c_->OnFetcherMessage(identity, *msg, now, &out_);
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
    c_->OnPersisterMessage(*msg, now, &out_);
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
      c_->OnPersisterConnected(now, persister_connected_before_, &out_);
      persister_connected_before_ = true;
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
      LogWarn("persister connection lost at " + o_.persister);
      c_->OnPersisterLost(now);
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

void Server::Report(int64_t now) {
  if (!c_) return;
  for (const std::string& line : c_->ProgressLines(now)) LogInfo(line);
  for (const std::string& line : c_->SummaryLines(now)) LogInfo(line);
  WriteStats(now, true);
}

bool Server::MaybeLogPlan() {
  if (plan_logged_) return true;
  const Universe& u = c_->universe();
  PlanInput in;
  for (uint32_t s = 0; s < u.series_count(); ++s) {
    if (!c_->ready(s)) return false;
    const SeriesCounts& counts = u.counts(s);
    in.series.push_back({u.SeriesName(s), counts.total(), counts.pending + counts.failed,
                         u.endpoint().default_limit()});
  }
  plan_logged_ = true;
  in.request_weight = u.endpoint().request_weight();
  in.weight_per_minute = o_.plan_weight_per_minute;
  // An endpoint with its own limit (fundingRate: 500 requests per 5 minutes) goes at that pace.
  if (auto own = u.endpoint().own_limit())
    in.weight_per_minute = own->limit * 60000 / own->window_ms;
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
  Counters counters;
  nlohmann::json extra = nlohmann::json::object();
  if (c_) {
    counters = c_->StatsCounters();
    extra["fetchers"] = c_->FetcherStats(now, wall);
  } else {
    counters["starting"] = 1;
  }
  if (exchange_) {
    const ExchangeClientCounters e = exchange_->counters();
    counters["exchange_requests"] = e.requests;
    counters["exchange_failures"] = e.failures;
    counters["exchange_429"] = e.http_429;
    counters["exchange_418"] = e.http_418;
  }
  if (weight_) {
    counters["weight_limit"] = weight_->limit;
    counters["weight_window_ms"] = weight_->window_ms;
  }
  stats_.Write(wall, counters, extra);
}

void Server::DrainJobsWhileStarting(int64_t now) {
  std::vector<zmq::message_t> parts;
  for (int i = 0; i < kMaxDrain && RecvMultipart(jobs_, &parts); ++i) {
    if (parts.size() != 2) continue;
    const std::string identity = parts[0].to_string();
    auto msg = wire::Decode(parts[1].to_string_view());
    if (!msg) {
      LogWarn("dropped a bad message of " + std::to_string(parts[1].size()) +
              " bytes on the jobs socket: " + msg.error());
      continue;
    }
    // A sign of life back, so that the fetcher keeps its connection while we start.
    const std::string hb = wire::Encode(wire::Heartbeat{kSenderName});
    try {
      if (jobs_.send(zmq::buffer(identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        jobs_.send(zmq::buffer(hb), zmq::send_flags::dontwait);
      }
    } catch (const zmq::error_t&) {
      // gone: its later messages will say so
    }
    // A bare heartbeat is only a sign of life; one carrying the fetcher's counters is kept for
    // the stats file (a short --once run may end before the fetcher's next report).
    if (const auto* beat = std::get_if<wire::Heartbeat>(&*msg); beat && beat->counters.empty()) {
      continue;
    }
    if (early_.size() < 100000) early_.emplace_back(identity, std::move(*msg));
  }
  (void)now;
}

Startup Server::RunStartup() {
  Startup st;
  const Endpoint* endpoint = FindEndpoint(o_.endpoint);
  const std::string base = [&] {
    std::string b = o_.base_url;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
  }();
  // The market's paths (spot /api/v3, futures /fapi/v1).
  const std::string info_path(endpoint->exchange_info_path()), time_path(endpoint->time_path());
  // 1. Which symbols exist, their status, and the weight limit.
  ExchangeInfo info;
  Fetched f = exchange_->Get("exchangeInfo", base + info_path, kExchangeInfoWeight,
                             [&](const HttpResponse& r) {
                               auto i = ParseExchangeInfo(r.body);
                               if (!i) return i.status();
                               info = std::move(*i);
                               return Status::Ok();
                             });
  if (!f.ok()) {
    st.exit_code = ExitFor(f, o_.once);
    if (f.kind != Fetched::kStopped) LogError("cannot check the symbols: " + f.error);
    return st;
  }
  st.weight = info.weight;
  if (info.weight && rate_) {
    // At once: the listing requests below must already be paced by the stated limit.
    Status s = rate_->Learn(WallClockMs(), info.weight->limit, info.weight->window_ms);
    if (!s.ok()) LogWarn(s.message());
  }
  std::vector<std::string> known;
  for (const std::string& s : o_.symbols) {
    (info.status.count(s) ? known : st.unknown).push_back(s);
  }
  // 2. The exchange's clock.
  int64_t server_ms = 0;
  st.local_before = clock_.MonotonicNowMs();
  f = exchange_->Get("time", base + time_path, kTimeWeight, [&](const HttpResponse& r) {
    auto t = ParseServerTime(r.body);
    if (!t) return t.status();
    server_ms = *t;
    return Status::Ok();
  });
  st.local_after = clock_.MonotonicNowMs();
  if (!f.ok()) {
    st.exit_code = ExitFor(f, o_.once);
    if (f.kind != Fetched::kStopped) LogError("cannot read the exchange clock: " + f.error);
    return st;
  }
  if (f.attempts > 1) st.local_before = st.local_after - 1;  // only the last attempt counts
  st.server_ms = server_ms;
  // 3. Each series' first candle (and a delisted symbol's last one), paced by the budget. First
  // candles learned before come from the listing cache instead.
  ListingCache cache = ListingCache::Load(o_.listing_cache);
  if (!cache.load_error().empty()) {
    LogWarn("listing cache ignored (it will be rewritten): " + cache.load_error());
  }
  int64_t from_cache = 0;
  for (const std::string& symbol : known) {
    const bool delisted = !info.Trading(symbol);
    for (const std::string& interval : o_.intervals) {
      SeriesEdges e{symbol, interval, std::nullopt, std::nullopt, delisted};
      const std::string name = symbol + "/" + interval;
      auto edge = [&](const std::string& what, const std::string& url,
                      std::optional<int64_t>* out) -> bool {
        Fetched g = exchange_->Get(
            what + " of " + name, url, endpoint->request_weight(),
            [&](const HttpResponse& r) {
              auto t = endpoint->ParseEdgeItem(r.body);
              if (!t) return t.status();
              *out = *t;
              return Status::Ok();
            },
            listing_rate_);
        if (g.ok()) return true;
        if (g.kind == Fetched::kFinal) {
          LogError("cannot find the " + what + " of " + name + ": " + g.error + "; skipped");
          e.skip = true;
          return true;
        }
        st.exit_code = ExitFor(g, o_.once);
        if (g.kind != Fetched::kStopped)
          LogError("cannot find the " + what + " of " + name + ": " + g.error);
        return false;
      };
      if (auto cached = cache.First(base, o_.endpoint, symbol, interval)) {
        e.first = cached;
        ++from_cache;
      } else if (!edge("listing", endpoint->FirstItemUrl(base, symbol, interval), &e.first)) {
        return st;
      } else if (e.first) {
        cache.Remember(base, o_.endpoint, symbol, interval, *e.first);
      }
      const bool ids = endpoint->axis() == Endpoint::Axis::kId;
      // An id series always needs its newest id: it is the series' "now" (Endpoint::Axis).
      if (!e.skip && (delisted || ids) && e.first &&
          !edge(ids ? "newest item" : "last candle", endpoint->LastItemUrl(base, symbol, interval),
                &e.last)) {
        return st;
      }
      // A time the user gave becomes an id: the first item at or after it.
      if (ids && !e.skip && e.first && o_.start_ms &&
          !edge("first item at --start",
                endpoint->ItemAtTimeUrl(base, symbol, interval, *o_.start_ms), &e.start_at)) {
        return st;
      }
      if (ids && !e.skip && e.first && o_.end_ms) {
        std::optional<int64_t> after;
        if (!edge("first item after --end",
                  endpoint->ItemAtTimeUrl(base, symbol, interval, *o_.end_ms + 1), &after)) {
          return st;
        }
        e.end_at = after ? std::optional<int64_t>(*after - 1) : e.last;
      }
      st.series.push_back(std::move(e));
    }
  }
  if (from_cache > 0) {
    LogInfo("first candles of " + std::to_string(from_cache) + " series from the listing cache " +
            o_.listing_cache);
  }
  if (Status s = cache.Save(); !s.ok()) LogWarn("cannot save the listing cache: " + s.message());
  return st;
}

void Server::ApplyWeight(const std::optional<WeightLimit>& w) {
  if (!w) return;
  if (!weight_ || !(*weight_ == *w)) {
    LogInfo("exchange weight limit " + std::to_string(w->limit) + " per " +
            FormatDuration(w->window_ms) + " (exchangeInfo rateLimits); handed to the fetchers");
  }
  weight_ = w;
  if (rate_) {
    if (Status s = rate_->Learn(WallClockMs(), w->limit, w->window_ms); !s.ok()) {
      LogWarn(s.message());
    }
  }
  if (c_) c_->SetWeightLimit(w->limit, w->window_ms);
}

std::optional<int> Server::Begin(Startup st, int64_t now) {
  if (st.exit_code >= 0) return st.exit_code;
  unknown_ = st.unknown;
  for (const std::string& s : st.unknown) {
    LogError("unknown symbol " + s + ": not listed by " + o_.base_url +
             std::string(FindEndpoint(o_.endpoint)->exchange_info_path()) + "; skipped");
  }
  if (!st.unknown.empty() && st.series.empty() && st.unknown.size() == o_.symbols.size()) {
    // The same command fails again: bad usage, final (common/exit_codes.h).
    bool lower = false;
    for (const std::string& s : st.unknown) {
      lower = lower || std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    }
    LogError("bad usage: --symbols: no known symbol left (unknown: " + Join(st.unknown) + ")" +
             (lower ? "; symbols are upper case, e.g. BTCUSDT" : ""));
    return kExitUsage;
  }
  ExchangeClock exchange;
  exchange.Sync(st.server_ms, st.local_before, st.local_after);
  if (o_.start_ms && *o_.start_ms > exchange.Now(now)) {
    LogError("bad usage: --start " + FormatIsoUtc(*o_.start_ms) + " is after the exchange's now " +
             FormatIsoUtc(exchange.Now(now)));
    return kExitUsage;  // the same command fails again: final
  }
  LogInfo("exchange clock " + FormatIsoUtcMs(exchange.Now(now)) + " (local wall clock " +
          std::to_string(exchange.Now(now) - WallClockMs()) + " ms behind it)");
  auto universe = BuildUniverse(o_, st.series, exchange.Now(now));
  if (!universe) {
    LogError(universe.error());
    return st.unknown.empty() ? kExitCannotStart : kExitDoneWithFailures;
  }
  LogInfo("universe: " + std::to_string(universe->series_count()) + " series, " +
          std::to_string(universe->total_size()) + " slices");
  c_ = std::make_unique<Coordinator>(CoordinatorConfig::FromOptions(o_), std::move(*universe),
                                     exchange);
  ApplyWeight(st.weight);
  const bool ids = c_->universe().endpoint().axis() == Endpoint::Axis::kId;
  for (const SeriesEdges& e : st.series) {
    if (!e.last) continue;
    auto s = c_->universe().FindSeries(e.symbol, e.interval);
    if (!s) continue;
    if (ids) c_->SetNewestItem(*s, *e.last);
    if (!e.delisted) continue;
    LogInfo(e.symbol + " is not trading (delisted): " + e.symbol + "/" + e.interval +
            " is completed up to its last " +
            (ids ? "item, id " + std::to_string(*e.last) : "candle " + FormatIsoUtc(*e.last)) +
            " and not extended");
    c_->EndSeries(*s, *e.last, now);
  }
  c_->Start(now, &out_);
  for (const auto& [identity, m] : early_) c_->OnFetcherMessage(identity, m, now, &out_);
  early_.clear();
  last_sync_ms_ = now;
  last_info_ms_ = now;
  last_newest_ms_ = now;
  return std::nullopt;
}

void Server::MaybeRefresh(int64_t now) {
  if (o_.once || background_.busy()) return;
  const bool sync_due = now - last_sync_ms_ >= o_.time_sync_ms;
  const bool info_due = now - last_info_ms_ >= o_.exchange_info_ms;
  // Id series follow their newest ids, asked every --refresh-ms (unless --end fixed the range).
  const bool newest_due = c_->universe().endpoint().axis() == Endpoint::Axis::kId && !o_.end_ms &&
                          now - last_newest_ms_ >= o_.refresh_ms;
  if (!sync_due && !info_due && !newest_due) return;
  if (sync_due) last_sync_ms_ = now;
  if (info_due) last_info_ms_ = now;
  if (newest_due) last_newest_ms_ = now;
  // What the background needs, copied: it must not touch the coordinator.
  struct Series {
    uint32_t id;
    std::string symbol, interval;
    bool ended;
  };
  std::vector<Series> series;
  for (uint32_t s = 0; s < c_->universe().series_count(); ++s) {
    series.push_back({s, c_->universe().symbol(s), c_->universe().interval(s), c_->Ended(s)});
  }
  std::string base = o_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  background_.Launch([this, sync_due, info_due, newest_due, series,
                      base]() -> std::function<void()> {
    const Endpoint* endpoint = FindEndpoint(o_.endpoint);
    const std::string info_path(endpoint->exchange_info_path()), time_path(endpoint->time_path());
    std::optional<int64_t> server_ms;
    int64_t before = 0, after = 0;
    if (sync_due) {
      before = clock_.MonotonicNowMs();
      Fetched f = exchange_->Get("time", base + time_path, kTimeWeight, [&](const HttpResponse& r) {
        auto t = ParseServerTime(r.body);
        if (!t) return t.status();
        server_ms = *t;
        return Status::Ok();
      });
      after = clock_.MonotonicNowMs();
      if (f.attempts > 1) before = after - 1;
      if (!f.ok() && f.kind != Fetched::kStopped) {
        LogWarn("cannot re-read the exchange clock, keeping the offset: " + f.error);
      }
    }
    std::vector<std::pair<uint32_t, int64_t>> newest;  // id axis: series, newest id
    if (newest_due) {
      for (const Series& s : series) {
        if (s.ended) continue;
        std::optional<int64_t> id;
        Fetched g = exchange_->Get(
            "newest item of " + s.symbol + "/" + s.interval,
            endpoint->LastItemUrl(base, s.symbol, s.interval), endpoint->request_weight(),
            [&](const HttpResponse& r) {
              auto t = endpoint->ParseEdgeItem(r.body);
              if (!t) return t.status();
              id = *t;
              return Status::Ok();
            },
            listing_rate_);
        if (g.ok() && id) {
          newest.emplace_back(s.id, *id);
        } else if (!g.ok() && g.kind != Fetched::kStopped) {
          LogWarn("cannot find the newest item of " + s.symbol + "/" + s.interval + ": " + g.error);
        }
      }
    }
    std::optional<ExchangeInfo> info;
    std::vector<std::pair<uint32_t, int64_t>> ended;  // series, last candle
    std::vector<uint32_t> reopened;
    if (info_due) {
      ExchangeInfo got;
      Fetched f = exchange_->Get("exchangeInfo", base + info_path, kExchangeInfoWeight,
                                 [&](const HttpResponse& r) {
                                   auto i = ParseExchangeInfo(r.body);
                                   if (!i) return i.status();
                                   got = std::move(*i);
                                   return Status::Ok();
                                 });
      if (f.ok()) {
        for (const Series& s : series) {
          const bool trading = got.Trading(s.symbol);
          if (trading && s.ended) reopened.push_back(s.id);
          if (trading || s.ended) continue;
          auto it = got.status.find(s.symbol);
          LogInfo(s.symbol +
                  (it == got.status.end() ? " is gone from exchangeInfo"
                                          : " has status " + it->second) +
                  ": finding the last candle of " + s.symbol + "/" + s.interval);
          std::optional<int64_t> last;
          Fetched g = exchange_->Get(
              "last candle of " + s.symbol + "/" + s.interval,
              endpoint->LastItemUrl(base, s.symbol, s.interval), endpoint->request_weight(),
              [&](const HttpResponse& r) {
                auto t = endpoint->ParseEdgeItem(r.body);
                if (!t) return t.status();
                last = *t;
                return Status::Ok();
              },
              listing_rate_);
          if (g.ok() && last) {
            ended.emplace_back(s.id, *last);
          } else if (!g.ok() && g.kind != Fetched::kStopped) {
            LogWarn("cannot find the last candle of " + s.symbol + "/" + s.interval + ": " +
                    g.error);
          }
        }
        info = std::move(got);
      } else if (f.kind != Fetched::kStopped) {
        LogWarn("cannot re-read exchangeInfo: " + f.error);
      }
    }
    return [this, server_ms, before, after, info, ended, reopened, newest] {
      const int64_t t = clock_.MonotonicNowMs();
      for (const auto& [s, id] : newest) c_->SetNewestItem(s, id);
      if (server_ms) c_->SyncExchangeClock(*server_ms, before, after);
      if (info) ApplyWeight(info->weight);
      for (const auto& [s, last] : ended) c_->EndSeries(s, last, t);
      for (uint32_t s : reopened) c_->ReopenSeries(s);
    };
  });
}

Result<int> Server::Serve() {
  if (Status s = Open(); !s.ok()) {
    LogError(s.message());
    return kExitCannotStart;
  }
  LogInfo("jobs socket bound at " + o_.jobs_bind + "; persister at " + o_.persister);
  // Per exchange host and limit, as the fetchers keep them (--rate-state is the spot host's).
  rates_ = std::make_unique<fetcher::RateStateSet>(o_.rate_state, fetcher::RateLimiterOptions{});
  const Endpoint& endpoint = *FindEndpoint(o_.endpoint);
  auto rate = rates_->Weight(endpoint);
  auto listing = rates_->Requests(endpoint);
  if (rate.ok() && listing.ok()) {
    rate_ = *rate;
    listing_rate_ = *listing;
  } else {
    LogWarn("no shared weight budget with the fetchers: " +
            (rate.ok() ? listing.error() : rate.error()));
  }
  ExchangeClientOptions eo;
  eo.backoff_base_ms = std::min<int64_t>(1000, o_.exchange_backoff_max_ms);
  eo.backoff_max_ms = o_.exchange_backoff_max_ms;
  eo.give_up_after_ms = o_.once ? o_.give_up_after_ms : 0;
  exchange_ = std::make_unique<ExchangeClient>(http_, rate_, wait_clock_, eo);
  // Start-up (exchangeInfo, time, listings) off this thread: the sockets stay up meanwhile.
  Startup startup;
  bool started = false;
  background_.Launch([this, &startup, &started]() -> std::function<void()> {
    Startup st = RunStartup();
    return [&startup, &started, st = std::move(st)]() mutable {
      startup = std::move(st);
      started = true;
    };
  });
  int64_t now = clock_.MonotonicNowMs();
  auto stop = [&](int64_t t) -> int {
    wait_clock_.RequestStop();
    background_.Wait();
    Report(t);
    if (o_.once && !o_.plan_only) {
      LogInfo("stop requested before the run was complete; exiting 3");
      return kExitStopped;
    }
    LogInfo("stop requested; exiting 0");
    return kExitDone;
  };
  try {
    while (true) {
      now = clock_.MonotonicNowMs();
      if (!c_) {
        if (background_.Poll() && started) {
          if (auto code = Begin(std::move(startup), now)) {
            WriteStats(now, true);
            return *code;
          }
          Flush(now);
          continue;
        }
        WriteStats(now, false);
        zmq::pollitem_t items[] = {
            {jobs_.handle(), 0, ZMQ_POLLIN, 0},
            {nullptr, stop_fd_, ZMQ_POLLIN, 0},
        };
        const size_t n_items = stop_fd_ >= 0 ? 2 : 1;
        try {
          zmq::poll(items, n_items, std::chrono::milliseconds(100));
        } catch (const zmq::error_t& e) {
          if (e.num() == EINTR) continue;
          throw;
        }
        now = clock_.MonotonicNowMs();
        if (n_items == 2 && (items[1].revents & ZMQ_POLLIN)) return stop(now);
        if (items[0].revents & ZMQ_POLLIN) DrainJobsWhileStarting(now);
        continue;
      }
      if (MaybeLogPlan() && o_.plan_only) {
        LogInfo("--plan-only: exiting 0 without fetching");
        wait_clock_.RequestStop();
        return kExitDone;
      }
      if (auto code = c_->Finished(now)) {
        for (SliceRef r : c_->failed_for_good()) {
          LogError("failed for good key=" + c_->universe().Key(r));
        }
        Report(now);
        wait_clock_.RequestStop();
        if (!unknown_.empty()) {
          LogError("skipped " + std::to_string(unknown_.size()) +
                   " unknown symbol(s): " + Join(unknown_));
        }
        if (*code == 0 && unknown_.empty()) {
          LogInfo("--once: every slice is done; exiting 0");
          return kExitDone;
        }
        LogInfo("--once: " + std::to_string(c_->failed_for_good().size()) +
                " slices failed for good, " + std::to_string(unknown_.size()) +
                " unknown symbol(s) skipped; exiting 2");
        return kExitDoneWithFailures;
      }
      background_.Poll();
      MaybeRefresh(now);
      c_->Tick(now, &out_);
      c_->Dispatch(now, &out_);
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
        zmq::poll(items, n_items,
                  std::chrono::milliseconds(c_->NextWakeMs(clock_.MonotonicNowMs())));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;  // stop_fd says whether to stop
        throw;
      }
      now = clock_.MonotonicNowMs();
      if (n_items == 4 && (items[3].revents & ZMQ_POLLIN)) return stop(now);
      if (items[2].revents & ZMQ_POLLIN) DrainMonitor(now);
      if (items[1].revents & ZMQ_POLLIN) DrainControl(now);
      if (items[0].revents & ZMQ_POLLIN) DrainJobs(now);
    }
  } catch (const zmq::error_t& e) {
    wait_clock_.RequestStop();
    return Status::Error(std::string("zeromq error: ") + e.what());
  }
}

}  // namespace

Result<Universe> BuildUniverse(const Options& o, const std::vector<SeriesEdges>& series,
                               int64_t exchange_now) {
  const Endpoint* endpoint = FindEndpoint(o.endpoint);
  if (!endpoint) return Status::Error(UnknownEndpointMessage(o.endpoint));
  Universe u(*endpoint);
  const int64_t end = o.end_ms ? std::min(*o.end_ms, exchange_now) : exchange_now;
  if (o.start_ms && *o.start_ms > exchange_now) {
    return Status::Error("--start " + FormatIsoUtc(*o.start_ms) + " is after the exchange's now " +
                         FormatIsoUtc(exchange_now));
  }
  const bool ids = endpoint->axis() == Endpoint::Axis::kId;
  for (const SeriesEdges& e : series) {
    if (e.skip) continue;
    const std::string name = e.symbol + "/" + e.interval;
    if (ids) {
      // The axis is the series' item ids: from its first id (or the first at --start) to its
      // newest (or the last at --end). Without --end the slice after the newest id may be the
      // range's only one: the open tail, fetched as partial until its ids exist.
      const int64_t newest = e.last.value_or(-1);
      int64_t start = e.first.value_or(0);
      if (o.start_ms) start = std::max(start, e.start_at.value_or(newest + 1));
      int64_t series_end = o.end_ms ? e.end_at.value_or(newest) : std::max(newest, start);
      if (start > series_end) {
        LogWarn(name + " has nothing in the range (its ids are " +
                (e.first ? std::to_string(*e.first) + " to " + std::to_string(newest)
                         : std::string("none yet")) +
                "); skipped");
        continue;
      }
      auto s = u.AddSeries(e.symbol, e.interval, start, series_end);
      if (!s) return s.status();
      LogInfo("range of " + name + ": ids " + std::to_string(start) + " to " +
              (o.end_ms ? std::to_string(series_end) + " (--end)"
                        : std::to_string(newest) + " (newest; following)") +
              ", " + std::to_string(u.size(*s)) + " slices so far");
      continue;
    }
    int64_t start = 0;
    if (!e.first) {
      start = o.start_ms ? std::max(*o.start_ms, exchange_now) : exchange_now;
      LogWarn(name + " has no candle yet; starting at now");
    } else if (o.start_ms && *o.start_ms < *e.first) {
      start = *e.first;
      LogInfo("--start " + FormatIsoUtc(*o.start_ms) + " is before the listing of " + name +
              " (first candle at " + FormatIsoUtc(*e.first) + "): starting there");
    } else {
      start = o.start_ms ? *o.start_ms : *e.first;
      if (!o.start_ms) LogInfo("listing of " + name + ": first candle at " + FormatIsoUtc(start));
    }
    start = std::max<int64_t>(start, 0);
    int64_t series_end = end;
    if (e.delisted && e.last) series_end = std::min(series_end, *e.last);
    if (start > series_end) {
      LogWarn(name + " has nothing in the range (its candles are from " +
              (e.first ? FormatIsoUtc(*e.first) : std::string("now")) +
              (e.last ? " to " + FormatIsoUtc(*e.last) : std::string()) + "); skipped");
      continue;
    }
    auto s = u.AddSeries(e.symbol, e.interval, start, series_end);
    if (!s) return s.status();
    LogInfo("range of " + name + ": " + FormatIsoUtc(start) + " to " +
            (e.delisted && e.last ? FormatIsoUtc(series_end) + " (delisted)"
             : o.end_ms           ? FormatIsoUtc(*o.end_ms)
                                  : std::string("now (following)")) +
            ", " + std::to_string(u.size(*s)) + " slices so far");
  }
  if (u.series_count() == 0) return Status::Error("no series has anything to fetch in the range");
  return u;
}

Result<int> RunPlanner(const Options& o, HttpClient& http, Clock& clock, int stop_fd) {
  qlir::SetLogProcess("planner");
  SetLogLevel(o.verbose ? LogLevel::kDebug : LogLevel::kInfo);
  SetLogJson(o.log_json);
  if (!FindEndpoint(o.endpoint)) {
    LogError(UnknownEndpointMessage(o.endpoint));
    return kExitUsage;
  }
  Server server(o, http, clock, stop_fd);
  return server.Serve();
}

}  // namespace qlir::planner
