#include "tools/exchange-sim/server.h"

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>

#include "common/json.h"
#include "tools/exchange-sim/api.h"
#include "tools/exchange-sim/counters.h"
#include "tools/exchange-sim/funding.h"

namespace qlir::sim {
namespace {

constexpr const char* kJson = "application/json;charset=UTF-8";
constexpr const char* kHtml = "text/html";

// Which limit a path spends: the spot weight, the futures weight, or fundingRate's own.
enum class Market { kSpot, kFutures, kFunding };

struct Endpoint {
  const char* name;  // also the fault endpoint name
  int weight;
  Market market;
};

const Endpoint* FindEndpoint(const std::string& path) {
  static const Endpoint kPing{"ping", kWeightPing, Market::kSpot};
  static const Endpoint kTime{"time", kWeightTime, Market::kSpot};
  static const Endpoint kInfo{"exchangeInfo", kWeightExchangeInfo, Market::kSpot};
  static const Endpoint kKlines{"klines", kWeightKlines, Market::kSpot};
  static const Endpoint kAggTrades{"aggTrades", kWeightAggTrades, Market::kSpot};
  static const Endpoint kFPing{"ping", 1, Market::kFutures};
  static const Endpoint kFTime{"time", 1, Market::kFutures};
  static const Endpoint kFInfo{"exchangeInfo", 1, Market::kFutures};
  static const Endpoint kFunding{"fundingRate", 1, Market::kFunding};
  if (path == "/api/v3/klines") return &kKlines;
  if (path == "/api/v3/aggTrades") return &kAggTrades;
  if (path == "/api/v3/ping") return &kPing;
  if (path == "/api/v3/time") return &kTime;
  if (path == "/api/v3/exchangeInfo") return &kInfo;
  if (path == "/fapi/v1/fundingRate") return &kFunding;
  if (path == "/fapi/v1/ping") return &kFPing;
  if (path == "/fapi/v1/time") return &kFTime;
  if (path == "/fapi/v1/exchangeInfo") return &kFInfo;
  return nullptr;
}

// RFC 7231 IMF-fixdate: "Sat, 28 Nov 2026 01:03:21 GMT".
std::string HttpDate(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string NumericHost(const sockaddr_storage& ss, socklen_t len, int* port) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "";
  }
  *port = std::atoi(serv);
  return host;
}

// Calls fn(fd) for every connected TCP socket of this process whose local port is `port` and,
// when peer_addr is not empty, whose peer is (peer_addr, peer_port). httplib does not hand the
// connection's socket to handlers, so faults that act on the connection find it this way; the
// fd stays valid meanwhile because httplib closes it only after the handler returns.
template <typename Fn>
void ForEachConnection(int port, const std::string& peer_addr, int peer_port, Fn fn) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int dir_fd = dirfd(dir);
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dir_fd) continue;
    struct stat st;
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;
    }
    if (local.ss_family != AF_INET && local.ss_family != AF_INET6) continue;
    int lport = -1;
    int pport = -1;
    NumericHost(local, local_len, &lport);
    if (lport != port) continue;
    if (!peer_addr.empty()) {
      const std::string p = NumericHost(peer, peer_len, &pport);
      if (p != peer_addr || pport != peer_port) continue;
    }
    fn(static_cast<int>(fd));
  }
  closedir(dir);
}

// The query as canonical text (sorted by key, as the multimap is) for fault keys.
std::string CanonicalQuery(const httplib::Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

}  // namespace

struct SimServer::Impl {
  Impl(SimConfig c, const Clock* clk)
      : config(std::move(c)),
        clock(clk),
        limiter(config.limits),
        futures_limiter(config.futures_limits),
        funding_limiter(config.funding_limits) {
    faults = std::make_shared<const FaultConfig>(config.faults);
    symbols = std::make_shared<const std::vector<SymbolSpec>>(config.symbols);
  }
  std::shared_ptr<const std::vector<SymbolSpec>> CurrentSymbols() const {
    std::lock_guard<std::mutex> lock(symbols_mu);
    return symbols;
  }

