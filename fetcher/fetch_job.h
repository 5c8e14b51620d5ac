// One job from start to end: reserve the endpoint's weight, GET its URL, read the rate headers,
// classify, validate the payload (both through common/endpoint.h), retry with backoff, decide
// ok/partial by the exchange's clock, and produce the FETCH_RESULT of docs/protocol.md.
// No sockets here.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/endpoint.h"
#include "common/http_client.h"
#include "common/klines/slice_key.h"
#include "common/wire.h"
#include "fetcher/backoff.h"
#include "fetcher/shared_rate_state.h"

namespace qlir::fetcher {

inline constexpr int64_t kTimeWeight = 1;  // GET /api/v3/time (and /fapi/v1/time)

enum class Verdict {
  kOk,           // 200 and a valid body
  kRetry,        // network error, timeout, 5xx, 408, unexpected status, invalid body: an attempt
  kPermanent,    // other 4xx (bad symbol, bad parameter, 403, 451): report failed at once
  kRateLimited,  // 429: wait Retry-After, not an attempt
  kBanned,       // 418: wait until the ban is over, not an attempt
};

struct Classification {
  Verdict verdict = Verdict::kRetry;
  std::string error;       // why, when not kOk
  PayloadSummary summary;  // when kOk
};

// Pure: what a response means for a slice of `endpoint`.
Classification Classify(const HttpResponse& response, const Endpoint& endpoint,
                        const SliceKey& key);

// "HTTP 400: code -1121: Invalid symbol." from the exchange's {"code","msg"} body, or the start
// of the body when it is not that.
std::string DescribeHttpError(int status, const std::string& body);

struct FetchJobOptions {
  // --base-url. Left at the spot host, each endpoint goes to its own exchange host
  // (Endpoint::default_base_url: fundingRate to https://fapi.binance.com); set to anything else
  // (a simulator, a mirror), every endpoint's requests go there.
  std::string base_url = std::string(klines::kDefaultBaseUrl);
  int max_attempts = 5;
};

struct FetchJobDeps {
  HttpClient* http = nullptr;
  SharedRateState* rate = nullptr;
  Clock* clock = nullptr;
  Backoff* backoff = nullptr;
};

// What one job cost: the fetcher adds these to its process counters (common/stats.h).
struct JobStats {
  int64_t http_requests = 0;   // every GET, /api/v3/time included
  int64_t bytes_received = 0;  // response bodies
  int64_t http_429 = 0;
  int64_t http_418 = 0;
  int64_t http_5xx = 0;        // 5xx and 408
  int64_t network_errors = 0;  // no HTTP answer (reset, timeout, refused)
  int64_t invalid_bodies = 0;  // 200 with a payload that failed validation
  int64_t retries = 0;         // attempts repeated after a failure (backoff waited)
};

struct JobOutcome {
  bool handed_back = false;  // stopped before a result: send JOB_RETURN
  wire::FetchResult result;  // when !handed_back
  JobStats stats;
};

// The base URL a job of `endpoint` uses under `options` (see FetchJobOptions::base_url).
std::string BaseUrlFor(const FetchJobOptions& options, const Endpoint& endpoint);

// Runs the job until it has a result (ok, partial or failed) or a stop is requested while it
// waits (then handed_back). A request in flight is always finished first. Blocking; call from a
// worker thread with its own HttpClient.
JobOutcome RunFetchJob(const Endpoint& endpoint, const SliceKey& key,
                       const FetchJobOptions& options, const FetchJobDeps& deps);

}  // namespace qlir::fetcher
