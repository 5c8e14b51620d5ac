#include "planner/universe.h"

#include "common/klines/interval.h"
#include "common/symbol.h"

namespace qlir::planner {

static_assert(static_cast<int>(SliceStatus::kPending) == 0 &&
                  static_cast<int>(SliceStatus::kPartial) == 3,
              "a slice's status is packed in two bits");

Result<uint32_t> Universe::AddSeries(std::string_view symbol, std::string_view interval,
                                     int64_t start_ms, int64_t end_ms, int limit) {
  const std::string name = std::string(symbol) + "/" + std::string(interval);
  if (Status s = ValidateSymbol(symbol); !s.ok()) return s;
  auto ms = klines::IntervalToMs(interval);
  if (!ms) return Status::Error("series " + name + ": " + ms.error());
  if (limit < 1 || limit > klines::kDefaultLimit) {
    return Status::Error("series " + name + ": limit must be 1..1000");
  }
  if (start_ms < 0) return Status::Error("series " + name + ": start before the Unix epoch");
  if (start_ms > end_ms) return Status::Error("series " + name + ": start after end");
  if (FindSeries(symbol, interval)) return Status::Error("series " + name + " given twice");
  Series s;
  s.symbol = std::string(symbol);
  s.interval = std::string(interval);
  s.interval_ms = *ms;
  s.limit = limit;
  s.first_index = klines::GridIndex(start_ms, *ms, limit);
  const int64_t last = klines::GridIndex(end_ms, *ms, limit);
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
  const int64_t last = klines::GridIndex(end_ms, ser.interval_ms, ser.limit);
  if (last < old_end) return {old_end, 0};
  const int64_t added = last - old_end + 1;
  ser.cells.resize(ser.cells.size() + static_cast<size_t>(added), 0);
  ser.counts.pending += added;
  return {old_end, added};
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

klines::KlineSliceKey Universe::SliceKey(SliceRef r) const {
  const Series& s = series_[r.series];
  return klines::GridSlice(s.symbol, s.interval, s.interval_ms, r.index, s.limit);
}

std::optional<uint32_t> Universe::FindSeries(std::string_view symbol,
                                             std::string_view interval) const {
  auto it = by_name_.find(std::pair<std::string, std::string>(symbol, interval));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<SliceRef> Universe::Find(std::string_view composite_key) const {
  auto key = klines::ParseCompositeKey(composite_key);
  if (!key) return std::nullopt;
  auto s = FindSeries(key->symbol, key->interval);
  if (!s) return std::nullopt;
  const Series& ser = series_[*s];
  if (key->limit != ser.limit || !klines::IsGridSlice(*key)) return std::nullopt;
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
