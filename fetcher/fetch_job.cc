#include "fetcher/fetch_job.h"

#include "common/json.h"
#include "common/log.h"

namespace qlir::fetcher {
namespace {

std::string Printable(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) {
    out += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : ' ';
  }
  if (s.size() > max) out += "...";
  return out;
}

// Waits until `weight` is reserved. False when a stop came first; an error when the shared
// state cannot be used.
Result<bool> AcquireWeight(const FetchJobDeps& deps, int64_t weight, const std::string& key) {
  bool logged = false;
  for (;;) {
    if (deps.clock->StopRequested()) return false;
    Result<int64_t> wait = deps.rate->Reserve(deps.clock->WallNowMs(), weight);
    if (!wait.ok()) return wait.status();
    if (*wait == 0) return true;
    if (!logged && *wait > 1000) {
      Log(LogLevel::kInfo, key, "rate limit: waiting " + std::to_string(*wait) + " ms");
      logged = true;
    }
    if (!deps.clock->SleepMs(*wait)) return false;
  }
}

void Count(const HttpResponse& r, JobStats* stats) {
  ++stats->http_requests;
  stats->bytes_received += static_cast<int64_t>(r.body.size());
  if (r.status == 0) ++stats->network_errors;
  if (r.status == 429) ++stats->http_429;
  if (r.status == 418) ++stats->http_418;
  if (r.status == 408 || r.status >= 500) ++stats->http_5xx;
}

void ObserveRate(const FetchJobDeps& deps, int64_t sent_ms, const HttpResponse& r,
                 const std::string& key) {
  Status s = deps.rate->ObserveResponse(deps.clock->WallNowMs(), sent_ms, r.status, r.headers);
  if (!s.ok()) Log(LogLevel::kWarn, key, s.message());
}

// The exchange's clock: GET /api/v3/time (the endpoint's time path), when a response carried no
// Date header. Spent from the job's budget (for fundingRate, one of its requests: more cautious
// than the futures weight it really costs).
Result<int64_t> FetchServerTime(const Endpoint& endpoint, const FetchJobOptions& options,
                                const FetchJobDeps& deps, const std::string& key, JobStats* stats) {
  Result<bool> got = AcquireWeight(deps, kTimeWeight, key);
  if (!got.ok()) return got.status();
  if (!*got) return Status::Error("stopped");
  std::string base = BaseUrlFor(options, endpoint);
  while (!base.empty() && base.back() == '/') base.pop_back();
  const int64_t sent = deps.clock->WallNowMs();
  const std::string path(endpoint.time_path());
  HttpResponse r = deps.http->Get(base + path);
  Count(r, stats);
  ObserveRate(deps, sent, r, key);
  if (r.status != 200) {
    return Status::Error("GET " + path + ": " +
                         (r.status == 0 ? r.error : DescribeHttpError(r.status, r.body)));
  }
  try {
    auto j = nlohmann::json::parse(r.body);
    if (j.is_object() && j.contains("serverTime") && j["serverTime"].is_number_integer()) {
      return j["serverTime"].get<int64_t>();
    }
  } catch (const nlohmann::json::exception&) {
  }
  return Status::Error("GET " + path + ": no serverTime in '" + Printable(r.body, 100) + "'");
}

}  // namespace

std::string BaseUrlFor(const FetchJobOptions& options, const Endpoint& endpoint) {
  if (options.base_url == klines::kDefaultBaseUrl) return std::string(endpoint.default_base_url());
  return options.base_url;
}

std::string DescribeHttpError(int status, const std::string& body) {
  std::string out = "HTTP " + std::to_string(status);
  try {
    auto j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("code") && j.contains("msg")) {
      out += ": code " + j["code"].dump() + ": " +
             (j["msg"].is_string() ? j["msg"].get<std::string>() : j["msg"].dump());
      return out;
    }
  } catch (const nlohmann::json::exception&) {
  }
  if (!body.empty()) out += ": " + Printable(body, 200);
  return out;
}

Classification Classify(const HttpResponse& response, const Endpoint& endpoint,
                        const SliceKey& key) {
  Classification c;
  const int st = response.status;
  if (st == 0) {
    c.verdict = Verdict::kRetry;
    c.error = "network: " + (response.error.empty() ? std::string("no answer") : response.error);
  } else if (st == 200) {
    auto v = endpoint.ValidatePayload(response.body, key);
    if (v.ok()) {
      c.verdict = Verdict::kOk;
      c.summary = *v;
    } else {
      c.verdict = Verdict::kRetry;
      c.error = "invalid body: " + v.error();
    }
  } else if (st == 429) {
    c.verdict = Verdict::kRateLimited;
    c.error = DescribeHttpError(st, response.body);
  } else if (st == 418) {
    c.verdict = Verdict::kBanned;
    c.error = DescribeHttpError(st, response.body);
  } else if (st == 408 || st >= 500) {
    c.verdict = Verdict::kRetry;  // a read-only GET is safe to repeat
    c.error = DescribeHttpError(st, response.body);
  } else if (st >= 400) {
    c.verdict = Verdict::kPermanent;
    c.error = DescribeHttpError(st, response.body);
  } else {
    c.verdict = Verdict::kRetry;  // 1xx, other 2xx, 3xx: not an answer we know
    c.error = "unexpected " + DescribeHttpError(st, response.body);
  }
  return c;
}

