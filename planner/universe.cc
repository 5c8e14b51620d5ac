#include "planner/universe.h"

#include <algorithm>

#include "common/klines/endpoint.h"
#include "common/symbol.h"

namespace qlir::planner {

static_assert(static_cast<int>(SliceStatus::kPending) == 0 &&
                  static_cast<int>(SliceStatus::kPartial) == 3,
              "a slice's status is packed in two bits");

Universe::Universe() : Universe(klines::TheKlinesEndpoint()) {}

Result<uint32_t> Universe::AddSeries(std::string_view symbol, std::string_view interval,
                                     int64_t start_ms, int64_t end_ms, int limit) {
  const std::string name = std::string(symbol) + "/" + std::string(interval);
  if (Status s = ValidateSymbol(symbol); !s.ok()) return s;
  if (Status s = endpoint_->ValidateInterval(interval); !s.ok()) {
    return Status::Error("series " + name + ": " + s.message());
  }
  if (limit == 0) limit = endpoint_->default_limit();
  if (limit < 1 || limit > endpoint_->default_limit()) {
    return Status::Error("series " + name + ": limit must be 1.." +
                         std::to_string(endpoint_->default_limit()));
  }
  if (start_ms < 0) return Status::Error("series " + name + ": start before the Unix epoch");
  if (start_ms > end_ms) return Status::Error("series " + name + ": start after end");
  if (FindSeries(symbol, interval)) return Status::Error("series " + name + " given twice");
  Series s;
  s.symbol = std::string(symbol);
  s.interval = std::string(interval);
  s.span_ms = endpoint_->SliceSpanMs(interval, limit);
  s.limit = limit;
  s.first_index = start_ms / s.span_ms;
  const int64_t last = end_ms / s.span_ms;
  s.cells.assign(static_cast<size_t>(last - s.first_index + 1), 0);
  s.counts.pending = last - s.first_index + 1;
  const auto id = static_cast<uint32_t>(series_.size());
  by_name_[{s.symbol, s.interval}] = id;
  series_.push_back(std::move(s));
  return id;
}

int64_t Universe::total_size() const {
  int64_t n = 0;
  for (const Series& s : series_) n += static_cast<int64_t>(s.cells.size());
  return n;
}

std::pair<int64_t, int64_t> Universe::ExtendTo(uint32_t s, int64_t end_ms) {
  Series& ser = series_[s];
  const int64_t old_end = end_index(s);
  const int64_t last = end_ms / ser.span_ms;
  if (last < old_end) return {old_end, 0};
  const int64_t added = last - old_end + 1;
  ser.cells.resize(ser.cells.size() + static_cast<size_t>(added), 0);
  ser.counts.pending += added;
  return {old_end, added};
}

int64_t Universe::TruncateAfter(uint32_t s, int64_t last_ms) {
  Series& ser = series_[s];
  const int64_t keep_end = std::max(ser.first_index + 1, last_ms / ser.span_ms + 1);
  const int64_t old_end = end_index(s);
  if (keep_end >= old_end) return 0;
  for (int64_t i = keep_end; i < old_end; ++i) {
    --Counter(ser.counts, status({s, i}));
  }
  ser.cells.resize(static_cast<size_t>(keep_end - ser.first_index));
  return old_end - keep_end;
}

int64_t& Universe::Counter(SeriesCounts& c, SliceStatus s) {
  switch (s) {
    case SliceStatus::kOk:
      return c.ok;
    case SliceStatus::kFailed:
      return c.failed;
    case SliceStatus::kPartial:
      return c.partial;
    case SliceStatus::kPending:
      break;
  }
  return c.pending;
}

void Universe::set_status(SliceRef r, SliceStatus status) {
  uint8_t& c = cell(r);
  const auto old = static_cast<SliceStatus>(c & 3);
  if (old == status) return;
  SeriesCounts& counts = series_[r.series].counts;
  --Counter(counts, old);
  ++Counter(counts, status);
  c = static_cast<uint8_t>((c & ~3) | static_cast<uint8_t>(status));
}

qlir::SliceKey Universe::SliceKey(SliceRef r) const {
  const Series& s = series_[r.series];
  return qlir::SliceKey{s.symbol, s.interval, r.index * s.span_ms, (r.index + 1) * s.span_ms - 1,
                        s.limit};
}

std::optional<uint32_t> Universe::FindSeries(std::string_view symbol,
                                             std::string_view interval) const {
  auto it = by_name_.find(std::pair<std::string, std::string>(symbol, interval));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<SliceRef> Universe::Find(std::string_view composite_key) const {
  auto key = endpoint_->ParseKey(composite_key);
  if (!key) return std::nullopt;
  auto s = FindSeries(key->symbol, key->interval);
  if (!s) return std::nullopt;
  const Series& ser = series_[*s];
  if (key->limit != ser.limit || !endpoint_->IsGridSlice(*key)) return std::nullopt;
  SliceRef r{*s, key->start_ms / span_ms(*s)};
  if (!Contains(r)) return std::nullopt;
  return r;
}

void Universe::ApplyStatuses(uint32_t s, const std::vector<wire::SliceState>& slices,
                             int64_t* skipped) {
  int64_t bad = 0;
  for (const wire::SliceState& st : slices) {
    auto r = Find(st.key);
    auto status = ParseSliceStatus(st.status);
    if (!r || r->series != s || !status) {
      ++bad;
      continue;
    }
    set_status(*r, *status);
  }
  if (skipped) *skipped = bad;
}

}  // namespace qlir::planner
