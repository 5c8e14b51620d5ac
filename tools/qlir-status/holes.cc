#include "tools/qlir-status/holes.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/json.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "tools/qlir-status/ranges.h"

namespace qlir::status_tool {

namespace fs = std::filesystem;

namespace {

int64_t FloorTo(int64_t t, int64_t step) {
  return t >= 0 ? t / step * step : -((-t + step - 1) / step) * step;
}
int64_t CeilTo(int64_t t, int64_t step) { return -FloorTo(-t, step); }

// One missing candle, before merging.
struct Missing {
  int64_t open_ms = 0;
  const std::string* key = nullptr;
  const std::optional<std::string>* confirmed_at = nullptr;
};

std::string WithThousands(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > (n < 0 ? 1 : 0); i -= 3) {
    s.insert(static_cast<size_t>(i), ",");
  }
  return s;
}

}  // namespace

bool HolesReport::HasProblem() const {
  return std::any_of(series.begin(), series.end(), [](const SeriesHoles& s) {
    return !s.error.empty() || !s.unreadable.empty();
  });
}

Result<std::vector<int64_t>> RowOpenTimes(std::string_view data) {
  auto rows = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (rows.is_discarded() || !rows.is_array())
    return Status::Corruption("data is not a JSON array");
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

SeriesHoles LedgerOf(const SeriesLocation& loc, const Manifest& m,
                     const std::function<Result<std::string>(const std::string& key,
                                                             const ManifestEntry& e)>& read_data) {
  SeriesHoles out;
  out.loc = loc;
  const Endpoint* endpoint = FindEndpoint(loc.endpoint);
  if (!endpoint) {
    out.error = UnknownEndpointMessage(loc.endpoint);
    return out;
  }
  // Events at the exchange's own times (fundingRate): a closed window holds what it holds, so
  // there is no count to miss and no ledger of holes.
  if (!endpoint->items_on_grid()) return out;
  // The series' first and last stored candles, from every stored slice.
  for (const auto& [key, e] : m.slices) {
    if (e.status != SliceStatus::kOk && e.status != SliceStatus::kPartial) continue;
    if (e.n_items <= 0 || !e.first_ts || !e.last_ts) continue;
    if (out.first_candle_ms < 0 || *e.first_ts < out.first_candle_ms) {
      out.first_candle_ms = *e.first_ts;
    }
    out.last_candle_ms = std::max(out.last_candle_ms, *e.last_ts);
  }
  // ok slices by their window's start (the manifest's order is by key text).
  std::vector<std::pair<SliceKey, const std::pair<const std::string, ManifestEntry>*>> ok;
  for (const auto& kv : m.slices) {
    if (kv.second.status != SliceStatus::kOk) continue;
    auto key = endpoint->ParseKey(kv.first);
    if (!key || key->symbol != loc.symbol || key->interval != loc.interval) continue;
    ok.emplace_back(*key, &kv);
  }
  std::sort(ok.begin(), ok.end(),
            [](const auto& a, const auto& b) { return a.first.start_ms < b.first.start_ms; });
  out.ok_slices = static_cast<int64_t>(ok.size());
  if (ok.empty() || out.first_candle_ms < 0) return out;
  const SliceKey& any = ok.front().first;
  out.item_ms = endpoint->SliceSpanMs(any.interval, any.limit) / any.limit;
  const int64_t step = out.item_ms;

  std::vector<Missing> missing;
  for (const auto& [key, kv] : ok) {
    const ManifestEntry& e = kv->second;
    // The window clipped to the stored candles: nothing is missing before the listing or after
    // the last candle.
    const int64_t lo = CeilTo(std::max(key.start_ms, out.first_candle_ms), step);
    const int64_t hi = FloorTo(std::min(key.end_ms, out.last_candle_ms), step);
    if (hi < lo) continue;
    const int64_t expected = (hi - lo) / step + 1;
    if (e.n_items >= expected) continue;
    auto data = read_data(kv->first, e);
    if (!data) {
      out.unreadable.push_back(kv->first + ": " + data.error());
      continue;
    }
    auto times = RowOpenTimes(*data);
    if (!times) {
      out.unreadable.push_back(kv->first + ": " + times.error());
      continue;
    }
    std::sort(times->begin(), times->end());
    // A grid candle is there when a row opens within its interval (early history has rows off
    // the grid: docs/exchange-rules.md, "Irregular candles").
    size_t i = 0;
    int64_t found = 0;
    for (int64_t t = lo; t <= hi; t += step) {
      while (i < times->size() && (*times)[i] < t) ++i;
      if (i < times->size() && (*times)[i] < t + step) continue;
      missing.push_back({t, &kv->first, &e.holes_confirmed_at});
      ++found;
    }
    if (found > 0) ++out.slices_with_holes;
    out.missing_candles += found;
  }
  // Consecutive missing candles with the same confirmation make one range.
  for (const Missing& x : missing) {
    const bool confirmed = x.confirmed_at->has_value();
    if (!out.holes.empty()) {
      Hole& h = out.holes.back();
      if (x.open_ms == h.end_ms + 1 && confirmed == h.confirmed_at.has_value()) {
        h.end_ms = x.open_ms + step - 1;
        ++h.candles;
        if (h.slices.back() != *x.key) h.slices.push_back(*x.key);
        if (confirmed && **x.confirmed_at > *h.confirmed_at) h.confirmed_at = **x.confirmed_at;
        continue;
      }
    }
    Hole h;
    h.start_ms = x.open_ms;
    h.end_ms = x.open_ms + step - 1;
    h.candles = 1;
    h.slices.push_back(*x.key);
    if (confirmed) h.confirmed_at = **x.confirmed_at;
    out.holes.push_back(std::move(h));
  }
  return out;
}

Result<HolesReport> BuildHolesLedger(const fs::path& root, const SeriesFilter& filter) {
  auto series = FindSeries(root, filter);
  if (!series) return series.status();
  HolesReport report;
  report.data_root = root;
  for (const SeriesLocation& loc : *series) {
    auto m = ParseManifestFile((loc.dir / kManifestName).string());
    if (!m) {
      SeriesHoles s;
      s.loc = loc;
      s.error = m.error();
      report.series.push_back(std::move(s));
      continue;
    }
    report.series.push_back(
        LedgerOf(loc, *m, [&](const std::string&, const ManifestEntry& e) -> Result<std::string> {
          const fs::path file = loc.dir / e.relative_path;
          auto text = ReadFile(file);
          if (!text) return text.status();
          auto decoded = DecodeResponseFile(*text, file.string());
          if (!decoded) return decoded.status();
          return std::string(decoded->data);
        }));
  }
  return report;
}

std::string RenderHolesText(const HolesReport& r) {
  std::ostringstream o;
  o << "data root: " << r.data_root.string() << "\n";
  int64_t total_holes = 0, total_missing = 0, unconfirmed = 0;
  for (const SeriesHoles& s : r.series) {
    const std::string name = s.loc.endpoint + "/" + s.loc.symbol + "/" + s.loc.interval;
    if (!s.error.empty()) {
      o << name << "  ERROR " << s.error << "\n";
      continue;
    }
    o << name << "  " << s.holes.size() << (s.holes.size() == 1 ? " hole, " : " holes, ")
      << WithThousands(s.missing_candles) << " candles missing in " << s.slices_with_holes << " of "
      << s.ok_slices << " ok slices";
    if (s.first_candle_ms >= 0) {
      o << " (candles stored from " << FormatIsoUtc(s.first_candle_ms) << " to "
        << FormatIsoUtc(s.last_candle_ms) << ")";
    }
    o << "\n";
    for (const Hole& h : s.holes) {
      o << "  " << FormatWindow(h.start_ms, h.end_ms) << "  " << WithThousands(h.candles)
        << (h.candles == 1 ? " candle " : " candles ")
        << (h.confirmed_at ? "confirmed " + *h.confirmed_at : std::string("unconfirmed")) << "\n";
      if (!h.confirmed_at) ++unconfirmed;
    }
    for (const std::string& u : s.unreadable) o << "  ERROR unreadable " << u << "\n";
    total_holes += static_cast<int64_t>(s.holes.size());
    total_missing += s.missing_candles;
  }
  o << total_holes << (total_holes == 1 ? " hole, " : " holes, ") << WithThousands(total_missing)
    << " candles missing in " << r.series.size() << " series; " << unconfirmed << " unconfirmed\n";
  return o.str();
}

std::string RenderHolesJson(const HolesReport& r) {
  using ojson = nlohmann::ordered_json;
  ojson series = ojson::array();
  for (const SeriesHoles& s : r.series) {
    ojson holes = ojson::array();
    for (const Hole& h : s.holes) {
      holes.push_back({{"start", FormatIsoUtc(h.start_ms)},
                       {"end", FormatIsoUtc(h.end_ms)},
                       {"start_ms", h.start_ms},
                       {"end_ms", h.end_ms},
                       {"candles", h.candles},
                       {"confirmed", h.confirmed_at.has_value()},
                       {"confirmed_at", h.confirmed_at ? ojson(*h.confirmed_at) : ojson(nullptr)},
                       {"slices", h.slices}});
    }
    auto opt_time = [](int64_t ms) { return ms >= 0 ? ojson(FormatIsoUtc(ms)) : ojson(nullptr); };
    series.push_back({{"endpoint", s.loc.endpoint},
                      {"symbol", s.loc.symbol},
                      {"interval", s.loc.interval},
                      {"error", s.error.empty() ? ojson(nullptr) : ojson(s.error)},
                      {"first_candle", opt_time(s.first_candle_ms)},
                      {"last_candle", opt_time(s.last_candle_ms)},
                      {"ok_slices", s.ok_slices},
                      {"slices_with_holes", s.slices_with_holes},
                      {"missing_candles", s.missing_candles},
                      {"holes", std::move(holes)},
                      {"unreadable", s.unreadable}});
  }
  ojson j = {{"data_root", r.data_root.string()},
             {"problem", r.HasProblem()},
             {"series", std::move(series)}};
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

}  // namespace qlir::status_tool
