// Every request the planner makes to the exchange (exchangeInfo, time, a series' first and last
// item) goes through ExchangeClient::Get:
//   - its weight is reserved first in the host's shared rate state (fetcher/shared_rate_state.h),
//     the same per-IP budget the fetchers on this host spend, so planner and fetchers together
//     never push the IP over the limit; every answer's used-weight header and any 429/418
//     Retry-After land in that state, so the planner yields like a fetcher;
//   - transient failures (no answer: refused, reset, timeout, cut-off body; HTTP 408 and 5xx;
//     429 and 418; a 200 whose body the caller cannot use, e.g. malformed JSON or an HTML
//     maintenance page) are retried with exponential backoff and jitter, logged on each attempt
//     with the reason;
//   - another 4xx is final (the same request can never succeed): returned at once;
//   - with give_up_after_ms > 0 (the planner's --once) a request still failing that long after
//     its first failure is abandoned (kGaveUp); 0 retries for ever.
// Waits are interruptible: a stop requested on the clock ends them (kStopped).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/status.h"
#include "fetcher/backoff.h"
#include "fetcher/shared_rate_state.h"

namespace qlir::planner {

struct ExchangeClientOptions {
  int64_t backoff_base_ms = 1000;  // first retry delay, doubling, with jitter
  int64_t backoff_max_ms = 60000;  // cap
  int64_t give_up_after_ms = 0;    // 0: never
  uint64_t seed = 0;               // jitter seed (0: from the clock)
};

struct Fetched {
  enum Kind { kOk, kFinal, kGaveUp, kStopped };
  Kind kind = kOk;
  HttpResponse response;  // the accepted answer (kOk) or the last one
  std::string error;      // why, for the other kinds
  int attempts = 0;
  bool ok() const { return kind == kOk; }
};

struct ExchangeClientCounters {
  int64_t requests = 0;
  int64_t failures = 0;  // transient failures, retried
  int64_t http_429 = 0;
  int64_t http_418 = 0;
};

class ExchangeClient {
 public:
  // `rate` may be null (no shared budget; Retry-After is then slept here). All must outlive
  // the client. Get() is called by one thread at a time.
  ExchangeClient(HttpClient& http, fetcher::SharedRateState* rate, Clock& clock,
                 ExchangeClientOptions options);

  // GETs `url` (of `weight`) until a 200 answer passes `check`. `what` names the request in
  // log lines ("exchangeInfo", "listing of BTCUSDT/1m").
  Fetched Get(const std::string& what, const std::string& url, int64_t weight,
              const std::function<Status(const HttpResponse&)>& check);
  // The same against another budget of the host (an endpoint's own limit, e.g. fundingRate's
  // requests per 5 minutes); null: none.
  Fetched Get(const std::string& what, const std::string& url, int64_t weight,
              const std::function<Status(const HttpResponse&)>& check,
              fetcher::SharedRateState* budget);

  fetcher::SharedRateState* rate() { return rate_; }
  Clock& clock() { return clock_; }
  ExchangeClientCounters counters() const;

 private:
  // Waits until `weight` is reserved in `budget`; false when stopped.
  bool Reserve(const std::string& what, int64_t weight, fetcher::SharedRateState* budget);

  HttpClient& http_;
  fetcher::SharedRateState* rate_;
  Clock& clock_;
  const ExchangeClientOptions options_;
  fetcher::Backoff backoff_;
  mutable std::mutex mu_;
  ExchangeClientCounters counters_;  // guarded by mu_
};

// "HTTP 503: <excerpt>", "network: <error>".
std::string DescribeAnswer(const HttpResponse& r);

}  // namespace qlir::planner
