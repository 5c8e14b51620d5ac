#include "common/funding/endpoint.h"

#include "common/funding/payload.h"
#include "common/json.h"
#include "common/slice_key.h"
#include "common/symbol.h"
#include "common/url.h"

namespace qlir::funding {
namespace {

std::string SeriesUrl(std::string_view base_url, std::string_view symbol) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  return std::string(base_url) + "/fapi/v1/fundingRate?symbol=" + PercentEncode(symbol);
}

class FundingEndpoint final : public Endpoint {
 public:
  std::string_view name() const override { return kEndpointName; }
  // Funding requests do not spend the futures REQUEST_WEIGHT: they spend own_limit().
  int64_t request_weight() const override { return 1; }
  int default_limit() const override { return kDefaultLimit; }
  Status ValidateInterval(std::string_view interval) const override {
    if (interval == kInterval) return Status::Ok();
    return Status::Error(
        "fundingRate series have one parameter, '1h' (the grid of windows of "
        "1000 hours, the shortest funding interval), not '" +
        std::string(interval) + "'");
  }
  int64_t SliceSpanMs(std::string_view interval, int limit) const override {
    return interval == kInterval ? kIntervalMs * limit : 0;
  }
  Result<SliceKey> ParseKey(std::string_view key) const override {
    SliceKeyRules rules;
    rules.shape = "SYMBOL:1h:start-end:limit";
    rules.max_limit = kDefaultLimit;
    rules.check_series = [](std::string_view symbol, std::string_view interval) {
      if (Status s = ValidateSymbol(symbol); !s.ok()) return s;
      if (interval != kInterval) return Status::Error("the interval field of fundingRate is '1h'");
      return Status::Ok();
    };
    return ParseSliceKey(key, rules);
  }
  // startTime and endTime are inclusive; the answer is ascending from startTime, at most limit.
  std::string BuildUrl(std::string_view base_url, const SliceKey& key) const override {
    return SeriesUrl(base_url, key.symbol) + "&startTime=" + std::to_string(key.start_ms) +
           "&endTime=" + std::to_string(key.end_ms) + "&limit=" + std::to_string(key.limit);
  }
  Result<PayloadSummary> ValidatePayload(std::string_view body,
                                         const SliceKey& key) const override {
    return ValidateFundingPayload(body, key);
  }
  PayloadAudit AuditPayload(std::string_view body, const SliceKey& key) const override {
    return AuditFundingPayload(body, key);
  }
  Result<PayloadSummary> SummarizeData(std::string_view raw) const override {
    return SummarizeFundingData(raw);
  }
  // startTime=1, not 0: the exchange reads startTime=0 as absent and answers the newest rows.
  std::string FirstItemUrl(std::string_view base_url, std::string_view symbol,
                           std::string_view) const override {
    return SeriesUrl(base_url, symbol) + "&startTime=1&limit=1";
  }
  // Without times, the most recent `limit` rows.
  std::string LastItemUrl(std::string_view base_url, std::string_view symbol,
                          std::string_view) const override {
    return SeriesUrl(base_url, symbol) + "&limit=1";
  }
  Result<std::optional<int64_t>> ParseEdgeItem(std::string_view body) const override {
    nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded()) return Status::Error("fundingRate: not JSON");
    if (!j.is_array()) return Status::Error("fundingRate: not an array");
    if (j.empty()) return std::optional<int64_t>();
    const auto& r = j[0];
    if (!r.is_object() || !r.contains("fundingTime") || !r["fundingTime"].is_number_integer() ||
        r["fundingTime"].get<int64_t>() < 0) {
      return Status::Error("fundingRate: first row has no fundingTime");
    }
    return std::optional<int64_t>(r["fundingTime"].get<int64_t>());
  }

  std::string_view default_base_url() const override { return kDefaultBaseUrl; }
  std::string_view exchange_info_path() const override { return "/fapi/v1/exchangeInfo"; }
  std::string_view time_path() const override { return "/fapi/v1/time"; }
  std::string_view default_interval() const override { return kInterval; }
  std::optional<OwnLimit> own_limit() const override {
    return OwnLimit{kEndpointName, kRequestLimit, kRequestWindowMs};
  }
  bool items_on_grid() const override { return false; }
};

}  // namespace

const Endpoint& TheFundingEndpoint() {
  static const FundingEndpoint kEndpoint;
  return kEndpoint;
}

}  // namespace qlir::funding
