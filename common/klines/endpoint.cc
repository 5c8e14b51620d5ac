#include "common/klines/endpoint.h"

#include "common/json.h"
#include "common/klines/interval.h"
#include "common/klines/payload.h"
#include "common/klines/slice_key.h"

namespace qlir::klines {
namespace {

class KlinesEndpoint final : public Endpoint {
 public:
  std::string_view name() const override { return kEndpointName; }
  int64_t request_weight() const override { return kRequestWeight; }
  int default_limit() const override { return kDefaultLimit; }
  Status ValidateInterval(std::string_view interval) const override {
    auto ms = IntervalToMs(interval);
    return ms.ok() ? Status::Ok() : ms.status();
  }
  int64_t SliceSpanMs(std::string_view interval, int limit) const override {
    auto ms = IntervalToMs(interval);
    return ms.ok() ? *ms * limit : 0;
  }
  Result<SliceKey> ParseKey(std::string_view composite_key) const override {
    return ParseCompositeKey(composite_key);
  }
  std::string BuildUrl(std::string_view base_url, const SliceKey& key) const override {
    return BuildKlineUrl(base_url, key);
  }
  Result<PayloadSummary> ValidatePayload(std::string_view body,
                                         const SliceKey& key) const override {
    return ValidateKlinesPayload(body, key);
  }
  PayloadAudit AuditPayload(std::string_view body, const SliceKey& key) const override {
    return AuditKlinesPayload(body, key);
  }
  Result<PayloadSummary> SummarizeData(std::string_view raw) const override {
    return SummarizeKlinesData(raw);
  }
  // GET /api/v3/klines?startTime=0&limit=1: the oldest candle (docs/exchange-rules.md: with
  // startTime the oldest `limit` candles from it).
  std::string FirstItemUrl(std::string_view base_url, std::string_view symbol,
                           std::string_view interval) const override {
    return SeriesUrl(base_url, symbol, interval) + "&startTime=0&limit=1";
  }
  // Without startTime, the newest `limit` candles (the still-open one included).
  std::string LastItemUrl(std::string_view base_url, std::string_view symbol,
                          std::string_view interval) const override {
    return SeriesUrl(base_url, symbol, interval) + "&limit=1";
  }
  Result<std::optional<int64_t>> ParseEdgeItem(std::string_view body) const override {
    try {
      nlohmann::json j = nlohmann::json::parse(body);
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

 private:
  static std::string SeriesUrl(std::string_view base_url, std::string_view symbol,
                               std::string_view interval) {
    while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
    return std::string(base_url) + "/api/v3/klines?symbol=" + PercentEncode(symbol) +
           "&interval=" + std::string(interval);
  }
};

}  // namespace

const Endpoint& TheKlinesEndpoint() {
  static const KlinesEndpoint kEndpoint;
  return kEndpoint;
}

}  // namespace qlir::klines
