#include "fetcher/options.h"

#include <unistd.h>

#include <charconv>
#include <functional>
#include <map>

namespace qlir::fetcher {
namespace {

Result<int64_t> ParseInt(const std::string& flag, const std::string& v, int64_t min, int64_t max) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    return Status::Error("--" + flag + ": '" + v + "' is not an integer");
  }
  if (out < min || out > max) {
    return Status::Error("--" + flag + ": " + v + " is out of range [" + std::to_string(min) +
                         ", " + std::to_string(max) + "]");
  }
  return out;
}

Status CheckEndpoint(const std::string& flag, const std::string& v) {
  if (v.starts_with("tcp://") || v.starts_with("ipc://")) return Status::Ok();
  return Status::Error("--" + flag + ": '" + v + "' must start with tcp:// or ipc://");
}

}  // namespace

std::string Usage() {
  return R"(usage: fetcher [flags]
Takes jobs (klines slices) from the planner, fetches them from the exchange, sends results to the persister.
  --planner=ENDPOINT            planner job ROUTER (default tcp://127.0.0.1:5701)
  --persister=ENDPOINT          persister results PULL (default tcp://127.0.0.1:5702)
  --concurrency=N               transfer slots / credits (default 4)
  --base-url=URL                exchange REST base (default https://api.binance.com)
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
  --rate-state=PATH             state shared by fetchers on this host (default /tmp/qlir-rate-<uid>.state)
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
  using Setter = std::function<Status(const std::string& flag, const std::string& v)>;
  auto int_flag = [](auto* target, int64_t min, int64_t max) -> Setter {
    return [target, min, max](const std::string& flag, const std::string& v) -> Status {
      Result<int64_t> r = ParseInt(flag, v, min, max);
      if (!r.ok()) return r.status();
      *target = static_cast<std::remove_pointer_t<decltype(target)>>(*r);
      return Status::Ok();
    };
  };
  std::map<std::string, Setter> flags = {
      {"planner",
       [&](const std::string& f, const std::string& v) {
         cl.fetcher.planner = v;
         return CheckEndpoint(f, v);
       }},
      {"persister",
       [&](const std::string& f, const std::string& v) {
         cl.fetcher.persister = v;
         return CheckEndpoint(f, v);
       }},
      {"base-url",
       [&](const std::string& f, const std::string& v) {
         if (!v.starts_with("http://") && !v.starts_with("https://")) {
           return Status::Error("--" + f + ": '" + v + "' must start with http:// or https://");
         }
         cl.fetcher.job.base_url = v;
         return Status::Ok();
       }},
      {"rate-state",
       [&](const std::string& f, const std::string& v) {
         if (v.empty()) return Status::Error("--" + f + ": empty path");
         cl.rate_state_path = v;
         return Status::Ok();
       }},
      {"fetcher-id",
       [&](const std::string& f, const std::string& v) {
         if (v.empty()) return Status::Error("--" + f + ": empty id");
         cl.fetcher.fetcher_id = v;
         return Status::Ok();
       }},
      {"stats-file",
       [&](const std::string& f, const std::string& v) {
         if (v.empty()) return Status::Error("--" + f + ": empty path");
         cl.fetcher.stats_file = v;
         return Status::Ok();
       }},
      {"curve-secret-key",
       [&](const std::string& f, const std::string& v) {
         if (v.empty()) return Status::Error("--" + f + ": empty path");
         cl.curve.secret_key_file = v;
         return Status::Ok();
       }},
      {"curve-server-key",
       [&](const std::string& f, const std::string& v) {
         if (v.empty()) return Status::Error("--" + f + ": empty path");
         cl.curve.server_key_file = v;
         return Status::Ok();
       }},
      {"concurrency", int_flag(&cl.fetcher.concurrency, 1, 256)},
      {"connect-timeout-ms", int_flag(&cl.http.connect_timeout_ms, 1, kMaxMs)},
      {"timeout-ms", int_flag(&cl.http.total_timeout_ms, 1, kMaxMs)},
      {"max-attempts", int_flag(&cl.fetcher.job.max_attempts, 1, 1000)},
      {"backoff-base-ms", int_flag(&cl.fetcher.backoff_base_ms, 0, kMaxMs)},
      {"backoff-max-ms", int_flag(&cl.fetcher.backoff_max_ms, 0, kMaxMs)},
      {"weight-limit", int_flag(&cl.rate.weight_limit, 1, 1000000000)},
      {"weight-window-ms", int_flag(&cl.rate.window_ms, 1000, kMaxMs)},
      {"max-weight-per-minute", int_flag(&cl.rate.max_weight, 1, 1000000000)},
      {"window-grace-ms", int_flag(&cl.rate.window_grace_ms, 0, kMaxMs)},
      {"pace",
       [&](const std::string& f, const std::string& v) {
         if (v != "on" && v != "off")
           return Status::Error("--" + f + ": '" + v + "' is not on or off");
         cl.rate.pace = v == "on";
         return Status::Ok();
       }},
      {"heartbeat-ms", int_flag(&cl.fetcher.heartbeat_ms, 10, 600000)},
      {"reconnect-initial-ms", int_flag(&cl.fetcher.reconnect_initial_ms, 1, 32000)},
  };

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      cl.help = true;
      continue;
    }
    if (a == "--verbose") {
      cl.verbose = true;
      continue;
    }
    if (a == "--log-json") {
      cl.log_json = true;
      continue;
    }
    if (!a.starts_with("--")) return Status::Error("unexpected argument '" + a + "'");
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags.find(name);
    if (it == flags.end()) return Status::Error("unknown flag --" + name);
    if (!has_value) {
      if (i + 1 >= args.size()) return Status::Error("--" + name + " needs a value");
      value = args[++i];
    }
    if (Status s = it->second(name, value); !s.ok()) return s;
  }
  if (cl.curve.secret_key_file.empty() != cl.curve.server_key_file.empty()) {
    return Status::Error("--curve-secret-key and --curve-server-key go together");
  }
  if (cl.fetcher.backoff_max_ms < cl.fetcher.backoff_base_ms) {
    return Status::Error("--backoff-max-ms must be >= --backoff-base-ms");
  }
  return cl;
}

}  // namespace qlir::fetcher
