#include "planner/exchange_client.h"

#include <algorithm>
#include <mutex>

#include "common/log.h"
#include "planner/progress.h"

namespace qlir::planner {
namespace {

std::string Excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 160)) {
    out += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : ' ';
  }
  if (body.size() > 160) out += "...";
  return out;
}

}  // namespace

std::string DescribeAnswer(const HttpResponse& r) {
  if (r.status == 0) return "network: " + (r.error.empty() ? std::string("no answer") : r.error);
  std::string out = "HTTP " + std::to_string(r.status);
  if (!r.body.empty()) out += ": " + Excerpt(r.body);
  return out;
}

ExchangeClient::ExchangeClient(HttpClient& http, fetcher::SharedRateState* rate, Clock& clock,
                               ExchangeClientOptions options)
    : http_(http),
      rate_(rate),
      clock_(clock),
      options_(options),
      backoff_(options.backoff_base_ms, options.backoff_max_ms,
               options.seed ? options.seed : static_cast<uint64_t>(clock.WallNowMs())) {}

ExchangeClientCounters ExchangeClient::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

bool ExchangeClient::Reserve(const std::string& what, int64_t weight,
                             fetcher::SharedRateState* budget) {
  if (!budget) return !clock_.StopRequested();
  bool logged = false;
  for (;;) {
    if (clock_.StopRequested()) return false;
    Result<int64_t> wait = budget->Reserve(clock_.WallNowMs(), weight);
    if (!wait.ok()) {
      // The state file cannot be used: send anyway (the headers still pace the fetchers).
      LogWarn(what + ": " + wait.error());
      return true;
    }
    if (*wait == 0) return true;
    if (!logged && *wait >= 1000) {
      LogInfo(what + ": waiting " + std::to_string(*wait) + " ms for this IP's weight budget");
      logged = true;
    }
    if (!clock_.SleepMs(*wait)) return false;
  }
}

Fetched ExchangeClient::Get(const std::string& what, const std::string& url, int64_t weight,
                            const std::function<Status(const HttpResponse&)>& check) {
  return Get(what, url, weight, check, rate_);
}

Fetched ExchangeClient::Get(const std::string& what, const std::string& url, int64_t weight,
                            const std::function<Status(const HttpResponse&)>& check,
                            fetcher::SharedRateState* budget) {
  Fetched f;
  int64_t first_failure = -1;
  int retries = 0;
  for (;;) {
    if (!Reserve(what, weight, budget)) {
      f.kind = Fetched::kStopped;
      f.error = "stopped";
      return f;
    }
    const int64_t sent = clock_.WallNowMs();
    f.response = http_.Get(url);
    ++f.attempts;
    const HttpResponse& r = f.response;
    if (budget) {
      Status s = budget->ObserveResponse(clock_.WallNowMs(), sent, r.status, r.headers);
      if (!s.ok()) LogWarn(what + ": " + s.message());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++counters_.requests;
      if (r.status == 429) ++counters_.http_429;
      if (r.status == 418) ++counters_.http_418;
    }
    std::string why;
    bool limited = false;
    if (r.status == 200) {
      Status s = check(r);
      if (s.ok()) {
        f.kind = Fetched::kOk;
        f.error.clear();
        return f;
      }
      why = "unusable answer: " + s.message();
    } else if (r.status == 429 || r.status == 418) {
      limited = true;
      auto ra = r.headers.find("retry-after");
      why = DescribeAnswer(r) + " (Retry-After " +
            (ra != r.headers.end() ? ra->second + " s" : std::string("absent")) + ")";
    } else if (r.status < 400 || r.status == 408 || r.status >= 500) {
      // No answer, a timeout, a server error, or an answer we do not know (1xx, 3xx, 2xx).
      why = DescribeAnswer(r);
    } else {
      f.kind = Fetched::kFinal;
      f.error = "GET " + url + ": " + DescribeAnswer(r);
      return f;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++counters_.failures;
    }
    const int64_t now = clock_.WallNowMs();
    if (first_failure < 0) first_failure = now;
    const int64_t failing_for = now - first_failure;
    if (options_.give_up_after_ms > 0 && failing_for >= options_.give_up_after_ms) {
      f.kind = Fetched::kGaveUp;
      f.error = what + ": still failing after " + FormatDuration(failing_for) + " (" +
                std::to_string(f.attempts) + " attempts), giving up: GET " + url + ": " + why;
      return f;
    }
    int64_t delay = 0;
    if (limited) {
      // The shared state holds the pause (Retry-After): the next Reserve waits it out.
      if (!budget) {
        auto ra = r.headers.find("retry-after");
        delay = r.status == 418 ? 120000 : 60000;
        if (ra != r.headers.end()) {
          try {
            delay = std::max<int64_t>(1000, std::stoll(ra->second) * 1000);
          } catch (const std::exception&) {
          }
        }
      }
    } else {
      delay = backoff_.DelayMs(++retries);
    }
    if (options_.give_up_after_ms > 0) {
      delay = std::min(delay, options_.give_up_after_ms - failing_for);
    }
    LogWarn(what + ": attempt " + std::to_string(f.attempts) + " failed (GET " + url + ": " + why +
            "); " +
            (limited && budget
                 ? std::string("waiting for Retry-After, as every fetcher on the host")
                 : "retrying in " + std::to_string(delay) + " ms"));
    if (delay > 0 && !clock_.SleepMs(delay)) {
      f.kind = Fetched::kStopped;
      f.error = "stopped";
      return f;
    }
  }
}

}  // namespace qlir::planner
