// Configuration of the exchange simulator: command-line flags, the symbols file and the default
// symbol set. Flags and file format are documented in README.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tools/exchange-sim/candles.h"
#include "tools/exchange-sim/faults.h"
#include "tools/exchange-sim/rate_limiter.h"

namespace qlir::sim {

struct SimConfig {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port
  std::vector<SymbolSpec> symbols;
  RateLimitConfig limits;
  // USD-M futures (funding.h): the futures REQUEST_WEIGHT (exchangeInfo, time, ping on /fapi)
  // and fundingRate's own limit in requests; their ban settings are --ban-after and --ban-ms.
  RateLimitConfig futures_limits{2400, 60'000, 120'000, 10};
  RateLimitConfig funding_limits{500, 300'000, 120'000, 10};
  FaultConfig faults;
  int threads = 128;     // worker threads; each open connection holds one
  int keep_alive_s = 5;  // idle keep-alive connections are closed after this
  bool help = false;     // --help was given: print UsageText() and exit 0
};

// Parses flags (without argv[0]). Uses DefaultSymbols() unless --symbols-file or --symbol is
// given. Errors name the flag and the value.
Result<SimConfig> ParseFlags(const std::vector<std::string>& args);
std::string UsageText();

// BTCUSDT, ETHUSDT, BNBUSDT, LTCUSDT, DOGEUSDT, SOLUSDT with their real listing times, a few
// BTCUSDT/ETHUSDT gaps of docs/exchange-rules.md ("Known gaps"), and LUNAUSDT, delisted 2022-05-13.
std::vector<SymbolSpec> DefaultSymbols();

// {"symbols":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT","listing":"2017-08-17T04:00Z",
//   "delisting":null,"price":"30000","volume":"50","trades_per_minute":3,
//   "gaps":[{"start":..,"end":..}]}]}
// Times are ISO-8601 UTC text or integer ms; price and volume decimal text or numbers.
Result<std::vector<SymbolSpec>> ParseSymbolsJson(std::string_view json);
Result<std::vector<SymbolSpec>> LoadSymbolsFile(const std::string& path);
// --symbol NAME[,listing=T][,delisting=T][,gap=T1/T2]...[,price=P][,volume=V]
//          [,trades_per_minute=N][,base=B][,quote=Q]
Result<SymbolSpec> ParseSymbolFlag(std::string_view text);

// The symbols as JSON in the file format (GET /sim/config).
std::string SymbolsToJson(const std::vector<SymbolSpec>& symbols);

// Applies a JSON object with any of weight_limit, window_ms, ban_after, ban_ms on top of
// *limits (POST /sim/limits), with the flags' ranges. All or nothing.
Status ApplyLimitsJson(std::string_view json, RateLimitConfig* limits);
std::string LimitsToJson(const RateLimitConfig& limits);

// "30000.5" -> 3000050000000 (units of 1e-8); at most 8 fraction digits, non-negative.
Result<int64_t> ParseDecimal8(std::string_view text);

}  // namespace qlir::sim
