#include "tools/qlir-status/series_report.h"

#include <algorithm>
#include <system_error>

#include "common/data_root.h"
#include "common/endpoint.h"

namespace qlir::status_tool {

namespace fs = std::filesystem;

bool StatusReport::HasProblem() const {
  return std::any_of(series.begin(), series.end(),
                     [](const SeriesReport& s) { return s.HasProblem(); });
}

Result<SliceKey> CheckEntryKey(const std::string& key, const Manifest& m) {
  const Endpoint* endpoint = FindEndpoint(m.endpoint);
  if (!endpoint) return Status::Error(UnknownEndpointMessage(m.endpoint));
  auto k = endpoint->ParseKey(key);
  if (!k) return Status::Error("key does not parse: " + k.error());
  if (k->symbol != m.symbol || k->interval != m.interval) {
    return Status::Error("key belongs to " + k->symbol + "/" + k->interval + ", not " + m.symbol +
                         "/" + m.interval);
  }
  if (k->limit != m.limit) {
    return Status::Error("key has limit " + std::to_string(k->limit) + ", the manifest " +
                         std::to_string(m.limit));
  }
  if (!endpoint->IsGridSlice(*k)) return Status::Error("key is not on the slice grid");
  return k;
}

Status CheckManifestIdentity(const Manifest& m, const SeriesLocation& loc) {
  if (m.endpoint != loc.endpoint || m.symbol != loc.symbol || m.interval != loc.interval) {
    return Status::Error((loc.dir / kManifestName).string() + " describes " + m.endpoint + "/" +
                         m.symbol + "/" + m.interval + ", not " + loc.Name());
  }
  return Status::Ok();
}

SeriesReport SummariseManifest(const SeriesLocation& loc, const Manifest& m) {
  SeriesReport r;
  r.series = loc;
  r.last_evaluated_at = m.last_evaluated_at;
  if (Status s = CheckManifestIdentity(m, loc); !s.ok()) {
    r.manifest_error = s.message();
    return r;
  }
  struct Known {
    int64_t start_ms;
    int64_t end_ms;
  };
  std::vector<Known> known;
  std::vector<TimeRange> pending_windows;
  std::vector<TimeRange> failed_windows;
  known.reserve(m.slices.size());
  for (const auto& [key, e] : m.slices) {
    auto k = CheckEntryKey(key, m);
    if (!k) {
      r.invalid_entries.push_back({key, k.error()});
      continue;
    }
    known.push_back({k->start_ms, k->end_ms});
    switch (e.status) {
      case SliceStatus::kOk:
        ++r.ok;
        break;
      case SliceStatus::kPartial:
        ++r.partial;
        break;
      case SliceStatus::kPending:
        ++r.pending;
        pending_windows.push_back({k->start_ms, k->end_ms, 1});
        break;
      case SliceStatus::kFailed:
        ++r.failed;
        failed_windows.push_back({k->start_ms, k->end_ms, 1});
        r.failed_slices.push_back(
            {key, k->start_ms, k->end_ms, e.http_status, e.error.value_or(""), e.completed_at});
        break;
    }
  }
  std::sort(r.failed_slices.begin(), r.failed_slices.end(),
            [](const FailedSlice& a, const FailedSlice& b) { return a.start_ms < b.start_ms; });
  r.failed_ranges = MergeWindows(std::move(failed_windows));
  if (known.empty()) return r;

  // The map is sorted by key text, not by time ("...:999-..." sorts after "...:1000-...").
  std::sort(known.begin(), known.end(),
            [](const Known& a, const Known& b) { return a.start_ms < b.start_ms; });
  r.first_start_ms = known.front().start_ms;
  r.last_end_ms = known.back().end_ms;
  // Gaps between neighbours, computed from the neighbours rather than by walking the grid, so a
  // far-away bogus key cannot make us walk millions of slices. CheckEntryKey put every key on the
  // grid of one span, so a gap is a whole number of slices.
  const Endpoint* endpoint = FindEndpoint(m.endpoint);
  const int64_t span =
      endpoint ? std::max<int64_t>(1, endpoint->SliceSpanMs(m.interval, m.limit)) : 1;
  std::vector<TimeRange> missing_windows = std::move(pending_windows);
  for (size_t i = 1; i < known.size(); ++i) {
    const int64_t gap_start = known[i - 1].end_ms + 1;
    const int64_t gap_end = known[i].start_ms - 1;
    if (gap_start > gap_end) continue;
    missing_windows.push_back({gap_start, gap_end, (gap_end - gap_start + 1) / span});
  }
  r.missing = 0;
  for (const TimeRange& w : missing_windows) r.missing += w.slices;
  r.missing_ranges = MergeWindows(std::move(missing_windows));
  return r;
}

SeriesReport BuildSeriesReport(ManifestReader& reader, const SeriesLocation& loc) {
  SeriesReport r;
  auto m = reader.Read(loc);
  if (!m) {
    r.series = loc;
    if (m.status().IsNotFound()) {
      r.manifest_error = m.error() + " (the persister rebuilds it from " +
                         std::string(kResponsesDir) + "/ when it starts)";
    } else if (m.status().IsCorruption()) {
      r.manifest_error = "corrupt manifest: " + m.error();
    } else {
      r.manifest_error = m.error();
    }
  } else {
    r = SummariseManifest(loc, *m);
  }
  r.disk = MeasureDiskUsage(loc.dir);
  return r;
}

Result<StatusReport> BuildStatusReport(const fs::path& root, const SeriesFilter& filter) {
  auto reader = ManifestReader::Open(root);
  if (!reader) return reader.status();
  auto series = (*reader)->FindSeries(filter);
  if (!series) return series.status();
  StatusReport report;
  report.data_root = root;
  report.backend = (*reader)->backend();
  if (report.backend == StateBackend::kSqlite) {
    for (const std::string& suffix :
         {std::string(), std::string(kStateDbWalSuffix), std::string(kStateDbShmSuffix)}) {
      std::error_code ec;
      const uintmax_t n = fs::file_size(root / (std::string(kStateDbName) + suffix), ec);
      if (!ec) report.state_db_bytes += n;
    }
  }
  for (const SeriesLocation& loc : *series) {
    report.series.push_back(BuildSeriesReport(**reader, loc));
  }
  return report;
}

}  // namespace qlir::status_tool
