#include "tools/qlir-status/holes.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/holes.h"
#include "common/json.h"
#include "common/time_util.h"
#include "tools/qlir-status/manifest_reader.h"
#include "tools/qlir-status/ranges.h"

namespace qlir::status_tool {

namespace fs = std::filesystem;

namespace {

// One missing candle, before merging.
struct Missing {
  int64_t open_ms = 0;
  const std::string* key = nullptr;
  const std::optional<std::string>* confirmed_at = nullptr;
};

// 1234567 -> "1,234,567". Appends rather than inserting: GCC 12 at -O2 warned
// (-Wstringop-overflow, a false positive) on the insert this used to make.
std::string WithThousands(int64_t n) {
  const std::string digits = std::to_string(n);
  const size_t sign = n < 0 ? 1 : 0;
  std::string out = digits.substr(0, sign);
  for (size_t i = sign; i < digits.size(); ++i) {
    if (i > sign && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

bool HolesReport::HasProblem() const {
  return std::any_of(series.begin(), series.end(), [](const SeriesHoles& s) {
    return !s.error.empty() || !s.unreadable.empty();
  });
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
  // there is no count to miss and no ledger of holes (common/holes.h says the same).
  if (!endpoint->items_on_grid()) {
    out.ledger = false;
    for (const auto& kv : m.slices) out.ok_slices += kv.second.status == SliceStatus::kOk ? 1 : 0;
    return out;
  }
  // The series' first and last stored candles, from every stored slice (common/holes.h).
  const StoredCandles stored = StoredCandleSpan(m);
  out.first_candle_ms = stored.first_ms;
  out.last_candle_ms = stored.last_ms;
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
    // The rule is common/holes.h's, shared with the persister's rechecks.
    auto found =
        SliceMissingCandles(*endpoint, key, e, stored, [&]() { return read_data(kv->first, e); });
    if (!found) {
      out.unreadable.push_back(kv->first + ": " + found.error());
      continue;
    }
    for (int64_t t : *found) missing.push_back({t, &kv->first, &e.holes_confirmed_at});
    if (!found->empty()) ++out.slices_with_holes;
    out.missing_candles += static_cast<int64_t>(found->size());
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
  auto reader = ManifestReader::Open(root);
  if (!reader) return reader.status();
  auto series = (*reader)->FindSeries(filter);
  if (!series) return series.status();
  HolesReport report;
  report.data_root = root;
  for (const SeriesLocation& loc : *series) {
    auto m = (*reader)->Read(loc);
    if (!m) {
      SeriesHoles s;
      s.loc = loc;
      s.error = m.error();
      report.series.push_back(std::move(s));
      continue;
    }
    report.series.push_back(
        LedgerOf(loc, *m, [&](const std::string&, const ManifestEntry& e) -> Result<std::string> {
          return ReadStoredData(loc.dir, e);
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
    if (!s.ledger) {
      o << name
        << "  no ledger: its items are not one per grid step, so a stored slice lacks none ("
        << s.ok_slices << " ok slices)\n";
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
                      {"ledger", s.ledger},
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
