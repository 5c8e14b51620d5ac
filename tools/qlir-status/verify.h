// `qlir-status verify`: re-reads every response file of a data root and checks it against its
// manifest entry (docs/on-disk-format.md, "manifest.json" and "Response files";
// tools/qlir-status/README.md lists the checks). Read-only: it never edits, renames or removes a
// file. Repair goes through the persister (repair.h), the only writer.
//
// Beside a running persister a check can race a write: a response is renamed into place before
// the manifest that names it is flushed. So a series with problems is checked a second time after
// the whole root was checked once, and only problems seen in both passes are reported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tools/qlir-status/series_scan.h"

namespace qlir::status_tool {

enum class ProblemKind {
  kManifest,        // manifest.json missing, unreadable, corrupt or of another series
  kBadKey,          // a manifest key that does not parse, is off the grid, or of another series
  kSliceId,         // entry's slice_id is not BLAKE2b-128 of its key
  kRelativePath,    // entry's relative_path is not responses/<slice_id>.json
  kFileMissing,     // an ok/partial entry whose response file is missing
  kFileUnreadable,  // the response file cannot be read (I/O error)
  kFileCorrupt,     // not valid JSON (e.g. truncated) or not a response file
  kSliceMismatch,   // meta.slice is not the manifest key
  kBadData,         // data fails ValidateKlinesPayload (e.g. a row outside the window)
  kCountMismatch,   // n_items, first_ts or last_ts differ between file and manifest
  kUnindexedFile,   // a response file for an entry the manifest calls failed
  kOrphanFile,      // a response file the manifest does not name
  kTempFile,        // a leftover temporary (*.tmp)
  kUnknownFile,     // a name the layout does not know
  kCorruptManifestKept,  // manifest.json.corrupt-*: a damaged manifest the persister set aside
};

// "file-missing", "bad-data", ...: the problem column of the report.
std::string_view ProblemKindName(ProblemKind kind);

struct Problem {
  std::string series;  // "klines/BTCUSDT/1m"
  std::string key;     // composite key, or "-" when the problem has none
  ProblemKind kind = ProblemKind::kManifest;
  std::string detail;  // one line naming the file
  // True when the key is a manifest entry that MARK_PENDING can send back to the fetchers.
  bool repairable = false;
};

struct RepairResult {
  std::string persister;   // the control endpoint asked
  uint64_t requested = 0;  // keys sent
  uint64_t marked = 0;     // the persister's ACK count (keys it found in its manifests)
  std::string error;       // non-empty when the repair did not go through
};

struct VerifyReport {
  std::filesystem::path data_root;
  int64_t series_checked = 0;
  int64_t files_checked = 0;  // response files read
  std::vector<Problem> problems;
  std::optional<RepairResult> repair;

  // The distinct keys of repairable problems, sorted.
  // The keys to mark pending, by endpoint (the first part of `series`).
  std::map<std::string, std::vector<std::string>> RepairKeys() const;
};

// One pass over one series. `files_checked` (may be null) is increased by the files read.
std::vector<Problem> VerifySeries(const SeriesLocation& loc, int64_t* files_checked);

// Every series under `root` passing `filter`, with the second pass described above. Errors only
// when the root cannot be listed.
Result<VerifyReport> Verify(const std::filesystem::path& root, const SeriesFilter& filter);

}  // namespace qlir::status_tool
