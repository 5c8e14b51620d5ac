// One klines job from start to end: reserve weight, GET, read the rate headers, classify,
// validate (common/klines/payload.h), retry with backoff, decide ok/partial by the exchange's
// clock, and produce the FETCH_RESULT of docs/protocol.md. No sockets here.
#pragma once

#include <cstdint>
#include <string>

#include "common/http_client.h"
#include "common/klines/payload.h"
#include "common/klines/slice_key.h"
#include "common/wire.h"
#include "fetcher/backoff.h"
#include "fetcher/clock.h"
#include "fetcher/shared_rate_state.h"

namespace qlir::fetcher {

inline constexpr int64_t kKlinesWeight = 2;  // since 2023-08-25 (reference section 2)
inline constexpr int64_t kTimeWeight = 1;    // GET /api/v3/time

enum class Verdict {
  kOk,           // 200 and a valid body
  kRetry,        // network error, timeout, 5xx, 408, unexpected status, invalid body: an attempt
  kPermanent,    // other 4xx (bad symbol, bad parameter, 403, 451): report failed at once
  kRateLimited,  // 429: wait Retry-After, not an attempt
  kBanned,       // 418: wait until the ban is over, not an attempt
};

struct Classification {
  Verdict verdict = Verdict::kRetry;
  std::string error;               // why, when not kOk
  klines::PayloadSummary summary;  // when kOk
};

// Pure: what a response means for a slice.
Classification Classify(const HttpResponse& response, const klines::KlineSliceKey& key);

// "HTTP 400: code -1121: Invalid symbol." from the exchange's {"code","msg"} body, or the start
// of the body when it is not that.
std::string DescribeHttpError(int status, const std::string& body);

struct FetchJobOptions {
  std::string base_url = std::string(klines::kDefaultBaseUrl);
  int max_attempts = 5;
};

struct FetchJobDeps {
  HttpClient* http = nullptr;
  SharedRateState* rate = nullptr;
  Clock* clock = nullptr;
  Backoff* backoff = nullptr;
};

struct JobOutcome {
  bool handed_back = false;  // stopped before a result: send JOB_RETURN
  wire::FetchResult result;  // when !handed_back
};

// Runs the job until it has a result (ok, partial or failed) or a stop is requested while it
// waits (then handed_back). A request in flight is always finished first. Blocking; call from a
// worker thread with its own HttpClient.
JobOutcome RunFetchJob(const klines::KlineSliceKey& key, const FetchJobOptions& options,
                       const FetchJobDeps& deps);

}  // namespace qlir::fetcher
