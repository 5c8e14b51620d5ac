// The expected slice universe of the planner (README.md, "What it does": Completeness): for each
// series (symbol, interval) of one endpoint (common/endpoint.h, klines unless told otherwise)
// the grid slices covering [start, end],
// growing at the tail while the exchange clock passes grid boundaries, with each slice's known
// status (what the persister's manifest says) and the planner's own state of it.
//
// Memory: a slice is (series index, grid index), never a string; each series keeps one byte per
// slice, indexed by grid index minus the series' first index. 10 symbols x 1s since 2022 is about
// 1.5 M slices, so about 1.5 MB here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/endpoint.h"
#include "common/manifest.h"
#include "common/status.h"
#include "common/wire.h"

namespace qlir::planner {

struct SliceRef {
  uint32_t series = 0;
  int64_t index = 0;  // grid index (common/klines/slice_key.h GridIndex)
  friend bool operator==(const SliceRef&, const SliceRef&) = default;
  friend auto operator<=>(const SliceRef&, const SliceRef&) = default;
};

struct SliceRefHash {
  size_t operator()(const SliceRef& r) const noexcept {
    return std::hash<uint64_t>()((static_cast<uint64_t>(r.series) << 44) ^
                                 static_cast<uint64_t>(r.index));
  }
};

// Where a slice stands in the planner, besides its persisted status.
enum class SliceState : uint8_t {
  kIdle = 0,     // nothing scheduled (ok, or given up)
  kQueued = 1,   // in the job queue
  kLeased = 2,   // handed to a fetcher, lease open
  kDelayed = 3,  // waiting for its backoff or refresh time
};

struct SeriesCounts {
  int64_t pending = 0;
  int64_t ok = 0;
  int64_t failed = 0;
  int64_t partial = 0;
  int64_t total() const { return pending + ok + failed + partial; }
};

class Universe {
 public:
  // A universe of klines series.
  Universe();
  // REQUIRES: `endpoint` outlives the universe (registered endpoints live for ever).
  explicit Universe(const Endpoint& endpoint) : endpoint_(&endpoint) {}
  Universe(Universe&&) = default;
  Universe& operator=(Universe&&) = default;
  Universe(const Universe&) = delete;
  Universe& operator=(const Universe&) = delete;

  // Adds the series covering every grid slice intersecting [start_ms, end_ms], all pending.
  // Errors (naming the series) on a bad symbol or interval, a negative start, start > end, or a
  // series already present.
  // limit 0: the endpoint's default.
  Result<uint32_t> AddSeries(std::string_view symbol, std::string_view interval, int64_t start_ms,
                             int64_t end_ms, int limit = 0);

  const Endpoint& endpoint() const { return *endpoint_; }
  const std::string& endpoint_name() const { return endpoint_name_; }

  size_t series_count() const { return series_.size(); }
  const std::string& symbol(uint32_t s) const { return series_[s].symbol; }
  const std::string& interval(uint32_t s) const { return series_[s].interval; }
  std::string SeriesName(uint32_t s) const { return symbol(s) + "/" + interval(s); }
  int64_t span_ms(uint32_t s) const { return series_[s].span_ms; }
  int64_t first_index(uint32_t s) const { return series_[s].first_index; }
  // One past the last grid index.
  int64_t end_index(uint32_t s) const {
    return series_[s].first_index + static_cast<int64_t>(series_[s].cells.size());
  }
  int64_t size(uint32_t s) const { return static_cast<int64_t>(series_[s].cells.size()); }
  int64_t total_size() const;

  // Grows series `s` so that it covers `end_ms`; new slices are pending. Returns the first new
  // grid index and the count added (0 when `end_ms` is already covered).
  std::pair<int64_t, int64_t> ExtendTo(uint32_t s, int64_t end_ms);
  // Drops the slices of series `s` that start after `last_ms` (a delisted symbol's last
  // candle), keeping at least the first slice. Returns how many were dropped. Queue entries of
  // dropped slices go stale: check Contains() before using one.
  int64_t TruncateAfter(uint32_t s, int64_t last_ms);

  bool Contains(SliceRef r) const {
    return r.series < series_.size() && r.index >= first_index(r.series) &&
           r.index < end_index(r.series);
  }
  // REQUIRES: Contains(r) for the accessors below.
  SliceStatus status(SliceRef r) const { return static_cast<SliceStatus>(cell(r) & 3); }
  void set_status(SliceRef r, SliceStatus status);
  SliceState state(SliceRef r) const { return static_cast<SliceState>((cell(r) >> 2) & 3); }
  void set_state(SliceRef r, SliceState state) {
    uint8_t& c = cell(r);
    c = static_cast<uint8_t>((c & ~0x0C) | (static_cast<uint8_t>(state) << 2));
  }

  qlir::SliceKey SliceKey(SliceRef r) const;
  std::string Key(SliceRef r) const { return SliceKey(r).composite_key(); }
  // The slice named by a composite key, or nullopt when it is not in this universe (another
  // series, off the grid, outside the range, or not a key at all).
  std::optional<SliceRef> Find(std::string_view composite_key) const;
  std::optional<uint32_t> FindSeries(std::string_view symbol, std::string_view interval) const;

  // The exchange time at which the slice's last candle has closed: (index + 1) * span.
  int64_t CloseTimeMs(SliceRef r) const { return (r.index + 1) * span_ms(r.series); }
  bool IsOpen(SliceRef r, int64_t exchange_now_ms) const {
    return exchange_now_ms < CloseTimeMs(r);
  }

  const SeriesCounts& counts(uint32_t s) const { return series_[s].counts; }

  // Applies the statuses of a STATUS_REPLY (or a snapshot) to series `s`. Entries of other
  // series, off the grid, outside the range or with an unknown status are skipped and counted in
  // `*skipped` (if given). Slices the reply does not name keep their status.
  void ApplyStatuses(uint32_t s, const std::vector<wire::SliceState>& slices, int64_t* skipped);

 private:
  struct Series {
    std::string symbol;
    std::string interval;
    int64_t span_ms = 0;  // one slice: the grid step
    int limit = 0;
    int64_t first_index = 0;
    std::vector<uint8_t> cells;  // bits 0-1: SliceStatus, bits 2-3: SliceState
    SeriesCounts counts;
  };
  uint8_t& cell(SliceRef r) {
    return series_[r.series].cells[static_cast<size_t>(r.index - series_[r.series].first_index)];
  }
  uint8_t cell(SliceRef r) const {
    return series_[r.series].cells[static_cast<size_t>(r.index - series_[r.series].first_index)];
  }
  static int64_t& Counter(SeriesCounts& c, SliceStatus s);

  const Endpoint* endpoint_;
  std::string endpoint_name_ = std::string(endpoint_->name());
  std::vector<Series> series_;
  std::map<std::pair<std::string, std::string>, uint32_t, std::less<>> by_name_;
};

}  // namespace qlir::planner
