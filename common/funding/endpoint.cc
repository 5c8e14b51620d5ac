#include "common/funding/endpoint.h"

#include <charconv>

#include "common/funding/payload.h"
#include "common/json.h"
#include "common/symbol.h"

namespace qlir::funding {
namespace {

// Digits only, no sign, no leading zero (except "0" itself), fits int64.
bool ParseCanonicalInt(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string PercentEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

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
    auto bad = [&](const char* why) {
      return Status::Error("malformed composite key '" + std::string(key) + "': " + why);
    };
    const size_t c3 = key.rfind(':');
    if (c3 == std::string_view::npos || c3 == 0) return bad("expected SYMBOL:1h:start-end:limit");
    const size_t c2 = key.rfind(':', c3 - 1);
    if (c2 == std::string_view::npos || c2 == 0) return bad("expected SYMBOL:1h:start-end:limit");
    const size_t c1 = key.rfind(':', c2 - 1);
    if (c1 == std::string_view::npos) return bad("expected SYMBOL:1h:start-end:limit");
    SliceKey k;
    k.symbol = std::string(key.substr(0, c1));
    k.interval = std::string(key.substr(c1 + 1, c2 - c1 - 1));
    const std::string_view range = key.substr(c2 + 1, c3 - c2 - 1);
    const std::string_view limit = key.substr(c3 + 1);
    if (Status s = ValidateSymbol(k.symbol); !s.ok()) return bad(s.message().c_str());
    if (k.interval != kInterval) return bad("the interval field of fundingRate is '1h'");
    const size_t dash = range.find('-');
    if (dash == std::string_view::npos) return bad("expected start-end");
    int64_t lim = 0;
    if (!ParseCanonicalInt(range.substr(0, dash), &k.start_ms)) return bad("bad start");
    if (!ParseCanonicalInt(range.substr(dash + 1), &k.end_ms)) return bad("bad end");
    if (!ParseCanonicalInt(limit, &lim)) return bad("bad limit");
    if (lim < 1 || lim > kDefaultLimit) return bad("limit must be 1..1000");
    if (k.start_ms > k.end_ms) return bad("start after end");
    k.limit = static_cast<int>(lim);
    return k;
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
