#include "tools/exchange-sim/funding.h"

#include <catch2/catch.hpp>

#include "common/endpoint.h"
#include "common/json.h"
#include "tools/exchange-sim/config.h"

using namespace qlir::sim;

namespace {

const FuturesContract& Contract(const std::string& name) {
  for (const FuturesContract& c : DefaultFuturesContracts()) {
    if (c.symbol == name) return c;
  }
  throw std::runtime_error("no contract " + name);
}

constexpr int64_t kNow = 1790000000000;  // 2026-09-21
constexpr int64_t kHour = 3600000;

std::string Answer(const Params& p, int64_t now = kNow) {
  auto a = FundingRateAnswer(p, DefaultFuturesContracts(), now);
  REQUIRE(std::holds_alternative<std::string>(a));
  return std::get<std::string>(a);
}

int ErrorCode(const Params& p) {
  auto a = FundingRateAnswer(p, DefaultFuturesContracts(), kNow);
  REQUIRE(std::holds_alternative<ApiError>(a));
  return std::get<ApiError>(a).code;
}

}  // namespace

TEST_CASE("sim funding events: 8 h slots a few ms after the hour, deterministic", "[funding]") {
  const FuturesContract& btc = Contract("BTCUSDT");
  auto ev = FundingEvents(btc, 0, 1568200000000, kNow);
  REQUIRE(ev.size() == 4);  // 2019-09-10 08:00, 16:00, 09-11 00:00, 08:00
  CHECK(ev[0].funding_time / kHour * kHour == 1568102400000);
  for (size_t i = 0; i < ev.size(); ++i) {
    CHECK(ev[i].funding_time % kHour < 50);
    CHECK(ev[i].mark_price.empty());  // before 2023-10-31
    if (i > 0) CHECK(ev[i].funding_time / kHour - ev[i - 1].funding_time / kHour == 8);
  }
  auto again = FundingEvents(btc, 0, 1568200000000, kNow + 1000);
  REQUIRE(again.size() == ev.size());
  CHECK(again[3].rate == ev[3].rate);
  CHECK(FundingEvents(btc, 1790000000000, 1790100000000, kNow).size() <= 1);  // not after now
  auto late = FundingEvents(btc, 1785600000000, 1785700000000, kNow);
  REQUIRE_FALSE(late.empty());
  CHECK_FALSE(late[0].mark_price.empty());
}

TEST_CASE("sim funding: SOLUSDT goes from 8 h to 4 h, HYPEUSDT fills a window", "[funding]") {
  const FuturesContract& sol = Contract("SOLUSDT");
  const int64_t change = 1748736000000;  // 2025-06-01T00:00Z
  auto ev = FundingEvents(sol, change - 24 * kHour, change + 24 * kHour - 1, kNow);
  REQUIRE(ev.size() == 3 + 6);
  CHECK(ev[2].funding_time / kHour * kHour == change - 8 * kHour);
  CHECK(ev[3].funding_time / kHour * kHour == change);
  CHECK(ev[4].funding_time / kHour * kHour == change + 4 * kHour);
  // A whole 1000-hour window of a 1 h contract holds exactly 1000 events.
  const FuturesContract& hype = Contract("HYPEUSDT");
  const int64_t k = 1750000000000 / (1000 * kHour) + 1;
  CHECK(FundingEvents(hype, k * 1000 * kHour, (k + 1) * 1000 * kHour - 1, kNow).size() == 1000);
}

