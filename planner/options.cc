#include "planner/options.h"

#include <unistd.h>

#include <limits>
#include <set>

#include "common/endpoint.h"
#include "common/flags.h"
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

bool ValidEndpoint(const std::string& e) {
  return e.rfind("tcp://", 0) == 0 || e.rfind("ipc://", 0) == 0 || e.rfind("inproc://", 0) == 0;
}

}  // namespace

std::string Usage() {
  return R"(usage: planner --symbols A,B [flags]
  --symbols A,B          symbols to keep complete (required)
  --endpoint NAME        the endpoint to keep complete: klines (default), fundingRate
                         (USD-M futures funding rates, from https://fapi.binance.com) or
                         aggTrades (spot aggregate trades, slices of 1000 ids)
  --intervals 1m,1s      kline intervals (default 1m); fundingRate has the one series 1h,
                         aggTrades the one series id
  --start T|listing      first time: YYYY-MM-DD[THH:MM[:SS]], ms since epoch, or `listing`
                         (the symbol's first candle; default); aggTrades: the first trade at
                         or after T (one lookup by startTime)
  --end T|now            last time (default now, following the exchange clock for ever;
                         aggTrades: following the newest trade id)
  --base-url URL         exchange REST base (default the endpoint's host: https://api.binance.com
                         for klines, https://fapi.binance.com for fundingRate)
  --jobs-bind EP         jobs ROUTER endpoint (default tcp://127.0.0.1:5701)
  --persister EP         persister control endpoint (default tcp://127.0.0.1:5703)
  --once                 exit when the range is complete: 0 all ok, 2 some failed for good
  --lease-timeout-ms N   re-hand a job not durable after N ms (default 300000)
  --durable-wait-ms N    after JOB_DONE, wait N ms for DURABLE before re-handing (default 30000)
  --heartbeat-ms N       heartbeat interval; a fetcher silent 3 intervals is dead (default 1000)
  --progress-ms N        progress line cadence (default 10000)
  --max-failures N       failed attempts before a slice is failed for good (default 5)
  --refresh-ms N         refresh cadence of the open tail slice (default 60000); aggTrades:
                         also how often each series' newest trade id is asked
  --retry-base-ms N      first backoff of a failed slice, doubling (default 5000)
  --retry-max-ms N       backoff cap (default 600000)
  --status-retry-ms N    re-send an unanswered STATUS_REQUEST once the persister has said
                         nothing for N ms, the gap doubling while unanswered, up to 32 N
                         (default 5000); the statuses of 4 series are asked at a time
  --resync-ms N          ask every series' statuses again each N ms, so that slices set pending
                         while no PENDING notice reached us are fetched again (default 600000;
                         0: never)
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
  bool have_intervals = false;
  bool have_base_url = false;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  FlagSet f;
  f.Switch("once", &o.once);
  f.Switch("help", &o.help);
  f.Switch("verbose", &o.verbose);
  f.Switch("log-json", &o.log_json);
  f.Switch("plan-only", &o.plan_only);
  f.Value("data-root", [&](const std::string& v) {
    o.data_root = v;
    return Status::Ok();
  });
  f.Int("plan-weight-per-minute", &o.plan_weight_per_minute, 1, kMax);
  f.Value("symbols", [&](const std::string& v) -> Status {
    o.symbols.clear();
    std::set<std::string> seen;
    for (const std::string& s : SplitList(v)) {
      if (Status vs = ValidateSymbol(s); !vs.ok()) {
        return Status::Error("flag --symbols: " + vs.message());
      }
      if (seen.insert(s).second) o.symbols.push_back(s);
    }
    if (o.symbols.empty()) return Status::Error("flag --symbols: no symbol given");
    have_symbols = true;
    return Status::Ok();
  });
  f.Value("intervals", [&](const std::string& v) -> Status {
    o.intervals.clear();
    have_intervals = true;
    std::set<std::string> seen;
    for (const std::string& s : SplitList(v)) {
      if (seen.insert(s).second) o.intervals.push_back(s);
    }
    if (o.intervals.empty()) return Status::Error("flag --intervals: no interval given");
    return Status::Ok();
  });
  f.Value("endpoint", [&](const std::string& v) {
    o.endpoint = v;
    return Status::Ok();
  });
  auto time_flag = [](const std::string& name, const std::string& keyword,
                      std::optional<int64_t>* out) {
    return [name, keyword, out](const std::string& v) -> Status {
      if (v == keyword) {
        out->reset();
        return Status::Ok();
      }
      auto t = ParseTimeUtc(v);
      if (!t) return Status::Error("flag --" + name + ": " + t.error());
      *out = *t;
      return Status::Ok();
    };
  };
  f.Value("start", time_flag("start", "listing", &o.start_ms));
  f.Value("end", time_flag("end", "now", &o.end_ms));
  f.Value("base-url", [&](const std::string& v) -> Status {
    if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
      return Status::Error("flag --base-url: expected http:// or https://, got '" + v + "'");
    }
    o.base_url = v;
    have_base_url = true;
    return Status::Ok();
  });
  auto endpoint_flag = [](const std::string& name, std::string* out) {
    return [name, out](const std::string& v) -> Status {
      if (!ValidEndpoint(v)) {
        return Status::Error("flag --" + name + ": expected tcp://, ipc:// or inproc://, got '" +
                             v + "'");
      }
      *out = v;
      return Status::Ok();
    };
  };
  f.Value("jobs-bind", endpoint_flag("jobs-bind", &o.jobs_bind));
  f.Value("persister", endpoint_flag("persister", &o.persister));
  f.String("stats-file", &o.stats_file);
  f.Value("curve-secret-key", [&](const std::string& v) {
    o.curve.secret_key_file = v;
    return Status::Ok();
  });
  f.Value("curve-allow", [&](const std::string& v) {
    o.curve.allow_path = v;
    return Status::Ok();
  });
  f.Value("curve-server-key", [](const std::string&) {
    return Status::Error(
        "flag --curve-server-key: the planner connects to the persister with its own key pair "
        "(--curve-secret-key), which the persister shares");
  });
  f.Int("lease-timeout-ms", &o.lease_timeout_ms, 1, kMax);
  f.Int("durable-wait-ms", &o.durable_wait_ms, 1, kMax);
  f.Int("heartbeat-ms", &o.heartbeat_ms, 1, kMax);
  f.Int("progress-ms", &o.progress_ms, 1, kMax);
  f.Int("refresh-ms", &o.refresh_ms, 1, kMax);
  f.Int("retry-base-ms", &o.retry_base_ms, 1, kMax);
  f.Int("retry-max-ms", &o.retry_max_ms, 1, kMax);
  f.Int("status-retry-ms", &o.status_retry_ms, 1, kMax);
  f.Int("resync-ms", &o.resync_ms, 0, kMax);
  f.Int("time-sync-ms", &o.time_sync_ms, 1, kMax);
  f.Int("max-failures", &o.max_failures, 1, 1000000);
  f.Int("exchange-info-ms", &o.exchange_info_ms, 1, kMax);
  f.Int("give-up-after-ms", &o.give_up_after_ms, 1, kMax);
  f.Int("exchange-backoff-max-ms", &o.exchange_backoff_max_ms, 1, kMax);
  f.Value("listing-cache", [&](const std::string& v) -> Status {
    if (v.empty()) return Status::Error("flag --listing-cache: empty path");
    o.listing_cache = v;
    return Status::Ok();
  });
  f.Value("rate-state", [&](const std::string& v) -> Status {
    if (v.empty()) return Status::Error("flag --rate-state: empty path");
    o.rate_state = v;
    return Status::Ok();
  });
  if (Status s = f.Parse(args); !s.ok()) return s;
  if (o.help) return o;
  if (!have_symbols) return Status::Error("flag --symbols is required");
  const Endpoint* endpoint = FindEndpoint(o.endpoint);
  if (!endpoint) return Status::Error("flag --endpoint: " + UnknownEndpointMessage(o.endpoint));
  // Unless given, the endpoint's own series and host (fundingRate: 1h, the futures host).
  if (!have_intervals) o.intervals = {std::string(endpoint->default_interval())};
  if (!have_base_url) o.base_url = std::string(endpoint->default_base_url());
  for (const std::string& interval : o.intervals) {
    if (Status s = endpoint->ValidateInterval(interval); !s.ok()) {
      return Status::Error("flag --intervals: unsupported interval '" + interval + "' (" +
                           s.message() + ")");
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
