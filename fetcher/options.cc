#include "fetcher/options.h"

#include <unistd.h>

#include "common/flags.h"

namespace qlir::fetcher {
namespace {

Status CheckEndpoint(const std::string& flag, const std::string& v) {
  if (v.starts_with("tcp://") || v.starts_with("ipc://")) return Status::Ok();
  return Status::Error("flag --" + flag + ": '" + v + "' must start with tcp:// or ipc://");
}

}  // namespace

std::string Usage() {
  return R"(usage: fetcher [flags]
Takes jobs (slices of klines or fundingRate) from the planner, fetches them from the exchange, sends
results to the persister.
  --planner=ENDPOINT            planner job ROUTER (default tcp://127.0.0.1:5701)
  --persister=ENDPOINT          persister results PULL (default tcp://127.0.0.1:5702)
  --concurrency=N               transfer slots / credits (default 4)
  --base-url=URL                exchange REST base for every endpoint (default: each endpoint's
                                host, https://api.binance.com for klines, https://fapi.binance.com
                                for fundingRate)
  --connect-timeout-ms=MS       HTTP connect timeout (default 5000)
  --timeout-ms=MS               HTTP total timeout per request (default 30000)
  --max-attempts=N              attempts before a job is reported failed (default 5)
  --backoff-base-ms=MS          first retry delay (default 500; doubles, with jitter)
  --backoff-max-ms=MS           longest retry delay (default 30000)
  --weight-limit=W              exchange weight limit per window until the planner's jobs carry
                                the one exchangeInfo states, which replaces it (default 6000)
  --weight-window-ms=MS         weight window, aligned to the clock (default 60000; replaced
                                likewise)
  --max-weight-per-minute=W     our own lower budget per window (default: none)
  --window-grace-ms=MS          requests reserved this close to a window's end count in the
                                next window too (default 1000, at most half the window;
                                only with --pace=off)
  --pace=on|off                 spread the budget evenly over each window, so that other
                                programs on the IP keep their share (default on)
  --rate-state=PATH             state shared by fetchers on this host (default /tmp/qlir-rate-<uid>.state);
                                other hosts' and limits' states beside it (PATH.fapi.binance.com.fundingRate)
  --funding-limit=N             fundingRate requests per window, for a simulator whose limit is
                                not the exchange's 500 (stored in the host's funding state at
                                start; default: 500)
  --funding-window-ms=MS        that limit's window (default 300000)
  --fetcher-id=ID               name in READY and logs (default <host>:<pid>)
  --heartbeat-ms=MS             heartbeat interval (default 1000)
  --stats-file=PATH             rewrite this JSON file with our counters every 2 s (they also go
                                to the planner; qlir-status --stats-dir shows them)
  --reconnect-initial-ms=MS     first reconnect delay (default 1000; doubles to 32000)
  --curve-secret-key=FILE       this fetcher's CURVE key pair (NAME.key_secret, scripts/qlir-keygen);
                                encrypts both links; its public key must be in the servers' --curve-allow
  --curve-server-key=FILE       the data server's public key (server.key), shared by planner and persister
  --verbose                     debug logs
  --log-json                    log lines as JSON objects
  --help
)";
}

Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args) {
  CommandLine cl;
  // Paced by default: a fetcher that spends the IP's whole budget at each window's start
  // starves every other program on the IP (bench/run ratelimit, issue #8).
  cl.rate.pace = true;
  cl.rate_state_path = "/tmp/qlir-rate-" + std::to_string(::getuid()) + ".state";
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  cl.fetcher.fetcher_id = std::string(host[0] ? host : "host") + ":" + std::to_string(::getpid());

  constexpr int64_t kMaxMs = 24LL * 3600 * 1000;
  FlagSet f;
  f.Switch("help", &cl.help, "-h");
  f.Switch("verbose", &cl.verbose);
  f.Switch("log-json", &cl.log_json);
  auto endpoint = [](const std::string& name, std::string* out) {
    return [name, out](const std::string& v) {
      *out = v;
      return CheckEndpoint(name, v);
    };
  };
  f.Value("planner", endpoint("planner", &cl.fetcher.planner));
  f.Value("persister", endpoint("persister", &cl.fetcher.persister));
  f.Value("base-url", [&](const std::string& v) -> Status {
    if (!v.starts_with("http://") && !v.starts_with("https://")) {
      return Status::Error("flag --base-url: '" + v + "' must start with http:// or https://");
    }
    cl.fetcher.job.base_url = v;
    return Status::Ok();
  });
  f.String("rate-state", &cl.rate_state_path);
  f.Int("funding-limit", &cl.funding_limit, 1, 1000000);
  f.Int("funding-window-ms", &cl.funding_window_ms, 1000, 86400000);
  f.String("fetcher-id", &cl.fetcher.fetcher_id);
  f.String("stats-file", &cl.fetcher.stats_file);
  f.String("curve-secret-key", &cl.curve.secret_key_file);
  f.String("curve-server-key", &cl.curve.server_key_file);
  f.Int("concurrency", &cl.fetcher.concurrency, 1, 256);
  f.Int("connect-timeout-ms", &cl.http.connect_timeout_ms, 1, kMaxMs);
  f.Int("timeout-ms", &cl.http.total_timeout_ms, 1, kMaxMs);
  f.Int("max-attempts", &cl.fetcher.job.max_attempts, 1, 1000);
  f.Int("backoff-base-ms", &cl.fetcher.backoff_base_ms, 0, kMaxMs);
  f.Int("backoff-max-ms", &cl.fetcher.backoff_max_ms, 0, kMaxMs);
  f.Int("weight-limit", &cl.rate.weight_limit, 1, 1000000000);
  f.Int("weight-window-ms", &cl.rate.window_ms, 1000, kMaxMs);
  f.Int("max-weight-per-minute", &cl.rate.max_weight, 1, 1000000000);
  f.Int("window-grace-ms", &cl.rate.window_grace_ms, 0, kMaxMs);
  f.Value("pace", [&](const std::string& v) -> Status {
    if (v != "on" && v != "off") return Status::Error("flag --pace: '" + v + "' is not on or off");
    cl.rate.pace = v == "on";
    return Status::Ok();
  });
  f.Int("heartbeat-ms", &cl.fetcher.heartbeat_ms, 10, 600000);
  f.Int("reconnect-initial-ms", &cl.fetcher.reconnect_initial_ms, 1, 32000);
  if (Status s = f.Parse(args); !s.ok()) return s;
  if (cl.curve.secret_key_file.empty() != cl.curve.server_key_file.empty()) {
    return Status::Error("--curve-secret-key and --curve-server-key go together");
  }
  if (cl.fetcher.backoff_max_ms < cl.fetcher.backoff_base_ms) {
    return Status::Error("--backoff-max-ms must be >= --backoff-base-ms");
  }
  return cl;
}

}  // namespace qlir::fetcher