TEST_CASE("sim fundingRate answers: windows, limit, newest rows, errors", "[funding]") {
  const std::string body = Answer({{"symbol", "BTCUSDT"},
                                   {"startTime", "1566000000000"},
                                   {"endTime", "1569599999999"},
                                   {"limit", "1000"}});
  // The project's own validation accepts it for its slice.
  const qlir::Endpoint& e = *qlir::FindEndpoint("fundingRate");
  auto key = e.ParseKey("BTCUSDT:1h:1566000000000-1569599999999:1000");
  REQUIRE(key.ok());
  auto v = e.ValidatePayload(body, *key);
  REQUIRE(v.ok());
  CHECK(v->n_items == (1569599999999 - 1568102400000) / (8 * kHour) + 1);
  CHECK(v->first_ts / kHour * kHour == 1568102400000);
  CHECK(e.AuditPayload(body, *key).bad.empty());
  CHECK(e.AuditPayload(body, *key).irregular_rows == 0);

  // startTime=1: the first event; no startTime (or 0): the newest.
  auto first = e.ParseEdgeItem(Answer({{"symbol", "BTCUSDT"}, {"startTime", "1"}, {"limit", "1"}}));
  CHECK(first->value() / kHour * kHour == 1568102400000);
  auto last = e.ParseEdgeItem(Answer({{"symbol", "BTCUSDT"}, {"limit", "1"}}));
  CHECK(last->value() / kHour * kHour == (kNow / (8 * kHour)) * 8 * kHour);
  CHECK(Answer({{"symbol", "BTCUSDT"}, {"startTime", "0"}, {"limit", "1"}}) ==
        Answer({{"symbol", "BTCUSDT"}, {"limit", "1"}}));
  auto two = nlohmann::json::parse(Answer({{"symbol", "ETHUSDT"}, {"limit", "2"}}));
  CHECK(two.size() == 2);
  CHECK(two[0]["fundingTime"].get<int64_t>() < two[1]["fundingTime"].get<int64_t>());
  // Default limit 100.
  CHECK(nlohmann::json::parse(Answer({{"symbol", "ETHUSDT"}, {"startTime", "1"}})).size() == 100);
  // Before the first event: nothing.
  CHECK(Answer({{"symbol", "HYPEUSDT"}, {"startTime", "1"}, {"endTime", "1700000000000"}}) == "[]");

  CHECK(ErrorCode({{"symbol", "NOPE"}}) == -1121);
  CHECK(ErrorCode({{"symbol", "BTCUSDT_260327"}}) == -1121);  // no funding on delivery
  CHECK(ErrorCode({}) == -1102);
  CHECK(ErrorCode({{"symbol", "BTCUSDT"}, {"limit", "1001"}}) == -1130);
  CHECK(ErrorCode({{"symbol", "BTCUSDT"}, {"limit", ""}}) == -1105);
  CHECK(ErrorCode({{"symbol", "BTCUSDT"}, {"limit", "-1"}}) == -1100);
  CHECK(ErrorCode({{"symbol", "BTCUSDT"}, {"interval", "8h"}}) == -1104);
  CHECK(ErrorCode({{"symbol", "BTCUSDT"}, {"startTime", "5"}, {"endTime", "4"}}) == -1023);
  CHECK(ErrorCode({{"symbol", "BTCUSDT"}, {"symbol", "ETHUSDT"}}) == -1101);
}

TEST_CASE("sim futures exchangeInfo lists contracts with type, status and onboardDate",
          "[funding]") {
  RateLimitConfig w{2400, 60000, 120000, 10};
  auto j = nlohmann::json::parse(FuturesExchangeInfo(DefaultFuturesContracts(), w, kNow));
  CHECK(j["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT");
  CHECK(j["rateLimits"][0]["limit"] == 2400);
  CHECK(j["rateLimits"][0]["interval"] == "MINUTE");
  REQUIRE(j["symbols"].size() == 5);
  CHECK(j["symbols"][0]["symbol"] == "BTCUSDT");
  CHECK(j["symbols"][0]["contractType"] == "PERPETUAL");
  CHECK(j["symbols"][0]["status"] == "TRADING");
  CHECK(j["symbols"][0]["onboardDate"] == 1567965300000);
  CHECK(j["symbols"][4]["contractType"] == "CURRENT_QUARTER");
  // Before HYPEUSDT's onboarding it is not listed.
  auto early =
      nlohmann::json::parse(FuturesExchangeInfo(DefaultFuturesContracts(), w, 1700000000000));
  CHECK(early["symbols"].size() == 3);
}

TEST_CASE("sim flags: the futures weight and the funding limit", "[funding]") {
  auto c = ParseFlags({"--funding-limit", "50", "--funding-window-ms", "10000", "--window-ms",
                       "2000", "--futures-weight-limit", "100", "--ban-after", "3"});
  REQUIRE(c.ok());
  CHECK(c->funding_limits.weight_limit == 50);
  CHECK(c->funding_limits.window_ms == 10000);
  CHECK(c->funding_limits.ban_after == 3);
  CHECK(c->futures_limits.weight_limit == 100);
  CHECK(c->futures_limits.window_ms == 2000);
  auto d = ParseFlags({});
  REQUIRE(d.ok());
  CHECK(d->funding_limits.weight_limit == 500);
  CHECK(d->funding_limits.window_ms == 300000);
  CHECK(d->futures_limits.weight_limit == 2400);
  CHECK_FALSE(ParseFlags({"--funding-limit", "0"}).ok());
  CHECK(ParseFlags({"--fault-endpoints", "fundingRate"}).ok());
}
