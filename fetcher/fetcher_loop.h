// The fetcher process's socket side (docs/protocol.md): a DEALER connected to the planner's job
// ROUTER (READY with absolute free credits on every connect, HEARTBEAT every interval when idle,
// planner silent for `liveness` intervals -> close, reconnect after a delay doubling up to 32 s,
// READY again; when, and what to send, is decided by PlannerLink, planner_link.h), a PUSH
// connected to the persister's results PULL, and `concurrency` worker threads, each with its own
// HTTP client (kept-alive connection), running one job at a time (fetch_job.h).
//
// Order per job: FETCH_RESULT is queued on the PUSH first, then JOB_DONE goes to the planner,
// which gives the credit back. A JOB_DONE or JOB_RETURN made while the planner socket is closed
// (between a planner timeout and the reconnect) is held and sent right after the next READY,
// and so are those sent since shortly before the planner went silent (they may have been lost
// with the old connection). A planner must therefore take a repeated JOB_DONE as one.
//
// Malformed input: a frame that does not decode, or a message of a type the planner should not
// send, is logged and dropped. A JOB whose endpoint is not registered (common/endpoint.h) or
// whose key does not parse is logged and answered with JOB_DONE outcome "failed" and no
// FETCH_RESULT, so that the planner gets its credit back; nothing can be stored under a key we
// cannot parse.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/curve.h"
#include "common/http_client.h"
#include "common/stats.h"
#include "common/status.h"
#include "fetcher/fetch_job.h"
#include "fetcher/shared_rate_state.h"

namespace qlir::fetcher {

struct FetcherOptions {
  std::string planner = "tcp://127.0.0.1:5701";
  std::string persister = "tcp://127.0.0.1:5702";
  std::string fetcher_id = "fetcher";
  int concurrency = 4;
  int64_t heartbeat_ms = 1000;
  int liveness = 3;  // planner silent this many heartbeat intervals -> gone
  int64_t reconnect_initial_ms = 1000;
  int64_t reconnect_max_ms = 32000;
  int64_t linger_ms = 2000;  // at exit, how long queued results may take to leave
  int64_t backoff_base_ms = 500;
  int64_t backoff_max_ms = 30000;
  // Counters (common/stats.h) go to the planner in a HEARTBEAT every stats_ms, and to
  // stats_file (when set) as well.
  int64_t stats_ms = 2000;
  std::string stats_file;
  FetchJobOptions job;
  // CURVE on both links (common/curve.h): our key pair and the data server's public key, which
  // the planner and the persister share. nullopt: plain sockets.
  std::optional<curve::Setup> curve;
};

using HttpClientFactory = std::function<std::unique_ptr<HttpClient>()>;

// Runs until `stop_fd` becomes readable (main passes a signalfd for SIGTERM/SIGINT, tests an
// eventfd). Then: jobs not started are handed back (JOB_RETURN), jobs in hand are finished or
// handed back, results are flushed (up to linger_ms), and it returns Ok.
// Errors only for a setup failure (bad endpoint, no eventfd). `rate` must outlive the call.
// Every reading of time and every sleep goes through `clock` (main passes a RealClock); the stop
// calls clock.RequestStop(), which wakes the workers' sleeps.
Status RunFetcher(const FetcherOptions& options, const HttpClientFactory& make_http,
                  SharedRateState* rate, Clock& clock, int stop_fd);

}  // namespace qlir::fetcher
