// `qlir-status verify`: re-reads every response file of a data root and checks it against its
// manifest entry (docs/on-disk-format.md, "manifest.json" and "Response files";
// tools/qlir-status/README.md lists the checks). Read-only: it never edits, renames or removes a
// file. Repair goes through the persister (repair.h), the only writer.
//
// Full mode (the default) proves the bytes: the file's `data` against the entry's digest
// (common/body_digest.h), and every row for sense against its slice (Endpoint::AuditPayload),
// the row count and first/last open times against the entry. Quick mode only looks at presence,
// sizes and the file's framing (two small reads per file), for roots too big to read whole.
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
#include "tools/qlir-status/manifest_reader.h"
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
  kDigestMismatch,       // the file's data does not hash to the entry's digest (bytes changed)
  // Notices (VerifyReport::notices), not problems:
  kNoDigest,         // stored entries without a digest (a manifest not upgraded yet): rows only
  kIrregularRows,    // rows off the grid or with an odd close time, as the exchange serves them
  kIgnoredManifest,  // a manifest.json on a SQLite root: state.sqlite3 decides, it is not read
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

struct VerifyOptions {
  bool quick = false;  // presence, sizes and framing only (no digest, no rows)
};

// What one pass over one series counted.
struct VerifyCounts {
  int64_t files_checked = 0;   // response files read (full) or looked at (quick)
  int64_t bytes_checked = 0;   // their sizes
  int64_t slices_checked = 0;  // ok/partial entries checked
  int64_t digest_checked = 0;  // of those, files whose data was hashed against the digest
  int64_t no_digest = 0;       // of those, entries without a digest (rows checked only)
  void Add(const VerifyCounts& o) {
    digest_checked += o.digest_checked;
    files_checked += o.files_checked;
    bytes_checked += o.bytes_checked;
    slices_checked += o.slices_checked;
    no_digest += o.no_digest;
  }
};

struct VerifyReport {
  std::filesystem::path data_root;
  bool quick = false;
  int64_t series_checked = 0;
  int64_t files_checked = 0;  // response files read
  int64_t bytes_checked = 0;
  int64_t slices_checked = 0;
  int64_t digest_checked = 0;
  int64_t no_digest = 0;
  std::vector<Problem> problems;
  // Worth knowing, not wrong: kNoDigest (one per series) and kIrregularRows (one per slice).
  // They do not make the root unclean and are never repaired.
  std::vector<Problem> notices;
  std::optional<RepairResult> repair;

  // The distinct keys of repairable problems, sorted.
  // The keys to mark pending, by endpoint (the first part of `series`).
  std::map<std::string, std::vector<std::string>> RepairKeys() const;
};

struct SeriesVerification {
  std::vector<Problem> problems;
  std::vector<Problem> notices;
  VerifyCounts counts;
};

// One pass over one series, its manifest read through `reader` (manifest.json or state.sqlite3).
SeriesVerification VerifySeries(ManifestReader& reader, const SeriesLocation& loc,
                                const VerifyOptions& options = {});

// Every series under `root` passing `filter`, with the second pass described above. Errors only
// when the root cannot be listed.
Result<VerifyReport> Verify(const std::filesystem::path& root, const SeriesFilter& filter,
                            const VerifyOptions& options = {});

}  // namespace qlir::status_tool
