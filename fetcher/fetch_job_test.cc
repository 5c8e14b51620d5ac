#include "fetcher/fetch_job.h"

#include <catch2/catch.hpp>

#include "common/endpoint.h"
#include "tests/fake_http_client.h"
#include "tests/test_util.h"
#include "tests/testdata.h"

using namespace qlir;
using namespace qlir::fetcher;
using qlir::klines::KlineSliceKey;
using qlir::testing::FakeHttpClient;
using qlir::testing::HttpAnswer;
using qlir::testing::ScratchDir;
using qlir::testing::TransportError;

namespace {

constexpr int64_t kT0 = 1700000040000;  // a minute boundary, local "now" at start

const Endpoint& Klines() { return *FindEndpoint("klines"); }

constexpr const char* kBaseUrl = "http://sim.test";

// 10 one-minute candles from 2023-01-01 00:00 UTC: [1672531200000, 1672531799999].
KlineSliceKey Key() { return KlineSliceKey{"BTCUSDT", "1m", 1672531200000, 1672531799999, 10}; }

std::string Body(int rows) {
  std::string b = "[";
  for (int i = 0; i < rows; ++i) {
    int64_t t = 1672531200000 + i * 60000LL;
    b += (i ? "," : "") + std::string("[") + std::to_string(t) +
         ",\"1.0\",\"1.0\",\"1.0\",\"1.0\",\"0.0\"," + std::to_string(t + 59999) +
         ",\"0.0\",0,\"0.0\",\"0.0\",\"0\"]";
  }
  return b + "]";
}

constexpr int64_t kAfter = 1672531800000;   // window closed
constexpr int64_t kDuring = 1672531500000;  // window still open

struct Harness {
  Harness(int max_attempts = 5, RateLimiterOptions ro = {.weight_limit = 6000, .window_ms = 60000})
      : clock(kT0), backoff(100, 1000, 7) {
    auto r = SharedRateState::Open((dir.path() / "rate.state").string(), ro);
    REQUIRE(r.ok());
    rate = std::move(*r);
    options.base_url = kBaseUrl;
    options.max_attempts = max_attempts;
    // The exchange's clock reads 0 unless a test sets it; an answer beyond the queue is a
    // transport error.
    http.SetServerTime(kBaseUrl, 0);
    http.SetUnscripted(TransportError("script exhausted"));
  }
  JobOutcome Run(const KlineSliceKey& key = Key()) {
    return RunFetchJob(Klines(), key, options, FetchJobDeps{&http, rate.get(), &clock, &backoff});
  }
  ScratchDir dir;
  ManualClock clock;
  Backoff backoff;
  FakeHttpClient http;
  std::unique_ptr<SharedRateState> rate;
  FetchJobOptions options;
};

}  // namespace

