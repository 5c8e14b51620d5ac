// The planner's command-line flags. Parsing never exits: errors are values naming the flag.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/curve.h"
#include "common/status.h"

namespace qlir::planner {

struct Options {
  std::vector<std::string> symbols;                  // --symbols A,B (required)
  std::string endpoint = "klines";                   // --endpoint (common/endpoint.h)
  std::vector<std::string> intervals{"1m"};          // --intervals 1m,1s
  std::optional<int64_t> start_ms;                   // --start; nullopt: "listing" (first candle)
  std::optional<int64_t> end_ms;                     // --end; nullopt: now, following the exchange
  std::string base_url = "https://api.binance.com";  // --base-url
  std::string jobs_bind = "tcp://127.0.0.1:5701";    // --jobs-bind (ROUTER)
  std::string persister = "tcp://127.0.0.1:5703";    // --persister (control, DEALER connect)
  bool once = false;                                 // --once
  int64_t lease_timeout_ms = 300000;                 // --lease-timeout-ms
  int64_t durable_wait_ms = 30000;                   // --durable-wait-ms (after JOB_DONE)
  int64_t heartbeat_ms = 1000;                       // --heartbeat-ms
  int64_t progress_ms = 10000;                       // --progress-ms
  int max_failures = 5;                              // --max-failures
  int64_t refresh_ms = 60000;                        // --refresh-ms
  int64_t retry_base_ms = 5000;                      // --retry-base-ms
  int64_t retry_max_ms = 600000;                     // --retry-max-ms
  int64_t status_retry_ms = 5000;                    // --status-retry-ms
  int64_t resync_ms = 600000;                        // --resync-ms (statuses asked again; 0 off)
  int64_t time_sync_ms = 600000;                     // --time-sync-ms (exchange clock re-sync)
  int64_t exchange_info_ms = 300000;                 // --exchange-info-ms (delistings, limit)
  // --give-up-after-ms: with --once, a request to the exchange still failing this long after
  // its first failure ends the run with kExitTemporary (75). Running for ever: never.
  int64_t give_up_after_ms = 900000;
  int64_t exchange_backoff_max_ms = 60000;  // --exchange-backoff-max-ms
  std::string rate_state;                   // --rate-state (default: the fetchers')
  std::string listing_cache;                // --listing-cache (first candles; empty: off)
  // --curve-secret-key FILE, --curve-allow DIR|FILE: CURVE on the jobs socket (fetchers whose
  // key is allowed) and on the control link, where the planner is a client with the same key
  // pair as the persister (the data server's). Empty: plain sockets.
  curve::Flags curve;
  bool verbose = false;    // --verbose (debug lines)
  bool log_json = false;   // --log-json (JSON log lines)
  std::string stats_file;  // --stats-file (counters, common/stats.h)
  bool help = false;       // --help
  // The plan (planner/plan.h), logged once the stored statuses are in: --plan-only exits 0
  // right after it; --data-root (the persister's) is only read for its free space; the time
  // estimate assumes --plan-weight-per-minute of the IP's budget.
  bool plan_only = false;                 // --plan-only
  std::string data_root;                  // --data-root
  int64_t plan_weight_per_minute = 6000;  // --plan-weight-per-minute
};

// Parses argv[1..]. Accepts "--flag value" and "--flag=value".
Result<Options> ParseOptions(const std::vector<std::string>& args);
std::string Usage();

}  // namespace qlir::planner
