#include "planner/exchange_client.h"

#include <catch2/catch.hpp>

#include "common/log.h"
#include "tests/fake_http_client.h"
#include "tests/log_capture.h"
#include "tests/test_util.h"

namespace qlir::planner {
namespace {

using ::qlir::testing::FakeHttpClient;
using ::qlir::testing::HttpAnswer;
using ::qlir::testing::TransportError;

const std::string kUrl = "http://x/api/v3/time";
constexpr int64_t kT0 = 1700000040000;  // a minute boundary

Status NeedJson(const HttpResponse& r) {
  return r.body.rfind("{", 0) == 0 ? Status::Ok() : Status::Error("not JSON");
}

TEST_CASE("ExchangeClient retries every transient failure, logging why, until an answer") {
  qlir::testing::LogCapture log;
  FakeHttpClient http;
  http.QueueFor(kUrl, TransportError("connection refused"));
  http.QueueFor(kUrl, HttpAnswer(503, "<html>503 Service Unavailable</html>"));
  http.QueueFor(kUrl, HttpAnswer(504, R"({"code":-1007,"msg":"Timeout waiting for response"})"));
  http.QueueFor(kUrl, HttpAnswer(200, "<html>maintenance</html>"));
  http.QueueFor(kUrl, HttpAnswer(200, R"({"serverTime":17)"));  // cut off: the check refuses it
  http.Set(kUrl, 200, R"({"serverTime":1})");
  ManualClock clock(kT0);
  ExchangeClient c(http, nullptr, clock,
                   {.backoff_base_ms = 1000, .backoff_max_ms = 8000, .seed = 1});
  Fetched f = c.Get("time", kUrl, 1, [](const HttpResponse& r) {
    return r.body.find('}') != std::string::npos ? NeedJson(r) : Status::Error("truncated");
  });
  REQUIRE(f.ok());
  CHECK(f.attempts == 6);
  CHECK(c.counters().failures == 5);
  CHECK(log.Contains("connection refused"));
  CHECK(log.Contains("HTTP 503"));
  CHECK(log.Contains("HTTP 504"));
  CHECK(log.Contains("unusable answer"));
  // Backoff with jitter: each wait in [d/2, d], d doubling from 1 s to the 8 s cap.
  const std::vector<int64_t> sleeps = clock.sleeps();
  REQUIRE(sleeps.size() == 5);
  const int64_t caps[] = {1000, 2000, 4000, 8000, 8000};
  for (size_t i = 0; i < sleeps.size(); ++i) {
    CHECK(sleeps[i] >= caps[i] / 2);
    CHECK(sleeps[i] <= caps[i]);
  }
}

TEST_CASE("ExchangeClient honours 429 and 418 Retry-After through the shared budget") {
  qlir::testing::ScratchDir dir;
  FakeHttpClient http;
  http.QueueFor(kUrl, HttpAnswer(429, R"({"code":-1003})", -1,
                                 {{"retry-after", "7"}, {"x-mbx-used-weight-1m", "40"}}));
  http.QueueFor(kUrl, HttpAnswer(418, R"({"code":-1003})", -1, {{"retry-after", "30"}}));
  http.Set(kUrl, 200, R"({"serverTime":1})");
  auto rate = fetcher::SharedRateState::Open((dir.path() / "rate").string(),
                                             {.weight_limit = 6000, .window_ms = 60000});
  REQUIRE(rate.ok());
  ManualClock clock(kT0 + 1000);
  ExchangeClient c(http, rate->get(), clock, {.seed = 1});
  Fetched f = c.Get("time", kUrl, 1, NeedJson);
  REQUIRE(f.ok());
  CHECK(c.counters().http_429 == 1);
  CHECK(c.counters().http_418 == 1);
  // The waits come from the shared state, as the fetchers' do, not from a backoff of our own:
  // the 429's Retry-After (7 s), then the rest of the window (its used weight, 40, is over the
  // limit the 429 proved), then the 418's Retry-After (30 s) in the next window.
  const std::vector<int64_t> sleeps = clock.sleeps();
  CHECK(sleeps == std::vector<int64_t>{7000, 52000, 30000});
  auto st = (*rate)->Read();
  REQUIRE(st.ok());
  CHECK(st->limit == 39);  // the 429 came at a used weight of 40, under the assumed 6000
}

TEST_CASE("ExchangeClient: a 4xx is final, a deadline gives up and a stop ends the waits") {
  FakeHttpClient http;
  http.Set(kUrl, 404, "");
  ManualClock clock(kT0);
  ExchangeClient c(http, nullptr, clock, {.seed = 1});
  Fetched f = c.Get("time", kUrl, 1, NeedJson);
  CHECK(f.kind == Fetched::kFinal);
  CHECK(f.attempts == 1);
  CHECK(f.error.find("HTTP 404") != std::string::npos);

  http.Set(kUrl, 502, "<html>bad gateway</html>");
  ExchangeClient bounded(
      http, nullptr, clock,
      {.backoff_base_ms = 1000, .backoff_max_ms = 60000, .give_up_after_ms = 300000, .seed = 1});
  const int64_t before = clock.WallNowMs();
  f = bounded.Get("time", kUrl, 1, NeedJson);
  CHECK(f.kind == Fetched::kGaveUp);
  CHECK(clock.WallNowMs() - before == 300000);  // never waits past the deadline
  CHECK(f.error.find("giving up") != std::string::npos);

  clock.RequestStop();
  ExchangeClient forever(http, nullptr, clock, {.seed = 1});
  f = forever.Get("time", kUrl, 1, NeedJson);
  CHECK(f.kind == Fetched::kStopped);
}

}  // namespace
}  // namespace qlir::planner