  void HandleApi(const httplib::Request& req, httplib::Response& res);
  void HandleSimGet(const httplib::Request& req, httplib::Response& res);
  void HandleSimPost(const httplib::Request& req, httplib::Response& res);
  // Waits up to ms; returns early (false) when the server stops.
  bool SleepFor(int64_t ms);
  // The kHang wait: up to ms, ending early when the server stops or the client closes its end
  // (a client that timed out must not keep a worker thread for the whole hang).
  void Hang(const httplib::Request& req, int64_t ms);
  // Sends a TCP reset / a FIN on the connection `req` came on.
  void ResetConnection(const httplib::Request& req);
  void CloseConnection(const httplib::Request& req);
  std::shared_ptr<const FaultConfig> CurrentFaults() const {
    std::lock_guard<std::mutex> lock(faults_mu);
    return faults;
  }

  const SimConfig config;
  const Clock* const clock;
  RateLimiter limiter;          // spot REQUEST_WEIGHT
  RateLimiter futures_limiter;  // futures REQUEST_WEIGHT (/fapi)
  RateLimiter funding_limiter;  // /fapi/v1/fundingRate, in requests
  Counters counters;
  httplib::Server http;
  std::thread thread;
  int port = -1;
  bool started = false;

  std::mutex limits_mu;  // serializes POST /sim/limits
  mutable std::mutex faults_mu;
  std::shared_ptr<const FaultConfig> faults;  // guarded by faults_mu; replaced, never mutated
  mutable std::mutex symbols_mu;
  // The symbols served (config.symbols, then POST /sim/delist); guarded by symbols_mu; replaced,
  // never mutated, so a request keeps a consistent list.
  std::shared_ptr<const std::vector<SymbolSpec>> symbols;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;  // guarded by stop_mu
};

bool SimServer::Impl::SleepFor(int64_t ms) {
  std::unique_lock<std::mutex> lock(stop_mu);
  return !stop_cv.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping; });
}

