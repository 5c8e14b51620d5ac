// The status of one series (endpoint, symbol, interval) read from its manifest, and of a whole
// data root: what `qlir-status` prints (tools/qlir-status/README.md). The manifest schema is in
// docs/on-disk-format.md ("manifest.json", "state.sqlite3"; common/manifest.h).
//
// Read-only and safe beside a running persister (manifest_reader.h): a manifest is read whole,
// old or new, never a mix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/manifest.h"
#include "common/slice_key.h"
#include "common/status.h"
#include "tools/qlir-status/manifest_reader.h"
#include "tools/qlir-status/ranges.h"
#include "tools/qlir-status/series_scan.h"

namespace qlir::status_tool {

struct FailedSlice {
  std::string key;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::optional<int> http_status;
  std::string error;                        // the manifest's error text ("" when null)
  std::optional<std::string> completed_at;  // when the last attempt ended
};

// A manifest entry whose key cannot be a slice of this series.
struct InvalidEntry {
  std::string key;
  std::string problem;
};

struct SeriesReport {
  SeriesLocation series;
  // Non-empty when manifest.json is missing, unreadable, corrupt or describes another series;
  // then nothing below but `disk` is filled in.
  std::string manifest_error;
  std::string last_evaluated_at;  // the manifest's summary.last_evaluated_at

  // The covered range: start of the first and end of the last known slice (any status).
  std::optional<int64_t> first_start_ms;
  std::optional<int64_t> last_end_ms;

  int64_t ok = 0;
  int64_t partial = 0;
  int64_t failed = 0;
  int64_t pending = 0;  // entries marked pending (counted in `missing` too)
  // Grid slices between the first and last known slice that the manifest lacks or marks pending.
  int64_t missing = 0;
  std::vector<TimeRange> missing_ranges;   // merged, ascending
  std::vector<TimeRange> failed_ranges;    // merged, ascending
  std::vector<FailedSlice> failed_slices;  // ascending by window
  std::vector<InvalidEntry> invalid_entries;
  DiskUsage disk;

  // A corrupt manifest, an invalid entry, a failed or a missing slice.
  bool HasProblem() const {
    return !manifest_error.empty() || !invalid_entries.empty() || failed > 0 || missing > 0;
  }
};

struct StatusReport {
  std::filesystem::path data_root;
  StateBackend backend = StateBackend::kJson;  // where the manifests are
  uint64_t state_db_bytes = 0;                 // SQLite roots: state.sqlite3 with its -wal and -shm
  std::vector<SeriesReport> series;
  bool HasProblem() const;
};

// The key `key` parsed, if it can be a slice of the series `m` describes: it parses
// (ParseCompositeKey), has the manifest's symbol, interval and limit, and lies on the grid.
// The error says which rule it breaks.
Result<SliceKey> CheckEntryKey(const std::string& key, const Manifest& m);

// Ok when the manifest names the series of the directory it lies in.
Status CheckManifestIdentity(const Manifest& m, const SeriesLocation& loc);

// Reads the series' manifest (manifest_reader.h: manifest.json or state.sqlite3) and summarises
// it. Never fails: a missing or bad manifest sets manifest_error.
SeriesReport BuildSeriesReport(ManifestReader& reader, const SeriesLocation& loc);

// The summary of an already parsed manifest (no disk usage). Exposed for tests.
SeriesReport SummariseManifest(const SeriesLocation& loc, const Manifest& m);

// Every series under `root` that passes `filter`. Errors only when the root cannot be listed.
Result<StatusReport> BuildStatusReport(const std::filesystem::path& root,
                                       const SeriesFilter& filter);

}  // namespace qlir::status_tool