TEST_CASE("classification of responses", "[fetch_job][classify]") {
  const KlineSliceKey k = Key();
  CHECK(Classify(HttpAnswer(200, Body(10)), Klines(), k).verdict == Verdict::kOk);
  CHECK(Classify(HttpAnswer(200, "[]"), Klines(), k).verdict == Verdict::kOk);
  CHECK(Classify(HttpAnswer(200, Body(11)), Klines(), k).verdict ==
        Verdict::kRetry);  // > limit and > window
  CHECK(Classify(HttpAnswer(200, "<html>oops</html>"), Klines(), k).verdict == Verdict::kRetry);
  CHECK(Classify(HttpAnswer(200, "[[1672531200000,"), Klines(), k).verdict == Verdict::kRetry);
  CHECK(Classify(TransportError("Timeout was reached"), Klines(), k).verdict == Verdict::kRetry);
  CHECK(Classify(HttpAnswer(500, "<html>500</html>"), Klines(), k).verdict == Verdict::kRetry);
  CHECK(Classify(HttpAnswer(502, ""), Klines(), k).verdict == Verdict::kRetry);
  CHECK(Classify(HttpAnswer(503, "{\"code\":-1008,\"msg\":\"busy\"}"), Klines(), k).verdict ==
        Verdict::kRetry);
  CHECK(Classify(HttpAnswer(504, "{\"code\":-1007,\"msg\":\"Timeout\"}"), Klines(), k).verdict ==
        Verdict::kRetry);
  CHECK(Classify(HttpAnswer(408, ""), Klines(), k).verdict == Verdict::kRetry);
  CHECK(Classify(HttpAnswer(301, ""), Klines(), k).verdict == Verdict::kRetry);
  CHECK(Classify(HttpAnswer(429, ""), Klines(), k).verdict == Verdict::kRateLimited);
  CHECK(Classify(HttpAnswer(418, ""), Klines(), k).verdict == Verdict::kBanned);
  for (int st : {400, 403, 404, 451}) {
    CHECK(Classify(HttpAnswer(st, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}"), Klines(), k)
              .verdict == Verdict::kPermanent);
  }
  auto c = Classify(HttpAnswer(400, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}"), Klines(), k);
  CHECK(c.error == "HTTP 400: code -1121: Invalid symbol.");
  CHECK(DescribeHttpError(502, "<html>\n<b>bad</b></html>") ==
        "HTTP 502: <html> <b>bad</b></html>");
}

TEST_CASE("a valid body after the window closed is ok, with the Date header as server time",
          "[fetch_job]") {
  Harness h;
  h.http.Queue({HttpAnswer(200, Body(10), kAfter, {{"x-mbx-used-weight-1m", "2"}})});
  JobOutcome o = h.Run();
  REQUIRE_FALSE(o.handed_back);
  const auto& r = o.result;
  CHECK(r.outcome == "ok");
  CHECK(r.attempts == 1);
  CHECK(r.http_status == 200);
  CHECK(r.n_items == 10);
  CHECK(r.first_ts == 1672531200000);
  CHECK(r.last_ts == 1672531740000);
  CHECK(r.server_time_ms == kAfter);
  CHECK(r.body == Body(10));
  CHECK(r.endpoint == "klines");
  CHECK(r.key == Key().composite_key());
  CHECK(r.url == klines::BuildKlineUrl("http://sim.test", Key()));
  REQUIRE(h.http.requests().size() == 1);
  CHECK(h.http.requests()[0] == r.url);
  CHECK(h.rate->Read()->used == 2);
}

TEST_CASE("a window still open by the exchange's clock is partial", "[fetch_job]") {
  Harness h;
  h.http.Queue({HttpAnswer(200, Body(5), kDuring)});
  auto o = h.Run();
  CHECK(o.result.outcome == "partial");
  CHECK(o.result.server_time_ms == kDuring);
  // end_ms itself is not yet closed: closed iff server time > end_ms.
  Harness h2;
  h2.http.Queue({HttpAnswer(200, Body(10), Key().end_ms)});
  CHECK(h2.Run().result.outcome == "partial");
}

TEST_CASE("without a Date header the server time comes from /api/v3/time", "[fetch_job]") {
  Harness h;
  h.http.SetServerTime(kBaseUrl, kAfter + 5);
  h.http.Queue({HttpAnswer(200, "[]")});
  auto o = h.Run();
  CHECK(o.result.outcome == "ok");
  CHECK(o.result.n_items == 0);
  CHECK(o.result.first_ts == -1);
  CHECK(o.result.server_time_ms == kAfter + 5);
  REQUIRE(h.http.requests().size() == 2);
  CHECK(h.http.requests()[1] == "http://sim.test/api/v3/time");
  CHECK(h.rate->Read()->used == 3);  // klines 2 + time 1
}

TEST_CASE("every retryable failure is retried with growing backoff", "[fetch_job]") {
  Harness h(10);
  h.http.SetQueue({TransportError("Connection reset by peer"),
                   HttpAnswer(500, "<html><body>Internal Server Error</body></html>"),
                   HttpAnswer(504, "{\"code\":-1007,\"msg\":\"Timeout waiting for response\"}"),
                   HttpAnswer(200, "<html>maintenance</html>"),
                   HttpAnswer(200, "[[1672531200000,\"1.0\""), HttpAnswer(200, Body(11)),
                   HttpAnswer(200, Body(10), kAfter)});
  auto o = h.Run();
  CHECK(o.result.outcome == "ok");
  CHECK(o.result.attempts == 7);
  auto sleeps = h.clock.sleeps();
  REQUIRE(sleeps.size() == 6);
  for (size_t i = 0; i < sleeps.size(); ++i) {
    CHECK(sleeps[i] >= h.backoff.CeilingMs(static_cast<int>(i + 1)) / 2);
    CHECK(sleeps[i] <= h.backoff.CeilingMs(static_cast<int>(i + 1)));
  }
}

TEST_CASE("after max attempts the failure is reported with status and error", "[fetch_job]") {
  Harness h(3);
  for (int i = 0; i < 5; ++i) h.http.Queue({HttpAnswer(503, "<html>busy</html>")});
  auto o = h.Run();
  REQUIRE_FALSE(o.handed_back);
  CHECK(o.result.outcome == "failed");
  CHECK(o.result.attempts == 3);
  CHECK(o.result.http_status == 503);
  CHECK(o.result.error == "HTTP 503: <html>busy</html>");
  CHECK(o.result.body.empty());
  CHECK(h.http.requests().size() == 3);

  Harness h2(2);
  h2.http.SetQueue({HttpAnswer(200, "{}"), HttpAnswer(200, "{}")});
  auto o2 = h2.Run();
  CHECK(o2.result.outcome == "failed");
  CHECK(o2.result.error.starts_with("invalid body:"));
}

TEST_CASE("other 4xx fail at once with the exchange's message", "[fetch_job]") {
  Harness h;
  h.http.Queue({HttpAnswer(400, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", kAfter)});
  auto o = h.Run();
  CHECK(o.result.outcome == "failed");
  CHECK(o.result.attempts == 1);
  CHECK(o.result.http_status == 400);
  CHECK(o.result.error == "HTTP 400: code -1121: Invalid symbol.");
  CHECK(h.clock.sleeps().empty());
}

TEST_CASE("429 waits Retry-After and is not an attempt", "[fetch_job]") {
  Harness h(1);
  h.http.SetQueue({HttpAnswer(429, "{\"code\":-1003,\"msg\":\"Too much request weight used\"}", -1,
                              {{"retry-after", "7"}, {"x-mbx-used-weight-1m", "6001"}}),
                   HttpAnswer(200, Body(10), kAfter)});
  auto o = h.Run();
  CHECK(o.result.outcome == "ok");
  CHECK(o.result.attempts == 1);
  // Retry-After first; then the header said 6001 used in this window, so the rest of it.
  auto sleeps = h.clock.sleeps();
  REQUIRE(sleeps.size() == 2);
  CHECK(sleeps[0] == 7000);
  CHECK(sleeps[1] == 53000);
}

TEST_CASE("418 waits until the ban is over", "[fetch_job]") {
  Harness h(1);
  h.http.SetQueue(
      {HttpAnswer(418, "{\"code\":-1003,\"msg\":\"Way too much request weight used; IP banned\"}",
                  -1, {{"retry-after", "120"}}),
       HttpAnswer(200, Body(10), kAfter)});
  auto o = h.Run();
  CHECK(o.result.outcome == "ok");
  auto sleeps = h.clock.sleeps();
  REQUIRE(sleeps.size() == 1);
  CHECK(sleeps[0] == 120000);
  CHECK(h.http.requests().size() == 2);
}

TEST_CASE("a used-weight header at the budget holds the next request to the next window",
          "[fetch_job]") {
  Harness h(5, {.weight_limit = 100, .window_ms = 60000});
  h.clock.Set(kT0 + 20000);
  h.http.SetQueue({HttpAnswer(200, Body(10), kAfter, {{"x-mbx-used-weight-1m", "99"}}),
                   HttpAnswer(200, Body(10), kAfter, {{"x-mbx-used-weight-1m", "2"}})});
  CHECK(h.Run().result.outcome == "ok");
  CHECK(h.clock.sleeps().empty());
  CHECK(h.Run().result.outcome == "ok");
  auto sleeps = h.clock.sleeps();
  REQUIRE(sleeps.size() == 1);
  CHECK(sleeps[0] == 40000);  // to the minute boundary
}

TEST_CASE("a stop during backoff hands the job back", "[fetch_job]") {
  Harness h;
  h.http.SetQueue({HttpAnswer(500, "x"), HttpAnswer(200, Body(10), kAfter)});
  h.http.SetOnGet([&](const std::string&) { h.clock.RequestStop(); });
  auto o = h.Run();
  CHECK(o.handed_back);
  CHECK(h.http.requests().size() == 1);
}

TEST_CASE("a stop during the request still delivers a good answer", "[fetch_job]") {
  Harness h;
  h.http.SetQueue({HttpAnswer(200, Body(10), kAfter)});
  h.http.SetOnGet([&](const std::string&) { h.clock.RequestStop(); });
  auto o = h.Run();
  REQUIRE_FALSE(o.handed_back);
  CHECK(o.result.outcome == "ok");
}

TEST_CASE("the real 500-row body passes through a job", "[fetch_job]") {
  const std::string body = qlir::testing::ReadTestData(qlir::testing::kRestKlines30m500Rows);
  KlineSliceKey key{"BTCUSDT", "30m", 1554991200000 - 1800000,
                    1554991200000 - 1800000 + 1000 * 1800000LL - 1, 1000};
  Harness h;
  h.http.SetQueue({HttpAnswer(200, body, 1700000000000)});
  auto o = h.Run(key);
  CHECK(o.result.outcome == "ok");
  CHECK(o.result.n_items == 500);
  CHECK(o.result.body == body);
}

TEST_CASE("each endpoint goes to its own exchange host unless --base-url names another",
          "[fetch_job]") {
  const qlir::Endpoint& klines = *qlir::FindEndpoint("klines");
  const qlir::Endpoint& funding = *qlir::FindEndpoint("fundingRate");
  FetchJobOptions o;
  CHECK(BaseUrlFor(o, klines) == "https://api.binance.com");
  CHECK(BaseUrlFor(o, funding) == "https://fapi.binance.com");
  o.base_url = "http://127.0.0.1:9";
  CHECK(BaseUrlFor(o, klines) == "http://127.0.0.1:9");
  CHECK(BaseUrlFor(o, funding) == "http://127.0.0.1:9");
}
