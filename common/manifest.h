// manifest.json: model and JSON codec, exactly the schema of docs/on-disk-format.md
// ("manifest.json"):
//   version, endpoint, symbol, interval, limit,
//   summary {total_slices, ok_slices, failed_slices, last_evaluated_at},
//   slices {<composite key>: {slice_id, relative_path, status, http_status, n_items, first_ts,
//                             last_ts, requested_at, completed_at, error[, digest]
//                             [, holes_confirmed_at]}}
// `digest` (common/body_digest.h) is optional: written only when known (stored ok/partial
// slices), and a manifest without it reads as before. A field the reader does not know is
// ignored wherever it appears (an older reader skips `digest` the same way).
// Timestamps are ISO-8601 UTC ending in Z. A text that is not JSON or not this schema yields a
// Corruption naming the file; never an exception, never a silent reset.
//
// The one codec of the project. It reads with a SAX parser and writes without building a JSON
// document (a 250k-slice manifest is ~80 MB of text); the plain nlohmann DOM version is kept as
// the tests' oracle (common/manifest_oracle.h), and the two agree byte for byte.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qlir {

// pending: expected, not stored; ok: stored and final; failed: last attempt failed;
// partial: stored while its window was still open (not final, fetched again later).
enum class SliceStatus { kPending, kOk, kFailed, kPartial };

std::string_view SliceStatusName(SliceStatus s);
Result<SliceStatus> ParseSliceStatus(std::string_view s);

struct ManifestEntry {
  std::string slice_id;
  std::string relative_path;
  SliceStatus status = SliceStatus::kPending;
  std::optional<int> http_status;
  int64_t n_items = 0;
  std::optional<int64_t> first_ts;
  std::optional<int64_t> last_ts;
  std::optional<std::string> requested_at;
  std::optional<std::string> completed_at;
  std::optional<std::string> error;
  // BLAKE2b-256 of the stored `data` bytes, 64 lowercase hex (common/body_digest.h); absent for
  // pending and failed entries, and for entries of a manifest written before it existed.
  std::optional<std::string> digest;
  // An ok slice with fewer rows than its window holds, fetched again later with the same rows:
  // when that second fetch was made (ISO-8601 UTC). The missing candles are the exchange's own
  // gap, not a damaged download (qlir-status holes). Optional like `digest`.
  std::optional<std::string> holes_confirmed_at;
  friend bool operator==(const ManifestEntry&, const ManifestEntry&) = default;
};

struct ManifestSummary {
  int64_t total_slices = 0;
  int64_t ok_slices = 0;
  int64_t failed_slices = 0;
  std::string last_evaluated_at;
};

struct Manifest {
  int version = 1;
  std::string endpoint;
  std::string symbol;
  std::string interval;
  int limit = 1000;
  std::string last_evaluated_at;                // written into summary
  std::map<std::string, ManifestEntry> slices;  // keyed by composite key, sorted

  ManifestSummary Summary() const;
};

// `origin` (usually the file's path) is named in every error (a Corruption).
Result<Manifest> ParseManifest(std::string_view json_text, std::string_view origin);
// The same, streaming from a file so that its text is never held whole. A file that cannot be
// read is an IOError (not damage: nothing may be moved aside for it); a text that does not parse
// is a Corruption.
Result<Manifest> ParseManifestFile(const std::string& path);
// Pretty-printed JSON (two-space indent, the schema's field order) with a trailing newline.
std::string SerializeManifest(const Manifest& m);

}  // namespace qlir
