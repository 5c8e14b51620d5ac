#include "common/aggtrades/endpoint.h"

#include "common/aggtrades/payload.h"
#include "common/slice_key.h"
#include "common/symbol.h"
#include "common/url.h"

namespace qlir::aggtrades {
namespace {

std::string SeriesUrl(std::string_view base_url, std::string_view symbol) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  return std::string(base_url) + "/api/v3/aggTrades?symbol=" + PercentEncode(symbol);
}

class AggTradesEndpoint final : public Endpoint {
 public:
  std::string_view name() const override { return kEndpointName; }
  int64_t request_weight() const override { return kRequestWeight; }
  int default_limit() const override { return kDefaultLimit; }
  Status ValidateInterval(std::string_view interval) const override {
    if (interval == kInterval) return Status::Ok();
    return Status::Error(
        "aggTrades series have one parameter, 'id' (slices are ranges of aggregate trade "
        "ids), not '" +
        std::string(interval) + "'");
  }
  // The id axis: a slice of `limit` items spans `limit` ids.
  int64_t SliceSpanMs(std::string_view interval, int limit) const override {
    return interval == kInterval ? limit : 0;
  }
  Result<SliceKey> ParseKey(std::string_view key) const override {
    SliceKeyRules rules;
    rules.shape = "SYMBOL:id:first_id-last_id:limit";
    rules.max_limit = kDefaultLimit;
    rules.check_series = [](std::string_view symbol, std::string_view interval) {
      if (Status s = ValidateSymbol(symbol); !s.ok()) return s;
      if (interval != kInterval) return Status::Error("the interval field of aggTrades is 'id'");
      return Status::Ok();
    };
    return ParseSliceKey(key, rules);
  }
  // fromId is inclusive: the answer is the trades with ids >= fromId, ascending, at most limit.
  std::string BuildUrl(std::string_view base_url, const SliceKey& key) const override {
    return SeriesUrl(base_url, key.symbol) + "&fromId=" + std::to_string(key.start_ms) +
           "&limit=" + std::to_string(key.limit);
  }
  Result<PayloadSummary> ValidatePayload(std::string_view body,
                                         const SliceKey& key) const override {
    return ValidateAggTradesPayload(body, key);
  }
  PayloadAudit AuditPayload(std::string_view body, const SliceKey& key) const override {
    return AuditAggTradesPayload(body, key);
  }
  Result<PayloadSummary> SummarizeData(std::string_view raw) const override {
    return SummarizeAggTradesData(raw);
  }
  // The oldest trade: ids from 0.
  std::string FirstItemUrl(std::string_view base_url, std::string_view symbol,
                           std::string_view) const override {
    return SeriesUrl(base_url, symbol) + "&fromId=0&limit=1";
  }
  // Without fromId or times, the most recent `limit` trades: the newest id.
  std::string LastItemUrl(std::string_view base_url, std::string_view symbol,
                          std::string_view) const override {
    return SeriesUrl(base_url, symbol) + "&limit=1";
  }
  // With startTime alone, the oldest trades at or after it (the one-hour startTime-endTime rule
  // was removed for spot on 2022-12-05). An empty answer: no trade at or after t_ms yet.
  std::string ItemAtTimeUrl(std::string_view base_url, std::string_view symbol, std::string_view,
                            int64_t t_ms) const override {
    return SeriesUrl(base_url, symbol) + "&startTime=" + std::to_string(t_ms) + "&limit=1";
  }
  Result<std::optional<int64_t>> ParseEdgeItem(std::string_view body) const override {
    return FirstAggTradeId(body);
  }

  std::string_view default_interval() const override { return kInterval; }
  // Ids are contiguous (ValidatePayload refuses a gap), so a stored window can lack none: there
  // is no hole to look for.
  bool items_on_grid() const override { return false; }
  Axis axis() const override { return Axis::kId; }
  // Final when the window's last id is there: ids only grow, so nothing more can come.
  bool Final(const SliceKey& key, const PayloadSummary& summary, int64_t) const override {
    return summary.last_ts == key.end_ms;
  }
};

}  // namespace

const Endpoint& TheAggTradesEndpoint() {
  static const AggTradesEndpoint kEndpoint;
  return kEndpoint;
}

}  // namespace qlir::aggtrades
