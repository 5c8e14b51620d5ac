#include "tools/exchange-sim/api.h"

#include <charconv>

#include "common/json.h"
#include "common/klines/interval.h"

namespace qlir::sim {
namespace {

constexpr const char* kDigitsRange = "'^[0-9]{1,20}$'";

ApiError Mandatory(const std::string& name) {
  return BadRequest(
      -1102, "Mandatory parameter '" + name + "' was not sent, was empty/null, or malformed.");
}

bool AllDigits(const std::string& s) {
  return !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
}

// Zero offsets in the forms the exchange accepts: 0, +0, -0, 00:00, +00:00, 0:00 ...
bool IsZeroTimeZone(const std::string& tz) {
  std::string_view s = tz;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  const size_t colon = s.find(':');
  std::string_view h = s.substr(0, colon);
  std::string_view m = colon == std::string_view::npos ? "" : s.substr(colon + 1);
  if (h.empty() || h.size() > 2 || (colon != std::string_view::npos && m.size() != 2)) {
    return false;
  }
  for (char c : h) {
    if (c != '0') return false;
  }
  for (char c : m) {
    if (c != '0') return false;
  }
  return true;
}

const SymbolSpec* FindSymbol(const std::vector<SymbolSpec>& symbols, const std::string& name) {
  for (const SymbolSpec& s : symbols) {
    if (s.symbol == name) return &s;
  }
  return nullptr;
}

std::optional<ApiError> CheckDuplicatesAndUnknown(const Params& params,
                                                  std::initializer_list<const char*> known) {
  size_t read = 0;
  for (auto it = params.begin(); it != params.end(); it = params.upper_bound(it->first)) {
    if (params.count(it->first) > 1)
      return BadRequest(-1101, "Duplicate values for a parameter detected.");
  }
  for (const auto& [key, value] : params) {
    for (const char* k : known) {
      if (key == k) {
        ++read;
        break;
      }
    }
  }
  if (read != params.size()) {
    return BadRequest(-1104, "Not all sent parameters were read; read '" + std::to_string(read) +
                                 "' parameter(s) but was sent '" + std::to_string(params.size()) +
                                 "'.");
  }
  return std::nullopt;
}

nlohmann::ordered_json SymbolJson(const SymbolSpec& s, int64_t now_ms) {
  const bool trading = s.listing_ms <= now_ms && !(s.delisting_ms && *s.delisting_ms <= now_ms);
  return {
      {"symbol", s.symbol},
      {"status", trading ? "TRADING" : "BREAK"},
      {"baseAsset", s.base_asset},
      {"baseAssetPrecision", 8},
      {"quoteAsset", s.quote_asset},
      {"quotePrecision", 8},
      {"quoteAssetPrecision", 8},
      {"baseCommissionPrecision", 8},
      {"quoteCommissionPrecision", 8},
      {"orderTypes", {"LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}},
      {"icebergAllowed", true},
      {"ocoAllowed", true},
      {"otoAllowed", true},
      {"quoteOrderQtyMarketAllowed", true},
      {"allowTrailingStop", true},
      {"cancelReplaceAllowed", true},
      {"isSpotTradingAllowed", trading},
      {"isMarginTradingAllowed", false},
      {"filters", nlohmann::ordered_json::array()},
      {"permissions", nlohmann::ordered_json::array()},
      {"permissionSets", {{"SPOT"}}},
      {"defaultSelfTradePreventionMode", "EXPIRE_MAKER"},
      {"allowedSelfTradePreventionModes", {"EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"}}};
}

}  // namespace

ApiError BadRequest(int code, std::string msg) { return ApiError{400, code, std::move(msg)}; }

const std::string* FindParam(const Params& p, const std::string& key) {
  auto it = p.find(key);
  return it == p.end() ? nullptr : &it->second;
}

std::string ApiError::Json() const {
  nlohmann::ordered_json j = {{"code", code}, {"msg", msg}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::variant<KlinesRequest, ApiError> ParseKlinesParams(const Params& params,
                                                        const std::vector<SymbolSpec>& symbols) {
  if (auto e = CheckDuplicatesAndUnknown(
          params, {"symbol", "interval", "startTime", "endTime", "limit", "timeZone"})) {
    return *e;
  }
  const std::string* symbol = FindParam(params, "symbol");
  if (symbol == nullptr || symbol->empty()) return Mandatory("symbol");
  const std::string* interval = FindParam(params, "interval");
  if (interval == nullptr || interval->empty()) return Mandatory("interval");
  for (const char* name : {"startTime", "endTime", "limit", "timeZone"}) {
    const std::string* v = FindParam(params, name);
    if (v != nullptr && v->empty())
      return BadRequest(-1105, std::string("Parameter '") + name + "' was empty.");
  }
  for (const char* name : {"startTime", "endTime", "limit"}) {
    const std::string* v = FindParam(params, name);
    if (v != nullptr && !AllDigits(*v)) {
      return BadRequest(-1100, std::string("Illegal characters found in parameter '") + name +
                                   "'; legal range is " + kDigitsRange + ".");
    }
  }
  KlinesRequest r;
  r.spec = FindSymbol(symbols, *symbol);
  if (r.spec == nullptr) return BadRequest(-1121, "Invalid symbol.");
  Result<int64_t> iv = klines::IntervalToMs(*interval);
  if (!iv.ok()) return BadRequest(-1120, "Invalid interval.");
  r.interval = *interval;
  r.window.interval_ms = *iv;

  auto invalid = [](const char* name) {
    return BadRequest(-1130, std::string("Data sent for parameter '") + name + "' is not valid.");
  };
  auto number = [&](const char* name, std::optional<int64_t>* out) -> bool {
    const std::string* v = FindParam(params, name);
    if (v == nullptr) return true;
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size()) return false;
    *out = n;
    return true;
  };
  std::optional<int64_t> limit;
  if (!number("limit", &limit)) return invalid("limit");
  if (limit && (*limit < 1 || *limit > 1000)) return invalid("limit");
  r.window.limit = limit ? static_cast<int>(*limit) : 500;
  if (!number("startTime", &r.window.start_ms)) return invalid("startTime");
  if (!number("endTime", &r.window.end_ms)) return invalid("endTime");
  if (const std::string* tz = FindParam(params, "timeZone");
      tz != nullptr && !IsZeroTimeZone(*tz)) {
    return invalid("timeZone");
  }
  if (r.window.start_ms && r.window.end_ms && *r.window.start_ms > *r.window.end_ms) {
    return BadRequest(-1023, "Start time is greater than end time.");
  }
  return r;
}

std::variant<AggTradesRequest, ApiError> ParseAggTradesParams(
    const Params& params, const std::vector<SymbolSpec>& symbols) {
  if (auto e = CheckDuplicatesAndUnknown(params,
                                         {"symbol", "fromId", "startTime", "endTime", "limit"})) {
    return *e;
  }
  const std::string* symbol = FindParam(params, "symbol");
  if (symbol == nullptr || symbol->empty()) return Mandatory("symbol");
  constexpr const char* kNumbers[] = {"fromId", "startTime", "endTime", "limit"};
  for (const char* name : kNumbers) {
    const std::string* v = FindParam(params, name);
    if (v != nullptr && v->empty())
      return BadRequest(-1105, std::string("Parameter '") + name + "' was empty.");
  }
  for (const char* name : kNumbers) {
    const std::string* v = FindParam(params, name);
    if (v != nullptr && !AllDigits(*v)) {
      return BadRequest(-1100, std::string("Illegal characters found in parameter '") + name +
                                   "'; legal range is " + kDigitsRange + ".");
    }
  }
  AggTradesRequest r;
  r.spec = FindSymbol(symbols, *symbol);
  if (r.spec == nullptr) return BadRequest(-1121, "Invalid symbol.");
  std::optional<int64_t> values[4];
  for (int i = 0; i < 4; ++i) {
    const std::string* v = FindParam(params, kNumbers[i]);
    if (v == nullptr) continue;
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size()) {
      return BadRequest(-1130,
                        std::string("Data sent for parameter '") + kNumbers[i] + "' is not valid.");
    }
    values[i] = n;
  }
  const std::optional<int64_t>& limit = values[3];
  if (limit && (*limit < 1 || *limit > 1000)) {
    return BadRequest(-1130, "Data sent for parameter 'limit' is not valid.");
  }
  r.window.from_id = values[0];
  r.window.start_ms = values[1];
  r.window.end_ms = values[2];
  r.window.limit = limit ? static_cast<int>(*limit) : 500;
  if (r.window.from_id && (r.window.start_ms || r.window.end_ms)) {
    return BadRequest(-1128, "Combination of optional parameters invalid.");
  }
  if (r.window.start_ms && r.window.end_ms && *r.window.start_ms > *r.window.end_ms) {
    return BadRequest(-1023, "Start time is greater than end time.");
  }
  return r;
}

std::string AggTradesWindowKey(const Params& params) {
  auto get = [&](const char* key) {
    const std::string* v = FindParam(params, key);
    return v == nullptr ? std::string() : *v;
  };
  const std::string from = get("fromId");
  const std::string limit = get("limit");
  if (from.empty()) {
    return get("symbol") + ":time:" + get("startTime") + "-" + get("endTime") + ":" + limit;
  }
  std::string last;
  int64_t f = 0;
  int64_t n = 0;
  if (AllDigits(from) && AllDigits(limit) &&
      std::from_chars(from.data(), from.data() + from.size(), f).ec == std::errc() &&
      std::from_chars(limit.data(), limit.data() + limit.size(), n).ec == std::errc() && n >= 1 &&
      f <= INT64_MAX - n) {
    last = std::to_string(f + n - 1);
  }
  return get("symbol") + ":id:" + from + "-" + last + ":" + limit;
}

std::string KlinesWindowKey(const Params& params) {
  auto get = [&](const char* key) {
    const std::string* v = FindParam(params, key);
    return v == nullptr ? std::string() : *v;
  };
  return get("symbol") + ":" + get("interval") + ":" + get("startTime") + "-" + get("endTime") +
         ":" + get("limit");
}

std::variant<std::string, ApiError> ExchangeInfo(const Params& params,
                                                 const std::vector<SymbolSpec>& symbols,
                                                 const RateLimitConfig& limits, int64_t now_ms) {
  if (auto e = CheckDuplicatesAndUnknown(
          params, {"symbol", "symbols", "permissions", "showPermissionSets", "symbolStatus"})) {
    return *e;
  }
  const std::string* one = FindParam(params, "symbol");
  const std::string* many = FindParam(params, "symbols");
  const std::string* status = FindParam(params, "symbolStatus");
  if ((one != nullptr && many != nullptr) ||
      (status != nullptr && (one != nullptr || many != nullptr))) {
    return BadRequest(-1128, "Combination of optional parameters invalid.");
  }
  if (status != nullptr && *status != "TRADING" && *status != "HALT" && *status != "BREAK" &&
      *status != "END_OF_DAY" && *status != "CANCEL_ONLY") {
    return BadRequest(-1122, "Invalid symbolStatus.");
  }
  for (const char* name : {"symbol", "symbols"}) {
    const std::string* v = FindParam(params, name);
    if (v != nullptr && v->empty())
      return BadRequest(-1105, std::string("Parameter '") + name + "' was empty.");
  }
  std::vector<const SymbolSpec*> chosen;
  if (one != nullptr) {
    const SymbolSpec* s = FindSymbol(symbols, *one);
    if (s == nullptr) return BadRequest(-1121, "Invalid symbol.");
    chosen.push_back(s);
  } else if (many != nullptr) {
    nlohmann::json list;
    try {
      list = nlohmann::json::parse(*many);
    } catch (const std::exception&) {
      list = nullptr;
    }
    if (!list.is_array() || list.empty()) {
      return BadRequest(-1100,
                        "Illegal characters found in parameter 'symbols'; legal range is "
                        "'^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.");
    }
    for (const auto& name : list) {
      const SymbolSpec* s =
          name.is_string() ? FindSymbol(symbols, name.get<std::string>()) : nullptr;
      if (s == nullptr) return BadRequest(-1121, "Invalid symbol.");
      chosen.push_back(s);
    }
  } else {
    for (const SymbolSpec& s : symbols) chosen.push_back(&s);
  }

  // The exchange states its limit per 1 MINUTE; a shorter test window is stated in seconds.
  nlohmann::ordered_json weight = {{"rateLimitType", "REQUEST_WEIGHT"}};
  if (limits.window_ms % 60'000 == 0) {
    weight["interval"] = "MINUTE";
    weight["intervalNum"] = limits.window_ms / 60'000;
  } else {
    weight["interval"] = "SECOND";
    weight["intervalNum"] = std::max<int64_t>(1, limits.window_ms / 1000);
  }
  weight["limit"] = limits.weight_limit;
  nlohmann::ordered_json j = {{"timezone", "UTC"},
                              {"serverTime", now_ms},
                              {"rateLimits",
                               {weight,
                                {{"rateLimitType", "RAW_REQUESTS"},
                                 {"interval", "MINUTE"},
                                 {"intervalNum", 5},
                                 {"limit", 300000}}}},
                              {"exchangeFilters", nlohmann::ordered_json::array()},
                              {"symbols", nlohmann::ordered_json::array()}};
  for (const SymbolSpec* s : chosen) {
    nlohmann::ordered_json sj = SymbolJson(*s, now_ms);
    if (status == nullptr || sj["status"] == *status) j["symbols"].push_back(std::move(sj));
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ApiError TooManyRequests(const RateLimitConfig& limits) {
  std::string per;
  if (limits.window_ms % 60'000 == 0) {
    per = std::to_string(limits.window_ms / 60'000) + " MINUTE";
  } else if (limits.window_ms % 1000 == 0) {
    per = std::to_string(limits.window_ms / 1000) + " SECOND";
  } else {
    per = std::to_string(limits.window_ms) + " MILLISECOND";
  }
  return ApiError{429, -1003,
                  "Too much request weight used; current limit is " +
                      std::to_string(limits.weight_limit) + " request weight per " + per +
                      ". Please use WebSocket Streams for live updates to avoid polling the API."};
}

ApiError Banned(int64_t banned_until_ms) {
  return ApiError{418, -1003,
                  "Way too much request weight used; IP banned until " +
                      std::to_string(banned_until_ms) +
                      ". Please use WebSocket Streams for live updates to avoid bans."};
}

ApiError BackendTimeout() {
  return ApiError{504, -1007,
                  "Timeout waiting for response from backend server. Send status unknown; "
                  "execution status unknown."};
}

}  // namespace qlir::sim

namespace qlir::sim {

ApiError FundingTooManyRequests(const RateLimitConfig& limits) {
  return ApiError{429, -1003,
                  "Too many requests; current limit of fundingRate is " +
                      std::to_string(limits.weight_limit) + " requests per " +
                      std::to_string(limits.window_ms / 1000) + " SECOND."};
}

}  // namespace qlir::sim
