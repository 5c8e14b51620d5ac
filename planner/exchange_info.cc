#include "planner/exchange_info.h"

#include "common/json.h"

namespace qlir::planner {
namespace {

std::optional<WeightLimit> ParseWeightLimit(const nlohmann::json& limits) {
  if (!limits.is_array()) return std::nullopt;
  for (const auto& l : limits) {
    if (!l.is_object() || l.value("rateLimitType", "") != "REQUEST_WEIGHT") continue;
    if (!l.contains("limit") || !l["limit"].is_number_integer() || !l.contains("intervalNum") ||
        !l["intervalNum"].is_number_integer() || !l.contains("interval") ||
        !l["interval"].is_string()) {
      continue;
    }
    const std::string unit = l["interval"].get<std::string>();
    const int64_t n = l["intervalNum"].get<int64_t>();
    const int64_t limit = l["limit"].get<int64_t>();
    int64_t unit_ms = 0;
    if (unit == "SECOND") unit_ms = 1000;
    if (unit == "MINUTE") unit_ms = 60000;
    if (unit == "HOUR") unit_ms = 3600000;
    if (unit == "DAY") unit_ms = 86400000;
    if (unit_ms == 0 || n < 1 || n > 1000 || limit < 1) continue;
    return WeightLimit{limit, n * unit_ms};
  }
  return std::nullopt;
}

}  // namespace

Result<ExchangeInfo> ParseExchangeInfo(std::string_view json) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    if (!j.is_object() || !j.contains("symbols") || !j["symbols"].is_array()) {
      return Status::Error("exchangeInfo: no symbols array");
    }
    ExchangeInfo info;
    for (const auto& s : j["symbols"]) {
      if (s.is_object() && s.contains("symbol") && s["symbol"].is_string()) {
        // The futures exchangeInfo also lists delivery contracts (contractType CURRENT_QUARTER,
        // ...), which have no funding: fundingRate, the one futures endpoint, keeps perpetuals
        // only (a spot symbol has no contractType).
        if (s.contains("contractType") && s["contractType"].is_string() &&
            s["contractType"].get<std::string>() != "PERPETUAL") {
          continue;
        }
        std::string status = "TRADING";
        if (s.contains("status") && s["status"].is_string())
          status = s["status"].get<std::string>();
        info.status[s["symbol"].get<std::string>()] = status;
      }
    }
    if (j.contains("rateLimits")) info.weight = ParseWeightLimit(j["rateLimits"]);
    return info;
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(std::string("exchangeInfo: not JSON: ") + e.what());
  }
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

}  // namespace qlir::planner
