// An endpoint of the exchange's REST API, as the processes see it. Everything specific to one
// endpoint (its slice grid, key rules, URL, payload validation, request weight) lives in its
// own folder (common/klines/ for GET /api/v3/klines) behind this interface, and the endpoint is
// registered in common/endpoint.cc. The planner, fetchers, persister and qlir-status only go
// through FindEndpoint(), so a new endpoint (funding rates, aggregate trades) is a new folder
// plus one line there, with no change to klines or to the processes' core.
//
// Every endpoint keeps the layout (docs/on-disk-format.md)
// <root>/binance/<name>/raw/<symbol>/<interval>/ and composite keys (common/slice_key.h); the
// "interval" is the endpoint's series parameter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/slice_key.h"
#include "common/status.h"

namespace qlir {

// What a stored payload holds: item count, first and last item timestamps (-1 when empty).
struct PayloadSummary {
  int64_t n_items = 0;
  int64_t first_ts = -1;
  int64_t last_ts = -1;
};

// What `qlir-status verify` learns from a stored payload (Endpoint::AuditPayload).
struct PayloadAudit {
  PayloadSummary summary;  // as ValidatePayload's, when `bad` is empty
  // Why the payload makes no sense for its slice (the first row at fault); empty when it does.
  std::string bad;
  // Rows that make sense but are irregular in a way the exchange itself serves (klines: an open
  // time off the interval's grid, a close time other than open + interval - 1; see
  // docs/exchange-rules.md, "Irregular candles"): how many, and the first one described.
  int64_t irregular_rows = 0;
  std::string irregular;
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;

  // The folder under <root>/binance/, the manifest's "endpoint", and the wire messages' endpoint.
  virtual std::string_view name() const = 0;
  // Weight of one slice request against the exchange's per-IP budget (docs/exchange-rules.md,
  // "Klines request").
  virtual int64_t request_weight() const = 0;
  // Items per slice: the default, which is also the largest the endpoint allows.
  virtual int default_limit() const = 0;

  // Checks an interval (the series parameter); the error says what is accepted.
  virtual Status ValidateInterval(std::string_view interval) const = 0;
  // Milliseconds covered by one slice of `limit` items: the step of the global grid.
  // REQUIRES: ValidateInterval(interval) is ok and 1 <= limit <= default_limit().
  virtual int64_t SliceSpanMs(std::string_view interval, int limit) const = 0;
  // Slice `index` of the global grid: [index * span, (index + 1) * span - 1] from the epoch.
  SliceKey GridSlice(std::string_view symbol, std::string_view interval, int64_t index,
                     int limit) const;
  // The grid index of the slice holding time t (t >= 0).
  int64_t GridIndex(std::string_view interval, int64_t t_ms, int limit) const;
  // True when `key` is exactly a slice of the grid (every stored slice must be).
  bool IsGridSlice(const SliceKey& key) const;

  // Strict parse of a composite key of this endpoint: valid symbol and interval, limit in range,
  // canonical numbers. Errors name the key.
  virtual Result<SliceKey> ParseKey(std::string_view composite_key) const = 0;
  // The GET URL of a slice under `base_url` (a trailing '/' ignored).
  virtual std::string BuildUrl(std::string_view base_url, const SliceKey& key) const = 0;
  // Checks a 200 body against the slice it answers; a body that fails is never stored as ok.
  virtual Result<PayloadSummary> ValidatePayload(std::string_view body,
                                                 const SliceKey& key) const = 0;
  // Checks every item of a stored payload for sense (stricter than ValidatePayload: klines rows
  // also need low <= open, close <= high, volumes and trade counts not negative, ...). Never
  // fails: what is wrong is in the result.
  virtual PayloadAudit AuditPayload(std::string_view body, const SliceKey& key) const = 0;
  // Summarises stored data without a slice to check it against (recovery of unlisted files).
  virtual Result<PayloadSummary> SummarizeData(std::string_view raw) const = 0;

