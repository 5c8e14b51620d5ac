#include "common/klines/endpoint.h"

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
  Result<PayloadSummary> SummarizeData(std::string_view raw) const override {
    return SummarizeKlinesData(raw);
  }
};

}  // namespace

const Endpoint& TheKlinesEndpoint() {
  static const KlinesEndpoint kEndpoint;
  return kEndpoint;
}

}  // namespace qlir::klines
