#include "tools/exchange-sim/api.h"

#include <catch2/catch.hpp>

#include "common/json.h"
#include "tools/exchange-sim/config.h"

namespace qlir::sim {
namespace {

const std::vector<SymbolSpec>& Symbols() {
  static const std::vector<SymbolSpec> s = DefaultSymbols();
  return s;
}

// The error code for a query, or 0 when it is valid.
int Code(const Params& p) {
  auto r = ParseKlinesParams(p, Symbols());
  if (const ApiError* e = std::get_if<ApiError>(&r)) return e->code;
  return 0;
}

Params Base() { return {{"symbol", "BTCUSDT"}, {"interval", "1m"}}; }

Params With(Params p, const std::string& k, const std::string& v) {
  p.emplace(k, v);
  return p;
}

TEST_CASE("klines parameter defaults") {
  auto r = ParseKlinesParams(Base(), Symbols());
  REQUIRE(std::holds_alternative<KlinesRequest>(r));
  const KlinesRequest& k = std::get<KlinesRequest>(r);
  CHECK(k.spec->symbol == "BTCUSDT");
  CHECK(k.window.limit == 500);
  CHECK(k.window.interval_ms == 60'000);
  CHECK_FALSE(k.window.start_ms);
  CHECK_FALSE(k.window.end_ms);
  auto full = ParseKlinesParams(
      With(With(With(Base(), "startTime", "5"), "endTime", "5"), "limit", "1000"), Symbols());
  REQUIRE(std::holds_alternative<KlinesRequest>(full));
  CHECK(std::get<KlinesRequest>(full).window.limit == 1000);
  CHECK(*std::get<KlinesRequest>(full).window.start_ms == 5);
  CHECK(Code(With(Base(), "timeZone", "0")) == 0);
  CHECK(Code(With(Base(), "timeZone", "+00:00")) == 0);
}

TEST_CASE("klines parameter errors carry the exchange's codes") {
  CHECK(Code({{"interval", "1m"}}) == -1102);
  CHECK(Code({{"symbol", "BTCUSDT"}}) == -1102);
  CHECK(Code({{"symbol", ""}, {"interval", "1m"}}) == -1102);
  CHECK(Code({{"symbol", "NOPEUSDT"}, {"interval", "1m"}}) == -1121);
  CHECK(Code({{"symbol", "btcusdt"}, {"interval", "1m"}}) == -1121);
  CHECK(Code({{"symbol", "BTCUSDT"}, {"interval", "1M"}}) == -1120);
  CHECK(Code({{"symbol", "BTCUSDT"}, {"interval", "2m"}}) == -1120);
  CHECK(Code(With(Base(), "limit", "1001")) == -1130);
  CHECK(Code(With(Base(), "limit", "0")) == -1130);
  CHECK(Code(With(Base(), "limit", "-1")) == -1100);
  CHECK(Code(With(Base(), "endTime", "None")) == -1100);
  CHECK(Code(With(Base(), "startTime", "1.5")) == -1100);
  CHECK(Code(With(Base(), "startTime", "123456789012345678901")) == -1100);
  CHECK(Code(With(Base(), "startTime", "99999999999999999999")) == -1130);
  CHECK(Code(With(Base(), "startTime", "")) == -1105);
  CHECK(Code(With(Base(), "limit", "")) == -1105);
  CHECK(Code(With(Base(), "foo", "1")) == -1104);
  CHECK(Code(With(Base(), "symbol", "ETHUSDT")) == -1101);
  CHECK(Code(With(Base(), "timeZone", "8")) == -1130);
  CHECK(Code(With(With(Base(), "startTime", "6"), "endTime", "5")) == -1023);

  auto r = ParseKlinesParams({{"symbol", "NOPE"}, {"interval", "1m"}}, Symbols());
  CHECK(std::get<ApiError>(r).Json() == R"({"code":-1121,"msg":"Invalid symbol."})");
  CHECK(std::get<ApiError>(r).http_status == 400);
  r = ParseKlinesParams({{"symbol", "BTCUSDT"}, {"interval", "1x"}}, Symbols());
  CHECK(std::get<ApiError>(r).Json() == R"({"code":-1120,"msg":"Invalid interval."})");
  r = ParseKlinesParams(With(Base(), "a", "1"), Symbols());
  CHECK(std::get<ApiError>(r).msg ==
        "Not all sent parameters were read; read '2' parameter(s) but was sent '3'.");
}

TEST_CASE("window keys follow the composite key format") {
  CHECK(KlinesWindowKey({{"symbol", "BTCUSDT"},
                         {"interval", "1m"},
                         {"startTime", "1609459200000"},
                         {"endTime", "1609519199999"},
                         {"limit", "1000"}}) == "BTCUSDT:1m:1609459200000-1609519199999:1000");
  CHECK(KlinesWindowKey({{"symbol", "BTCUSDT"}, {"interval", "1m"}}) == "BTCUSDT:1m:-:");
}

TEST_CASE("exchangeInfo: all one several errors") {
  RateLimitConfig limits;
  auto all = ExchangeInfo({}, Symbols(), limits, 1'700'000'000'000);
  const nlohmann::json j = nlohmann::json::parse(std::get<std::string>(all));
  CHECK(j["serverTime"] == 1'700'000'000'000);
  CHECK(j["symbols"].size() == Symbols().size());
  CHECK(j["rateLimits"][0]["limit"] == 6000);
  CHECK(j["rateLimits"][0]["interval"] == "MINUTE");

  auto one = ExchangeInfo({{"symbol", "LUNAUSDT"}}, Symbols(), limits, 1'700'000'000'000);
  const nlohmann::json o = nlohmann::json::parse(std::get<std::string>(one));
  REQUIRE(o["symbols"].size() == 1);
  CHECK(o["symbols"][0]["status"] == "BREAK");
  CHECK(o["symbols"][0]["baseAsset"] == "LUNA");

  auto two = ExchangeInfo({{"symbols", R"(["BTCUSDT","ETHUSDT"])"}}, Symbols(), limits, 0);
  CHECK(nlohmann::json::parse(std::get<std::string>(two))["symbols"].size() == 2);

  CHECK(std::get<ApiError>(ExchangeInfo({{"symbol", "NOPE"}}, Symbols(), limits, 0)).code == -1121);
  CHECK(
      std::get<ApiError>(ExchangeInfo({{"symbols", R"(["BTCUSDT","NOPE"])"}}, Symbols(), limits, 0))
          .code == -1121);
  CHECK(std::get<ApiError>(ExchangeInfo({{"symbols", "BTCUSDT"}}, Symbols(), limits, 0)).code ==
        -1100);
  CHECK(std::get<ApiError>(ExchangeInfo({{"x", "1"}}, Symbols(), limits, 0)).code == -1104);

  auto breaks = ExchangeInfo({{"symbolStatus", "BREAK"}}, Symbols(), limits, 1'700'000'000'000);
  const nlohmann::json b = nlohmann::json::parse(std::get<std::string>(breaks));
  REQUIRE(b["symbols"].size() == 1);
  CHECK(b["symbols"][0]["symbol"] == "LUNAUSDT");
  CHECK(std::get<ApiError>(ExchangeInfo({{"symbolStatus", "NOPE"}}, Symbols(), limits, 0)).code ==
        -1122);
  CHECK(std::get<ApiError>(
            ExchangeInfo({{"symbolStatus", "BREAK"}, {"symbol", "BTCUSDT"}}, Symbols(), limits, 0))
            .code == -1128);
}

TEST_CASE("rate-limit and timeout bodies") {
  RateLimitConfig limits;
  CHECK(TooManyRequests(limits).http_status == 429);
  CHECK(TooManyRequests(limits).code == -1003);
  CHECK(TooManyRequests(limits).msg.find("6000 request weight per 1 MINUTE") != std::string::npos);
  limits.window_ms = 2000;
  CHECK(TooManyRequests(limits).msg.find("per 2 SECOND") != std::string::npos);
  CHECK(Banned(123).http_status == 418);
  CHECK(Banned(123).msg.find("IP banned until 123") != std::string::npos);
  CHECK(
      BackendTimeout().Json() ==
      R"({"code":-1007,"msg":"Timeout waiting for response from backend server. Send status unknown; execution status unknown."})");
}

}  // namespace
}  // namespace qlir::sim
