#include "planner/options.h"

#include <unistd.h>

#include <charconv>
#include <set>

#include "common/endpoint.h"
#include "common/symbol.h"
#include "common/time_util.h"

namespace qlir::planner {
namespace {

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(pos, comma - pos);
    if (!item.empty()) out.push_back(item);
    pos = comma + 1;
  }
  return out;
}

Result<int64_t> ParsePositive(const std::string& flag, const std::string& v) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n <= 0) {
    return Status::Error("flag " + flag + ": expected a positive integer, got '" + v + "'");
  }
  return n;
}

bool ValidEndpoint(const std::string& e) {
  return e.rfind("tcp://", 0) == 0 || e.rfind("ipc://", 0) == 0 || e.rfind("inproc://", 0) == 0;
}

}  // namespace

std::string Usage() {
  return R"(usage: planner --symbols A,B [flags]
  --symbols A,B          symbols to keep complete (required)
  --endpoint NAME        the endpoint to keep complete (default klines; the only one so far)
  --intervals 1m,1s      kline intervals (default 1m)
  --start T|listing      first time: YYYY-MM-DD[THH:MM[:SS]], ms since epoch, or `listing`
                         (the symbol's first candle; default)
  --end T|now            last time (default now, following the exchange clock for ever)
  --base-url URL         exchange REST base (default https://api.binance.com)
  --jobs-bind EP         jobs ROUTER endpoint (default tcp://127.0.0.1:5701)
  --persister EP         persister control endpoint (default tcp://127.0.0.1:5703)
  --once                 exit when the range is complete: 0 all ok, 2 some failed for good
  --lease-timeout-ms N   re-hand a job not durable after N ms (default 300000)
  --durable-wait-ms N    after JOB_DONE, wait N ms for DURABLE before re-handing (default 30000)
  --heartbeat-ms N       heartbeat interval; a fetcher silent 3 intervals is dead (default 1000)
  --progress-ms N        progress line cadence (default 10000)
  --max-failures N       failed attempts before a slice is failed for good (default 5)
  --refresh-ms N         refresh cadence of the open tail slice (default 60000)
  --retry-base-ms N      first backoff of a failed slice, doubling (default 5000)
  --retry-max-ms N       backoff cap (default 600000)
  --status-retry-ms N    re-send an unanswered STATUS_REQUEST after N ms (default 5000)
  --time-sync-ms N       re-read the exchange clock every N ms (default 600000)
  --exchange-info-ms N   re-read exchangeInfo every N ms: delisted symbols (status BREAK or
                         gone) end at their last candle, and the weight limit is followed
                         (default 300000)
  --give-up-after-ms N   with --once: a request to the exchange still failing N ms after its
                         first failure ends the run with exit 75 (default 900000, 15 min);
                         without --once the planner retries for ever
  --exchange-backoff-max-ms N  longest wait between retries of a request to the exchange
                         (default 60000; the first is 1000, doubling, with jitter)
  --rate-state PATH      the weight budget shared with the fetchers on this host (default
                         /tmp/qlir-rate-<uid>.state, the fetchers' default)
  --listing-cache PATH   remember each series' first candle in this file, so that a restart
                         does not ask the exchange once per series again (default: off)
  --curve-secret-key F   the data server's CURVE key pair (NAME.key_secret, shared with the
                         persister): encrypts the jobs socket and the persister link
  --curve-allow D|F      fetcher public keys let in on the jobs socket: a directory of
                         NAME.key files or one file of keys; others are refused and logged
  --verbose              debug lines
  --log-json             log lines as JSON objects
  --plan-only            log the plan (series, slices to fetch, requests, time, disk) once the
                         persister's statuses are in, then exit 0 without fetching
  --data-root DIR        the persister's data root: the plan warns when its free space is short
  --plan-weight-per-minute W  the IP budget the plan's time estimate assumes (default 6000)
  --stats-file PATH      rewrite this JSON file with our counters and every fetcher's (from
                         their heartbeats) every 2 s; qlir-status --stats-dir shows them
)";
}

Result<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  o.rate_state = "/tmp/qlir-rate-" + std::to_string(::getuid()) + ".state";
  bool have_symbols = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (flag.rfind("--", 0) != 0) return Status::Error("unexpected argument '" + flag + "'");
    if (size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (flag == "--once" || flag == "--help" || flag == "--verbose" || flag == "--log-json" ||
        flag == "--plan-only") {
      if (value) return Status::Error("flag " + flag + " takes no value");
      if (flag == "--plan-only") o.plan_only = true;
      if (flag == "--once") o.once = true;
      if (flag == "--help") o.help = true;
      if (flag == "--verbose") o.verbose = true;
      if (flag == "--log-json") o.log_json = true;
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return Status::Error("flag " + flag + " needs a value");
      value = args[++i];
    }
    const std::string& v = *value;
    auto number = [&](int64_t* out) -> Status {
      auto n = ParsePositive(flag, v);
      if (!n) return n.status();
      *out = *n;
      return Status::Ok();
    };
    Status st;
    if (flag == "--symbols") {
      o.symbols.clear();
      std::set<std::string> seen;
      for (const std::string& s : SplitList(v)) {
        if (Status vs = ValidateSymbol(s); !vs.ok())
          return Status::Error("flag --symbols: " + vs.message());
        if (seen.insert(s).second) o.symbols.push_back(s);
      }
      if (o.symbols.empty()) return Status::Error("flag --symbols: no symbol given");
      have_symbols = true;
    } else if (flag == "--intervals") {
      o.intervals.clear();
      std::set<std::string> seen;
      for (const std::string& s : SplitList(v)) {
        if (seen.insert(s).second) o.intervals.push_back(s);
      }
      if (o.intervals.empty()) return Status::Error("flag --intervals: no interval given");
    } else if (flag == "--endpoint") {
      o.endpoint = v;
    } else if (flag == "--start") {
      if (v == "listing") {
        o.start_ms.reset();
      } else {
        auto t = ParseTimeUtc(v);
        if (!t) return Status::Error("flag --start: " + t.error());
        o.start_ms = *t;
      }
    } else if (flag == "--end") {
      if (v == "now") {
        o.end_ms.reset();
      } else {
        auto t = ParseTimeUtc(v);
        if (!t) return Status::Error("flag --end: " + t.error());
        o.end_ms = *t;
      }
    } else if (flag == "--base-url") {
      if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
        return Status::Error("flag --base-url: expected http:// or https://, got '" + v + "'");
      }
      o.base_url = v;
    } else if (flag == "--jobs-bind" || flag == "--persister") {
      if (!ValidEndpoint(v)) {
        return Status::Error("flag " + flag + ": expected tcp://, ipc:// or inproc://, got '" + v +
                             "'");
      }
      (flag == "--jobs-bind" ? o.jobs_bind : o.persister) = v;
    } else if (flag == "--stats-file") {
      if (v.empty()) return Status::Error("flag --stats-file: empty path");
      o.stats_file = v;
    } else if (flag == "--curve-secret-key") {
      o.curve.secret_key_file = v;
    } else if (flag == "--curve-allow") {
      o.curve.allow_path = v;
    } else if (flag == "--curve-server-key") {
      return Status::Error(
          "flag --curve-server-key: the planner connects to the persister with its own key pair "
          "(--curve-secret-key), which the persister shares");
    } else if (flag == "--data-root") {
      o.data_root = v;
    } else if (flag == "--plan-weight-per-minute") {
      st = number(&o.plan_weight_per_minute);
    } else if (flag == "--lease-timeout-ms") {
      st = number(&o.lease_timeout_ms);
    } else if (flag == "--durable-wait-ms") {
      st = number(&o.durable_wait_ms);
    } else if (flag == "--heartbeat-ms") {
      st = number(&o.heartbeat_ms);
    } else if (flag == "--progress-ms") {
      st = number(&o.progress_ms);
    } else if (flag == "--refresh-ms") {
      st = number(&o.refresh_ms);
    } else if (flag == "--retry-base-ms") {
      st = number(&o.retry_base_ms);
    } else if (flag == "--retry-max-ms") {
      st = number(&o.retry_max_ms);
    } else if (flag == "--status-retry-ms") {
      st = number(&o.status_retry_ms);
    } else if (flag == "--time-sync-ms") {
      st = number(&o.time_sync_ms);
    } else if (flag == "--exchange-info-ms") {
      st = number(&o.exchange_info_ms);
    } else if (flag == "--give-up-after-ms") {
      st = number(&o.give_up_after_ms);
    } else if (flag == "--exchange-backoff-max-ms") {
      st = number(&o.exchange_backoff_max_ms);
    } else if (flag == "--listing-cache") {
      if (v.empty()) return Status::Error("flag --listing-cache: empty path");
      o.listing_cache = v;
    } else if (flag == "--rate-state") {
      if (v.empty()) return Status::Error("flag --rate-state: empty path");
      o.rate_state = v;
    } else if (flag == "--max-failures") {
      int64_t n = 0;
      st = number(&n);
      if (st.ok() && n > 1000000) st = Status::Error("flag --max-failures: too large");
      o.max_failures = static_cast<int>(n);
    } else {
      return Status::Error("unknown flag " + flag);
    }
    if (!st.ok()) return st;
  }
  if (o.help) return o;
  if (!have_symbols) return Status::Error("flag --symbols is required");
  const Endpoint* endpoint = FindEndpoint(o.endpoint);
  if (!endpoint) return Status::Error("flag --endpoint: " + UnknownEndpointMessage(o.endpoint));
  for (const std::string& interval : o.intervals) {
    if (!endpoint->ValidateInterval(interval).ok()) {
      return Status::Error("flag --intervals: unsupported interval '" + interval + "'");
    }
  }
  if (o.start_ms && o.end_ms && *o.start_ms > *o.end_ms) {
    return Status::Error("flag --start is after --end");
  }
  if (o.curve.any() && (o.curve.secret_key_file.empty() || o.curve.allow_path.empty())) {
    return Status::Error("flags --curve-secret-key and --curve-allow go together");
  }
  if (o.retry_base_ms > o.retry_max_ms) {
    return Status::Error("flag --retry-base-ms is above --retry-max-ms");
  }
  return o;
}

}  // namespace qlir::planner