void SimServer::Impl::Hang(const httplib::Request& req, int64_t ms) {
  int fd = -1;
  ForEachConnection(req.local_port, req.remote_addr, req.remote_port, [&fd](int f) { fd = f; });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  constexpr int64_t kSliceMs = 50;  // how often the stop flag is looked at
  while (true) {
    const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count();
    if (left <= 0) return;
    {
      std::lock_guard<std::mutex> lock(stop_mu);
      if (stopping) return;
    }
    if (fd < 0) {
      if (!SleepFor(std::min(left, kSliceMs))) return;
      continue;
    }
    pollfd p{fd, POLLRDHUP, 0};
    if (poll(&p, 1, static_cast<int>(std::min(left, kSliceMs))) > 0 &&
        (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
      return;  // the client gave up
    }
  }
}

void SimServer::Impl::ResetConnection(const httplib::Request& req) {
  ForEachConnection(req.local_port, req.remote_addr, req.remote_port, [](int fd) {
    // Linger 0, then disconnect: the kernel answers with RST. The fd stays open (httplib closes
    // it later), so no other connection can reuse its number while httplib still holds it.
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    if (connect(fd, &unspec, sizeof unspec) != 0) shutdown(fd, SHUT_RDWR);
  });
}

void SimServer::Impl::CloseConnection(const httplib::Request& req) {
  ForEachConnection(req.local_port, req.remote_addr, req.remote_port,
                    [](int fd) { shutdown(fd, SHUT_RDWR); });
}

void SimServer::Impl::HandleApi(const httplib::Request& req, httplib::Response& res) {
  const int64_t now = clock->WallNowMs();
  res.set_header("Date", HttpDate(now));
  RequestRecord rec;
  rec.ip = req.remote_addr;
  auto send_error = [&](const ApiError& e) {
    res.status = e.http_status;
    res.set_content(e.Json(), kJson);
  };

  const Endpoint* ep = FindEndpoint(req.path);
  if (ep == nullptr) {
    res.set_header("X-MBX-USED-WEIGHT-1M", std::to_string(limiter.UsedWeight(rec.ip, now)));
    res.status = 404;
    rec.status = 404;
    counters.Record(rec);
    return;
  }
  const bool is_klines = std::string_view(ep->name) == "klines";
  const bool is_agg = std::string_view(ep->name) == "aggTrades";
  const bool is_funding = ep->market == Market::kFunding;
  if (is_klines) {
    rec.klines = true;
    rec.window_key = KlinesWindowKey(req.params);
  } else if (is_agg) {
    rec.klines = true;  // counted per window like klines
    rec.window_key = AggTradesWindowKey(req.params);
  } else if (is_funding) {
    rec.klines = true;  // counted per window like klines
    rec.window_key = FundingWindowKey(req.params);
  }

  // fundingRate spends its own limit; its answers carry the futures used weight, as the
  // exchange's do (a header that says nothing about the funding limit).
  RateLimiter& lim = ep->market == Market::kSpot      ? limiter
                     : ep->market == Market::kFutures ? futures_limiter
                                                      : funding_limiter;
  const AdmitResult admit = lim.Admit(rec.ip, ep->weight, now);
  res.set_header(
      "X-MBX-USED-WEIGHT-1M",
      std::to_string(is_funding ? futures_limiter.UsedWeight(rec.ip, now) : admit.used_weight));
  if (admit.admission == Admission::kBanned) {
    res.set_header("Retry-After", std::to_string(admit.retry_after_s));
    send_error(Banned(admit.banned_until_ms));
    rec.status = 418;
    rec.banned = true;
    rec.ban_started = admit.ban_started;
    rec.weight = admit.ban_started ? ep->weight : 0;
    counters.Record(rec);
    return;
  }
  rec.weight = ep->weight;
  if (admit.admission == Admission::kLimited) {
    res.set_header("Retry-After", std::to_string(admit.retry_after_s));
    send_error(is_funding ? FundingTooManyRequests(funding_limiter.config())
                          : TooManyRequests(lim.config()));
    rec.status = 429;
    rec.limited = true;
    counters.Record(rec);
    return;
  }

  FaultDecision fault;
  const std::shared_ptr<const FaultConfig> fc = CurrentFaults();
  if (fc->endpoints.count(ep->name) != 0) {
    const std::string key = std::string(ep->name) + "?" + CanonicalQuery(req.params);
    fault = DecideFault(*fc, key, counters.NextAttempt(key));
  }
  if (fault.latency_ms > 0) SleepFor(fault.latency_ms);
  rec.fault = fault.kind;
  switch (fault.kind) {
    case FaultKind::kServerError:
      res.status = fault.server_error_status;
      res.set_content(ErrorPageHtml(fault.server_error_status), kHtml);
      rec.status = res.status;
      counters.Record(rec);
      return;
    case FaultKind::kTimeout:
      send_error(BackendTimeout());
      rec.status = 504;
      counters.Record(rec);
      return;
    // Count before acting on the connection: once the client sees the reset or the close it
    // may read the counters at once.
    case FaultKind::kReset:
      counters.Record(rec);
      ResetConnection(req);
      res.status = 500;  // never reaches the client: the connection is gone
      return;
    case FaultKind::kHang:
      Hang(req, fc->hang_ms);
      counters.Record(rec);
      CloseConnection(req);
      res.status = 500;  // never reaches the client
      return;
    default:
      break;
  }

  // The real answer.
  int status = 200;
  std::string body;
  if (is_klines) {
    const auto symbols_now = CurrentSymbols();
    std::variant<KlinesRequest, ApiError> parsed = ParseKlinesParams(req.params, *symbols_now);
    if (const ApiError* e = std::get_if<ApiError>(&parsed)) {
      status = e->http_status;
      body = e->Json();
      rec.api_error = true;
    } else {
      const KlinesRequest& kr = std::get<KlinesRequest>(parsed);
      AppendKlinesJson(*kr.spec, kr.window, now, &body);
    }
  } else if (is_agg) {
    const auto symbols_now = CurrentSymbols();
    std::variant<AggTradesRequest, ApiError> parsed =
        ParseAggTradesParams(req.params, *symbols_now);
    if (const ApiError* e = std::get_if<ApiError>(&parsed)) {
      status = e->http_status;
      body = e->Json();
      rec.api_error = true;
    } else {
      const AggTradesRequest& ar = std::get<AggTradesRequest>(parsed);
      AppendAggTradesJson(Tape(*ar.spec), ar.window, now, &body);
    }
  } else if (is_funding) {
    std::variant<std::string, ApiError> answer =
        FundingRateAnswer(req.params, DefaultFuturesContracts(), now);
    if (const ApiError* e = std::get_if<ApiError>(&answer)) {
      status = e->http_status;
      body = e->Json();
      rec.api_error = true;
    } else {
      body = std::move(std::get<std::string>(answer));
    }
  } else if (ep->market == Market::kFutures && std::string_view(ep->name) == "exchangeInfo") {
    body = FuturesExchangeInfo(DefaultFuturesContracts(), futures_limiter.config(), now);
  } else if (std::string_view(ep->name) == "exchangeInfo") {
    std::variant<std::string, ApiError> info =
        ExchangeInfo(req.params, *CurrentSymbols(), limiter.config(), now);
    if (const ApiError* e = std::get_if<ApiError>(&info)) {
      status = e->http_status;
      body = e->Json();
      rec.api_error = true;
    } else {
      body = std::move(std::get<std::string>(info));
    }
  } else if (std::string_view(ep->name) == "time") {
    body = "{\"serverTime\":" + std::to_string(now) + "}";
  } else {
    body = "{}";
  }

  rec.status = status;
  switch (fault.kind) {
    case FaultKind::kTruncated: {
      // Declares the full length, sends the first half, then fails the provider: httplib
      // closes the connection with the body cut off.
      auto full = std::make_shared<std::string>(std::move(body));
      const size_t cut = full->size() / 2;
      res.status = status;
      res.set_content_provider(full->size(), kJson,
                               [full, cut](size_t offset, size_t length, httplib::DataSink& sink) {
                                 if (offset >= cut) return false;
                                 sink.write(full->data() + offset, std::min(length, cut - offset));
                                 return true;
                               });
      break;
    }
    case FaultKind::kMalformed:
      res.status = 200;
      rec.status = 200;
      res.set_content(MalformBody(body), kJson);
      break;
    case FaultKind::kHtml:
      res.status = 200;
      rec.status = 200;
      res.set_content(MaintenancePageHtml(), kHtml);
      break;
    default:
      res.status = status;
      rec.klines_ok = (is_klines || is_agg || is_funding) && status == 200;
      // What set_content does, minus its copy of a body of up to ~170 kB.
      res.body = std::move(body);
      res.set_header("Content-Type", kJson);
      break;
  }
  counters.Record(rec);
}

void SimServer::Impl::HandleSimGet(const httplib::Request& req, httplib::Response& res) {
  if (req.path == "/sim/counters") {
    res.set_content(counters.ToJson(), kJson);
  } else if (req.path == "/sim/faults") {
    res.set_content(FaultsToJson(*CurrentFaults()), kJson);
  } else if (req.path == "/sim/limits") {
    res.set_content(LimitsToJson(limiter.config()), kJson);
  } else if (req.path == "/sim/config") {
    nlohmann::json j = nlohmann::json::parse(SymbolsToJson(*CurrentSymbols()));
    const nlohmann::json limits = nlohmann::json::parse(LimitsToJson(limiter.config()));
    j.update(limits);
    j["faults"] = nlohmann::json::parse(FaultsToJson(*CurrentFaults()));
    res.set_content(j.dump(), kJson);
  } else {
    res.status = 404;
    res.set_content("{\"error\":\"unknown simulator endpoint\"}", kJson);
  }
}

void SimServer::Impl::HandleSimPost(const httplib::Request& req, httplib::Response& res) {
  if (req.path == "/sim/reset") {
    counters.Reset();
    limiter.Reset();
    futures_limiter.Reset();
    funding_limiter.Reset();
    res.set_content("{}", kJson);
  } else if (req.path == "/sim/faults") {
    std::lock_guard<std::mutex> lock(faults_mu);
    FaultConfig next = *faults;
    if (Status s = ApplyFaultsJson(req.body, &next); !s.ok()) {
      res.status = 400;
      res.set_content(nlohmann::json{{"error", s.message()}}.dump(), kJson);
      return;
    }
    faults = std::make_shared<const FaultConfig>(std::move(next));
    res.set_content(FaultsToJson(*faults), kJson);
  } else if (req.path == "/sim/delist") {
    // {"symbol":"X"} delists X now; {"symbol":"X","at":ms} at that time; "at":null relists.
    std::string symbol;
    std::optional<int64_t> at = clock->WallNowMs();
    try {
      const nlohmann::json j = nlohmann::json::parse(req.body);
      if (!j.is_object() || !j.contains("symbol") || !j["symbol"].is_string()) {
        throw std::invalid_argument("expected {\"symbol\":NAME[,\"at\":ms|null]}");
      }
      symbol = j["symbol"].get<std::string>();
      if (j.contains("at")) {
        if (j["at"].is_null()) {
          at.reset();
        } else if (j["at"].is_number_integer()) {
          at = j["at"].get<int64_t>();
        } else {
          throw std::invalid_argument("'at' must be integer ms or null");
        }
      }
    } catch (const std::exception& e) {
      res.status = 400;
      res.set_content(nlohmann::json{{"error", std::string("delist: ") + e.what()}}.dump(), kJson);
      return;
    }
    std::lock_guard<std::mutex> lock(symbols_mu);
    auto next = std::make_shared<std::vector<SymbolSpec>>(*symbols);
    bool found = false;
    for (SymbolSpec& spec : *next) {
      if (spec.symbol == symbol) {
        spec.delisting_ms = at;
        found = true;
      }
    }
    if (!found) {
      res.status = 404;
      res.set_content(nlohmann::json{{"error", "delist: unknown symbol " + symbol}}.dump(), kJson);
      return;
    }
    symbols = std::move(next);
    res.set_content(SymbolsToJson(*symbols), kJson);
  } else if (req.path == "/sim/limits") {
    std::lock_guard<std::mutex> lock(limits_mu);  // read-modify-write of the limiter's config
    RateLimitConfig next = limiter.config();
    if (Status s = ApplyLimitsJson(req.body, &next); !s.ok()) {
      res.status = 400;
      res.set_content(nlohmann::json{{"error", s.message()}}.dump(), kJson);
      return;
    }
    limiter.SetConfig(next);
    res.set_content(LimitsToJson(next), kJson);
  } else {
    res.status = 404;
    res.set_content("{\"error\":\"unknown simulator endpoint\"}", kJson);
  }
}

SimServer::SimServer(SimConfig config, const Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {}

SimServer::~SimServer() { Stop(); }

Result<int> SimServer::Start() {
  Impl& m = *impl_;
  if (m.started) return Status::Error("exchange-sim: already started");
  const std::string where = m.config.host + ":" + std::to_string(m.config.port);
  const int threads = m.config.threads;
  m.http.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  m.http.set_tcp_nodelay(true);  // small responses must not wait for delayed ACKs
  m.http.set_keep_alive_max_count(100'000);
  m.http.set_keep_alive_timeout(m.config.keep_alive_s);
  m.http.set_read_timeout(30);
  m.http.set_write_timeout(30);
  m.http.Get("/sim/.*", [&m](const httplib::Request& req, httplib::Response& res) {
    m.HandleSimGet(req, res);
  });
  m.http.Post("/sim/.*", [&m](const httplib::Request& req, httplib::Response& res) {
    m.HandleSimPost(req, res);
  });
  m.http.Get(".*", [&m](const httplib::Request& req, httplib::Response& res) {
    m.counters.Enter();
    struct Leave {
      Counters* c;
      ~Leave() { c->Leave(); }
    } leave{&m.counters};
    m.HandleApi(req, res);
  });
  m.http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(
            "{\"code\":-1000,\"msg\":\"An unknown error occurred while processing the "
            "request.\"}",
            kJson);
      });
  int port = m.config.port;
  if (port == 0) {
    port = m.http.bind_to_any_port(m.config.host);
  } else if (!m.http.bind_to_port(m.config.host, port)) {
    port = -1;
  }
  if (port <= 0) return Status::Error("exchange-sim: cannot listen on " + where);
  m.port = port;
  m.started = true;
  m.thread = std::thread([&m] { m.http.listen_after_bind(); });
  // stop() only takes effect once the accept loop runs; wait for it so Stop() never races it.
  while (!m.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port;
}

void SimServer::Stop() {
  Impl& m = *impl_;
  if (!m.started) return;
  {
    std::lock_guard<std::mutex> lock(m.stop_mu);
    if (m.stopping) return;
    m.stopping = true;
  }
  m.stop_cv.notify_all();
  m.http.stop();
  // Idle keep-alive connections would hold their threads until the keep-alive timeout; end
  // them now (the listening socket is closed, so no new ones appear).
  ForEachConnection(m.port, "", 0, [](int fd) { shutdown(fd, SHUT_RDWR); });
  if (m.thread.joinable()) m.thread.join();
}

int SimServer::port() const { return impl_->port; }
const std::string& SimServer::host() const { return impl_->config.host; }

FaultConfig SimServer::faults() const { return *impl_->CurrentFaults(); }

Status SimServer::SetFaults(const FaultConfig& faults) {
  QLIR_RETURN_IF_ERROR(faults.Validate());
  std::lock_guard<std::mutex> lock(impl_->faults_mu);
  impl_->faults = std::make_shared<const FaultConfig>(faults);
  return Status::Ok();
}

}  // namespace qlir::sim
