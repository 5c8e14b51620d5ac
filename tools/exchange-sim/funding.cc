#include "tools/exchange-sim/funding.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/json.h"
#include "tools/exchange-sim/mix.h"

namespace qlir::sim {
namespace {

constexpr int64_t kHour = 3600000;
constexpr int64_t kMaxJitterMs = 50;
constexpr int64_t kMarkPriceFrom = 1698739200000;  // 2023-10-31T08:00Z

uint64_t Hash(const std::string& symbol, int64_t slot, uint64_t salt) {
  return SplitMix64(Fnv1a(symbol) ^ SplitMix64(static_cast<uint64_t>(slot) ^ salt));
}

// units of 1e-8 as a decimal with 8 fraction digits: -12345 -> "-0.00012345".
std::string Decimal8(int64_t units) {
  std::string out = units < 0 ? "-" : "";
  const uint64_t u = units < 0 ? static_cast<uint64_t>(-units) : static_cast<uint64_t>(units);
  std::string frac = std::to_string(u % 100000000);
  out += std::to_string(u / 100000000) + "." + std::string(8 - frac.size(), '0') + frac;
  return out;
}

FundingEvent EventAt(const FuturesContract& c, int64_t slot) {
  FundingEvent e;
  e.funding_time = slot + static_cast<int64_t>(Hash(c.symbol, slot, 1) % kMaxJitterMs);
  // Mostly the default 0.0001, else -0.0001 .. 0.0003.
  const uint64_t h = Hash(c.symbol, slot, 2);
  const int64_t rate = h % 4 == 0 ? 10000 : static_cast<int64_t>(h % 40001) - 10000;
  e.rate = Decimal8(rate);
  if (slot >= kMarkPriceFrom) {
    const int64_t spread = std::max<int64_t>(1, c.price_units / 20);
    e.mark_price = Decimal8(c.price_units - spread / 2 +
                            static_cast<int64_t>(Hash(c.symbol, slot, 3) % spread));
  }
  return e;
}

int64_t Ms(const char* iso_utc_ymdh) {  // "YYYY-MM-DDTHH:MM"
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  std::sscanf(iso_utc_ymdh, "%d-%d-%dT%d:%d", &y, &mo, &d, &h, &mi);
  // days from civil (Howard Hinnant)
  y -= mo <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  return ((days * 24 + h) * 60 + mi) * 60000;
}

}  // namespace

const std::vector<FuturesContract>& DefaultFuturesContracts() {
  static const std::vector<FuturesContract> kContracts = [] {
    std::vector<FuturesContract> v;
    v.push_back({"BTCUSDT",
                 "PERPETUAL",
                 Ms("2019-09-08T17:55"),
                 Ms("2019-09-10T08:00"),
                 {{0, 8 * kHour}},
                 std::nullopt,
                 6000000000000});
    v.push_back({"ETHUSDT",
                 "PERPETUAL",
                 Ms("2019-11-27T07:45"),
                 Ms("2019-11-27T08:00"),
                 {{0, 8 * kHour}},
                 std::nullopt,
                 300000000000});
    v.push_back({"SOLUSDT",
                 "PERPETUAL",
                 Ms("2020-09-14T07:00"),
                 Ms("2020-09-13T16:00"),
                 {{0, 8 * kHour}, {Ms("2025-06-01T00:00"), 4 * kHour}},
                 std::nullopt,
                 15000000000});
    v.push_back({"HYPEUSDT",
                 "PERPETUAL",
                 Ms("2025-05-30T10:30"),
                 Ms("2025-05-30T12:00"),
                 {{0, kHour}},
                 std::nullopt,
                 3000000000});
    v.push_back({"BTCUSDT_260327",
                 "CURRENT_QUARTER",
                 Ms("2025-09-26T08:00"),
                 0,
                 {},
                 std::nullopt,
                 6000000000000});
    return v;
  }();
  return kContracts;
}

std::vector<FundingEvent> FundingEvents(const FuturesContract& c, int64_t start_ms, int64_t end_ms,
                                        int64_t now_ms) {
  std::vector<FundingEvent> out;
  if (c.intervals.empty()) return out;
  const int64_t hi = std::min(end_ms, now_ms);
  const int64_t lo = std::max(start_ms - kMaxJitterMs, c.first_event_ms);
  for (size_t i = 0; i < c.intervals.size(); ++i) {
    const int64_t iv = c.intervals[i].second;
    const int64_t seg_from = std::max(lo, c.intervals[i].first);
    int64_t seg_to = i + 1 < c.intervals.size() ? c.intervals[i + 1].first : INT64_MAX;
    if (c.delisting_ms) seg_to = std::min(seg_to, *c.delisting_ms);
    for (int64_t slot = (seg_from + iv - 1) / iv * iv; slot < seg_to && slot <= hi; slot += iv) {
      FundingEvent e = EventAt(c, slot);
      if (e.funding_time >= start_ms && e.funding_time <= hi) out.push_back(std::move(e));
    }
  }
  return out;
}

std::string FundingJson(const std::string& symbol, const std::vector<FundingEvent>& events) {
  std::string out = "[";
  for (const FundingEvent& e : events) {
    if (out.size() > 1) out += ',';
    out += "{\"symbol\":\"" + symbol + "\",\"fundingTime\":" + std::to_string(e.funding_time) +
           ",\"fundingRate\":\"" + e.rate + "\",\"markPrice\":\"" + e.mark_price + "\"}";
  }
  out += ']';
  return out;
}

std::variant<std::string, ApiError> FundingRateAnswer(const Params& params,
                                                      const std::vector<FuturesContract>& contracts,
                                                      int64_t now_ms) {
  for (auto it = params.begin(); it != params.end(); it = params.upper_bound(it->first)) {
    if (params.count(it->first) > 1) {
      return BadRequest(-1101, "Duplicate values for a parameter detected.");
    }
  }
  size_t read = 0;
  for (const char* k : {"symbol", "startTime", "endTime", "limit"}) read += params.count(k);
  if (read != params.size()) {
    return BadRequest(-1104, "Not all sent parameters were read; read '" + std::to_string(read) +
                                 "' parameter(s) but was sent '" + std::to_string(params.size()) +
                                 "'.");
  }
  const std::string* symbol = FindParam(params, "symbol");
  if (symbol == nullptr || symbol->empty()) {
    return BadRequest(-1102,
                      "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
  }
  std::optional<int64_t> values[3];
  const char* names[3] = {"startTime", "endTime", "limit"};
  for (int i = 0; i < 3; ++i) {
    const std::string* v = FindParam(params, names[i]);
    if (v == nullptr) continue;
    if (v->empty())
      return BadRequest(-1105, std::string("Parameter '") + names[i] + "' was empty.");
    if (v->size() > 20 || v->find_first_not_of("0123456789") != std::string::npos) {
      return BadRequest(-1100, std::string("Illegal characters found in parameter '") + names[i] +
                                   "'; legal range is '^[0-9]{1,20}$'.");
    }
  }
  const FuturesContract* c = nullptr;
  for (const FuturesContract& x : contracts) {
    if (x.symbol == *symbol && x.contract_type == "PERPETUAL") c = &x;
  }
  if (c == nullptr) return BadRequest(-1121, "Invalid symbol.");
  for (int i = 0; i < 3; ++i) {
    const std::string* v = FindParam(params, names[i]);
    if (v == nullptr) continue;
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size()) {
      return BadRequest(-1130,
                        std::string("Data sent for parameter '") + names[i] + "' is not valid.");
    }
    values[i] = n;
  }
  if (values[0] && *values[0] == 0) values[0].reset();  // startTime=0 reads as absent
  const int64_t limit = values[2].value_or(100);
  if (limit < 1 || limit > 1000) {
    return BadRequest(-1130, "Data sent for parameter 'limit' is not valid.");
  }
  if (values[0] && values[1] && *values[0] > *values[1]) {
    return BadRequest(-1023, "Start time is greater than end time.");
  }
  const int64_t end = values[1].value_or(INT64_MAX);
  std::vector<FundingEvent> events;
  if (values[0]) {
    events = FundingEvents(*c, *values[0], end, now_ms);
    if (static_cast<int64_t>(events.size()) > limit) events.resize(static_cast<size_t>(limit));
  } else {
    // The newest `limit`: at most 8 h apart, so they lie within limit * 8 h of the end.
    const int64_t hi = std::min(end, now_ms);
    events = FundingEvents(*c, std::max<int64_t>(0, hi - limit * 8 * kHour - kHour), hi, now_ms);
    if (static_cast<int64_t>(events.size()) > limit) {
      events.erase(events.begin(), events.end() - limit);
    }
  }
  return FundingJson(c->symbol, events);
}

std::string FuturesExchangeInfo(const std::vector<FuturesContract>& contracts,
                                const RateLimitConfig& futures_weight, int64_t now_ms) {
  nlohmann::ordered_json symbols = nlohmann::ordered_json::array();
  for (const FuturesContract& c : contracts) {
    if (c.onboard_ms > now_ms) continue;
    const bool trading = !(c.delisting_ms && *c.delisting_ms <= now_ms);
    const size_t quote = c.symbol.find("USDT");
    symbols.push_back({{"symbol", c.symbol},
                       {"pair", c.symbol.substr(0, quote + 4)},
                       {"contractType", c.contract_type},
                       {"deliveryDate", c.contract_type == "PERPETUAL" ? 4133404800000 : 0},
                       {"onboardDate", c.onboard_ms},
                       {"status", trading ? "TRADING" : "SETTLING"},
                       {"baseAsset", c.symbol.substr(0, quote)},
                       {"quoteAsset", "USDT"},
                       {"marginAsset", "USDT"},
                       {"pricePrecision", 2},
                       {"quantityPrecision", 3},
                       {"underlyingType", "COIN"},
                       {"filters", nlohmann::ordered_json::array()}});
  }
  const int64_t w = futures_weight.window_ms;
  const bool minutes = w % 60000 == 0;
  nlohmann::ordered_json j = {
      {"timezone", "UTC"},
      {"serverTime", now_ms},
      {"futuresType", "U_MARGINED"},
      {"rateLimits",
       {{{"rateLimitType", "REQUEST_WEIGHT"},
         {"interval", minutes ? "MINUTE" : "SECOND"},
         {"intervalNum", minutes ? w / 60000 : std::max<int64_t>(1, w / 1000)},
         {"limit", futures_weight.weight_limit}},
        {{"rateLimitType", "ORDERS"},
         {"interval", "MINUTE"},
         {"intervalNum", 1},
         {"limit", 1200}}}},
      {"exchangeFilters", nlohmann::ordered_json::array()},
      {"assets", nlohmann::ordered_json::array()},
      {"symbols", symbols}};
  return j.dump();
}

std::string FundingWindowKey(const Params& params) {
  auto get = [&](const char* key) {
    const std::string* v = FindParam(params, key);
    return v == nullptr ? std::string() : *v;
  };
  return get("symbol") + ":1h:" + get("startTime") + "-" + get("endTime") + ":" + get("limit");
}

}  // namespace qlir::sim