JobOutcome RunFetchJob(const Endpoint& endpoint, const SliceKey& key,
                       const FetchJobOptions& options, const FetchJobDeps& deps) {
  const std::string ck = key.composite_key();
  const std::string url = endpoint.BuildUrl(BaseUrlFor(options, endpoint), key);
  JobOutcome out;
  wire::FetchResult& r = out.result;
  r.endpoint = std::string(endpoint.name());
  r.key = ck;
  r.url = url;
  uint32_t attempts = 0;

  auto failed = [&](std::string error) {
    r.outcome = "failed";
    r.error = std::move(error);
    r.attempts = attempts;
    r.completed_at_ms = deps.clock->WallNowMs();
    Log(LogLevel::kWarn, ck,
        "failed after " + std::to_string(attempts) + " attempt(s): " + r.error);
    return out;
  };
  auto hand_back = [&]() {
    out.handed_back = true;
    Log(LogLevel::kInfo, ck, "stopping: handing the job back");
    return out;
  };
  // After a failed attempt: give up, or wait the backoff. Returns true to try again.
  auto retry_after_failure = [&](const std::string& error) -> std::optional<JobOutcome> {
    if (static_cast<int>(attempts) >= options.max_attempts) return failed(error);
    const int64_t delay = deps.backoff->DelayMs(static_cast<int>(attempts));
    ++out.stats.retries;
    Log(LogLevel::kWarn, ck,
        "attempt " + std::to_string(attempts) + " failed (" + error + "), retrying in " +
            std::to_string(delay) + " ms");
    if (!deps.clock->SleepMs(delay)) return hand_back();
    return std::nullopt;
  };

  for (;;) {
    if (deps.clock->StopRequested()) return hand_back();
    Result<bool> got = AcquireWeight(deps, endpoint.request_weight(), ck);
    if (!got.ok()) {
      ++attempts;
      r.http_status = 0;
      if (auto end = retry_after_failure("rate state: " + got.error())) return *end;
      continue;
    }
    if (!*got) return hand_back();

    r.requested_at_ms = deps.clock->WallNowMs();
    HttpResponse resp = deps.http->Get(url);
    r.completed_at_ms = deps.clock->WallNowMs();
    r.http_status = resp.status;
    Count(resp, &out.stats);
    ObserveRate(deps, r.requested_at_ms, resp, ck);
    Classification c = Classify(resp, endpoint, key);
    if (resp.status == 200 && c.verdict == Verdict::kRetry) ++out.stats.invalid_bodies;

    switch (c.verdict) {
      case Verdict::kRateLimited:
      case Verdict::kBanned:
        // Not an attempt: the shared state now holds the pause; AcquireWeight waits it out.
        Log(LogLevel::kWarn, ck,
            c.error + " (Retry-After " +
                (resp.headers.count("retry-after") ? resp.headers.at("retry-after") + " s"
                                                   : std::string("absent")) +
                "): every fetcher on this host pauses");
        continue;
      case Verdict::kPermanent:
        ++attempts;
        return failed(c.error);
      case Verdict::kRetry:
        ++attempts;
        if (auto end = retry_after_failure(c.error)) return *end;
        continue;
      case Verdict::kOk:
        ++attempts;
        break;
    }

    int64_t server_time = resp.date_ms;
    if (server_time < 0) {
      Result<int64_t> t = FetchServerTime(endpoint, options, deps, ck, &out.stats);
      if (!t.ok()) {
        if (deps.clock->StopRequested()) return hand_back();
        if (auto end = retry_after_failure("no server time: " + t.error())) return *end;
        continue;
      }
      server_time = *t;
    }
    r.server_time_ms = server_time;
    r.outcome = endpoint.Final(key, c.summary, server_time) ? "ok" : "partial";
    r.body = std::move(resp.body);
    r.error.clear();
    r.n_items = c.summary.n_items;
    r.first_ts = c.summary.first_ts;
    r.last_ts = c.summary.last_ts;
    r.attempts = attempts;
    r.http_status = 200;
    Log(LogLevel::kInfo, ck,
        "fetched " + r.outcome + ": " + std::to_string(r.n_items) + " items, " +
            std::to_string(r.body.size()) + " bytes, " + std::to_string(attempts) +
            " attempt(s), " + std::to_string(r.completed_at_ms - r.requested_at_ms) + " ms");
    return out;
  }
}

}  // namespace qlir::fetcher