  // Listing discovery (the planner's `--start listing`, the clamp of an earlier --start, and the
  // end of a delisted symbol): the GET URL whose answer holds the series' first (oldest) item,
  // the URL whose answer holds its newest item, and the timestamp of the item such an answer
  // holds (nullopt: the series has none). One request of request_weight() each.
  virtual std::string FirstItemUrl(std::string_view base_url, std::string_view symbol,
                                   std::string_view interval) const = 0;
  virtual std::string LastItemUrl(std::string_view base_url, std::string_view symbol,
                                  std::string_view interval) const = 0;
  virtual Result<std::optional<int64_t>> ParseEdgeItem(std::string_view body) const = 0;

  // Where the endpoint lives and what it spends. The defaults are the spot REST API's (klines);
  // an endpoint of another market (USD-M futures: common/funding/) overrides them.
  //
  // The exchange's own host, used when no --base-url is given (a simulator stands in for it).
  virtual std::string_view default_base_url() const { return "https://api.binance.com"; }
  // The market's exchangeInfo (symbols, status, REQUEST_WEIGHT) and server-time paths.
  virtual std::string_view exchange_info_path() const { return "/api/v3/exchangeInfo"; }
  virtual std::string_view time_path() const { return "/api/v3/time"; }
  // The series parameter used when none is given (--intervals).
  virtual std::string_view default_interval() const { return "1m"; }
  // A limit of its own that each slice request (and each listing request) spends, counted in
  // requests, instead of the host's request weight (docs/exchange-rules.md, "Rate limits").
  // nullopt: the request spends request_weight() of the host's REQUEST_WEIGHT budget.
  struct OwnLimit {
    std::string_view name;  // names the rate state ("fundingRate")
    int64_t limit = 0;      // requests per window
    int64_t window_ms = 0;
  };
  virtual std::optional<OwnLimit> own_limit() const { return std::nullopt; }
  // True when a slice holds one item per grid step of SliceSpanMs / limit (klines: one candle
  // per interval), so that fewer items in a closed window are holes (qlir-status holes). False
  // when items are events at the exchange's own times (funding).
  virtual bool items_on_grid() const { return true; }

  // What a slice's window counts (docs/on-disk-format.md, "Slice keys"). kTime: milliseconds
  // since the epoch (klines, fundingRate). kId: the exchange's item ids (aggTrades: the slice of
  // grid index k holds ids [k*limit, k*limit + limit - 1]); the key's start and end, and
  // PayloadSummary's first_ts and last_ts, are then ids, and "now" on the axis is the series'
  // newest id, learned from LastItemUrl, not the exchange clock.
  enum class Axis { kTime, kId };
  virtual Axis axis() const { return Axis::kTime; }
  // Whether a 200 answer for `key` that holds `summary`, fetched at the exchange's time
  // `server_ms`, is final (ok) rather than partial (fetched again later). Time axis: the window
  // had closed (SliceKey::ClosedAt). An id-axis endpoint decides from the items: every id of
  // the window is there.
  virtual bool Final(const SliceKey& key, const PayloadSummary& summary, int64_t server_ms) const {
    (void)summary;
    return key.ClosedAt(server_ms);
  }
  // Id axis only: the GET URL whose answer's first item is the series' first item at or after
  // t_ms (ParseEdgeItem reads its id; nullopt: nothing at or after t_ms yet). This is how a time
  // given by the user (--start, --end) becomes an id. Time axis: never called; empty.
  virtual std::string ItemAtTimeUrl(std::string_view base_url, std::string_view symbol,
                                    std::string_view interval, int64_t t_ms) const {
    (void)base_url, (void)symbol, (void)interval, (void)t_ms;
    return {};
  }
};

// SummarizeData of an endpoint whose rows are JSON objects (fundingRate, aggTrades): the row
// count, and the integer `field` of the first and last rows as first_ts and last_ts (-1 where a
// row is not an object or has no such integer). Errors when `raw` is not a JSON array.
Result<PayloadSummary> SummarizeObjectRows(std::string_view raw, std::string_view field);

// The registered endpoint called `name`, or nullptr.
const Endpoint* FindEndpoint(std::string_view name);
// Every registered endpoint.
const std::vector<const Endpoint*>& AllEndpoints();
// "unknown endpoint 'x' (known: klines)".
std::string UnknownEndpointMessage(std::string_view name);

}  // namespace qlir
