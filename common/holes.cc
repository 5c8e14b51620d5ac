#include "common/holes.h"

#include <algorithm>

#include "common/atomic_file.h"
#include "common/json.h"
#include "common/response_file.h"

namespace qlir {

namespace {

int64_t FloorTo(int64_t t, int64_t step) {
  return t >= 0 ? t / step * step : -((-t + step - 1) / step) * step;
}
int64_t CeilTo(int64_t t, int64_t step) { return -FloorTo(-t, step); }

}  // namespace

void AddToStoredSpan(const ManifestEntry& e, StoredCandles* span) {
  if (e.status != SliceStatus::kOk && e.status != SliceStatus::kPartial) return;
  if (e.n_items <= 0 || !e.first_ts || !e.last_ts) return;
  if (span->first_ms < 0 || *e.first_ts < span->first_ms) span->first_ms = *e.first_ts;
  span->last_ms = std::max(span->last_ms, *e.last_ts);
}

StoredCandles StoredCandleSpan(const Manifest& m) {
  StoredCandles out;
  for (const auto& [key, e] : m.slices) AddToStoredSpan(e, &out);
  return out;
}

std::optional<CandleWindow> ExpectedCandles(const Endpoint& endpoint, const SliceKey& key,
                                            const StoredCandles& stored) {
  // Events at the exchange's own times (funding) are not a grid: fewer of them are no holes.
  if (!endpoint.items_on_grid() || stored.empty() || key.limit <= 0) return std::nullopt;
  const int64_t step = endpoint.SliceSpanMs(key.interval, key.limit) / key.limit;
  if (step <= 0) return std::nullopt;
  CandleWindow w;
  w.step_ms = step;
  w.lo_ms = CeilTo(std::max(key.start_ms, stored.first_ms), step);
  w.hi_ms = FloorTo(std::min(key.end_ms, stored.last_ms), step);
  if (w.hi_ms < w.lo_ms) return std::nullopt;
  w.expected = (w.hi_ms - w.lo_ms) / step + 1;
  return w;
}

Result<std::vector<int64_t>> RowOpenTimes(std::string_view data) {
  auto rows = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (rows.is_discarded() || !rows.is_array()) {
    return Status::Corruption("data is not a JSON array");
  }
  std::vector<int64_t> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    if (!row.is_array() || row.empty() || !row[0].is_number_integer()) {
      return Status::Corruption("row " + std::to_string(i) + " has no integer open time");
    }
    out.push_back(row[0].get<int64_t>());
  }
  return out;
}

std::vector<int64_t> MissingCandles(const CandleWindow& w, std::vector<int64_t> open_times) {
  std::sort(open_times.begin(), open_times.end());
  std::vector<int64_t> missing;
  size_t i = 0;
  for (int64_t t = w.lo_ms; t <= w.hi_ms; t += w.step_ms) {
    while (i < open_times.size() && open_times[i] < t) ++i;
    if (i < open_times.size() && open_times[i] < t + w.step_ms) continue;
    missing.push_back(t);
  }
  return missing;
}

Result<std::vector<int64_t>> SliceMissingCandles(
    const Endpoint& endpoint, const SliceKey& key, const ManifestEntry& e,
    const StoredCandles& stored, const std::function<Result<std::string>()>& read_data) {
  if (e.status != SliceStatus::kOk) return std::vector<int64_t>();
  auto w = ExpectedCandles(endpoint, key, stored);
  if (!w || e.n_items >= w->expected) return std::vector<int64_t>();
  auto data = read_data();
  if (!data) return data.status();
  auto times = RowOpenTimes(*data);
  if (!times) return times.status();
  return MissingCandles(*w, std::move(*times));
}

Result<std::string> ReadStoredData(const std::filesystem::path& series_dir,
                                   const ManifestEntry& e) {
  const std::filesystem::path file = series_dir / e.relative_path;
  auto text = ReadFile(file);
  if (!text) return text.status();
  auto decoded = DecodeResponseFile(*text, file.string());
  if (!decoded) return decoded.status();
  return std::string(decoded->data);
}

}  // namespace qlir
