#include "planner/exchange_info.h"

#include <nlohmann/json.hpp>

#include "common/klines/slice_key.h"

namespace qlir::planner {
namespace {

std::string Trim(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base);
}

std::string Excerpt(const std::string& body) {
  return body.size() <= 200 ? body : body.substr(0, 200) + "...";
}

// The response, or an error naming the URL when there is no HTTP 200 answer.
Result<HttpResponse> Get(HttpClient& http, const std::string& url) {
  HttpResponse r = http.Get(url);
  if (r.status == 0) return Status::Error("GET " + url + ": " + r.error);
  if (r.status != 200) {
    return Status::Error("GET " + url + ": HTTP " + std::to_string(r.status) + ": " +
                         Excerpt(r.body));
  }
  return r;
}

}  // namespace

Result<std::set<std::string>> ParseExchangeInfoSymbols(std::string_view json) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    if (!j.is_object() || !j.contains("symbols") || !j["symbols"].is_array()) {
      return Status::Error("exchangeInfo: no symbols array");
    }
    std::set<std::string> out;
    for (const auto& s : j["symbols"]) {
      if (s.is_object() && s.contains("symbol") && s["symbol"].is_string()) {
        out.insert(s["symbol"].get<std::string>());
      }
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(std::string("exchangeInfo: not JSON: ") + e.what());
  }
}

Result<SymbolCheck> CheckSymbols(HttpClient& http, std::string_view base_url,
                                 const std::vector<std::string>& symbols) {
  const std::string url = Trim(base_url) + "/api/v3/exchangeInfo";
  auto r = Get(http, url);
  if (!r) return r.status();
  auto listed = ParseExchangeInfoSymbols(r->body);
  if (!listed) return Status::Error("GET " + url + ": " + listed.error());
  SymbolCheck c;
  c.date_ms = r->date_ms;
  for (const std::string& s : symbols) (listed->count(s) ? c.known : c.unknown).push_back(s);
  return c;
}

Result<int64_t> ParseServerTime(std::string_view json) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    if (j.is_object() && j.contains("serverTime") && j["serverTime"].is_number_integer()) {
      const int64_t t = j["serverTime"].get<int64_t>();
      if (t > 0) return t;
    }
    return Status::Error("time: no serverTime");
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(std::string("time: not JSON: ") + e.what());
  }
}

Result<int64_t> FetchServerTime(HttpClient& http, std::string_view base_url) {
  const std::string url = Trim(base_url) + "/api/v3/time";
  HttpResponse r = http.Get(url);
  if (r.status == 200) {
    if (auto t = ParseServerTime(r.body)) return *t;
  }
  if (r.date_ms > 0) return r.date_ms;  // second precision, but the exchange's clock
  if (r.status == 0) return Status::Error("GET " + url + ": " + r.error);
  return Status::Error("GET " + url + ": HTTP " + std::to_string(r.status) +
                       ": no server time in " + Excerpt(r.body));
}

Result<std::optional<int64_t>> ParseFirstCandle(std::string_view json) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    if (!j.is_array()) return Status::Error("klines: not an array");
    if (j.empty()) return std::optional<int64_t>();
    const auto& k = j[0];
    if (!k.is_array() || k.empty() || !k[0].is_number_integer() || k[0].get<int64_t>() < 0) {
      return Status::Error("klines: first row has no open time");
    }
    return std::optional<int64_t>(k[0].get<int64_t>());
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(std::string("klines: not JSON: ") + e.what());
  }
}

Result<std::optional<int64_t>> FetchFirstCandle(HttpClient& http, std::string_view base_url,
                                                std::string_view symbol,
                                                std::string_view interval) {
  const std::string url = Trim(base_url) +
                          "/api/v3/klines?symbol=" + klines::PercentEncode(symbol) +
                          "&interval=" + std::string(interval) + "&startTime=0&limit=1";
  auto r = Get(http, url);
  if (!r) return r.status();
  auto first = ParseFirstCandle(r->body);
  if (!first) return Status::Error("GET " + url + ": " + first.error());
  return first;
}

}  // namespace qlir::planner
