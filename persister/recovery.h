// Recovery of one series directory at load time (docs/conventions.md, "Crash-safe file update",
// step 7; leveldb's db/repair.cc). The response files are the durable truth; manifest.json is an
// index of them that may lag behind (group commit) or be damaged:
//   - leftover temporaries (manifest.json.*.tmp, responses/*.tmp) are removed;
//   - a manifest that does not parse, or describes another series, is never overwritten: it is
//     renamed to manifest.json.corrupt-<UTC> and the index is rebuilt from responses/;
//   - a response file the manifest lacks (or lists as failed: the file is newer, a failure never
//     replaces a stored response) is indexed from its own meta: partial when fetched_at <= the
//     slice's end_ms (window still open at the exchange's clock), else ok; n_items, first_ts,
//     last_ts from its data; http_status and requested_at unknown (null), completed_at =
//     fetched_at;
//   - a response file indexed, or a listed ok/partial entry without a digest (a manifest written
//     before entries had one), gets the BLAKE2b-256 digest of its stored `data` bytes
//     (common/body_digest.h): the manifest is upgraded in place, nothing is fetched; a listed
//     file that is not the entry's (another slice, other rows) cannot get one and is demoted;
//   - an ok or partial entry whose file is missing or damaged becomes pending (fetched again);
//   - something not a regular file (a directory...) under a response file's name is renamed to
//     <name>.unreadable-<UTC> (it could never be read, nor replaced by a stored result);
//   - names it cannot classify are logged and left alone; a response file it cannot decode and
//     the manifest does not list is logged and left alone (a later result overwrites it).
// An unreadable manifest (I/O error, not a parse error) is an error: nothing is touched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/manifest.h"
#include "common/status.h"
#include "persister/disk.h"
#include "persister/manifest_store.h"

namespace qlir::persister {

enum class VerifyResponses {
  kExists,  // listed entries: the file exists (one directory listing, no file opened)
  kQuick,   // listed entries: the file exists and is framed as EncodeResponseFile writes it
  kFull,    // listed entries: the file decodes, names its slice, and its data matches the
            // entry's digest, if any (reads every file)
  // A store's choice per series (ResolveVerify): kQuick where the state may lag the files (an
  // unclean stop), kExists where it was written after them. Recovery given it checks as kQuick.
  kAuto,
};

// The check for one series' load: `chosen`, or for kAuto kQuick when its state may lag its
// response files and kExists otherwise. A response file is renamed into place only after its
// bytes are synced, and listed only after that, so a file listed by a state written after the
// last change to responses/ was whole when listed: opening each one at every start (about
// 30 us a file warm, a disk seek each cold) would look for damage from outside our writes,
// which `qlir-status verify` finds.
VerifyResponses ResolveVerify(VerifyResponses chosen, bool state_may_lag);

struct RecoveryOptions {
  VerifyResponses verify = VerifyResponses::kQuick;
  // The series' index as another state backend holds it (SQLite: common/state_db.h), already
  // checked to be this series'; an empty manifest when the backend knows nothing of it. Set, it
  // replaces manifest.json (that file is neither read nor moved; a leftover one is left alone)
  // and is moved from: only one copy of a big series is held.
  Manifest* given = nullptr;
  int64_t wall_now_ms = 0;  // names a corrupt manifest moved aside
  Disk* disk = nullptr;     // REQUIRES: non-null
};

struct RecoveryReport {
  size_t indexed = 0;   // response files added to the index
  size_t demoted = 0;   // ok/partial entries set pending
  size_t digested = 0;  // listed entries given the digest they lacked (an old manifest)
  std::vector<std::string> demoted_keys;  // their keys (a running planner is told: intake.h)
  // Every key whose entry recovery changed or added (demoted, digested, indexed): what a
  // backend that stores entries one by one writes back.
  std::vector<std::string> changed_keys;
  size_t temporaries_removed = 0;
  size_t ignored_names = 0;     // names left alone
  size_t undecodable = 0;       // response files neither listed nor decodable
  size_t unreadable_moved = 0;  // non-files under a response name, moved aside
  bool manifest_corrupt = false;
  std::filesystem::path corrupt_moved_to;
  // True when the recovered manifest differs from the file (it should be written).
  bool changed = false;
};

struct RecoveredSeries {
  Manifest manifest;
  RecoveryReport report;
};

// How many ok/partial entries of the manifest at `manifest_path` lack a digest (a manifest
// written before entries had one; RecoverSeries upgrades it). Reads only. A text in the form
// SerializeManifest writes is scanned, not parsed, when the scan shows none lacking (so a
// damaged one may answer 0: loading the series finds the damage); otherwise it is parsed, and
// an error when it cannot be read or parsed.
Result<size_t> CountEntriesWithoutDigest(const std::filesystem::path& manifest_path);

// REQUIRES: the data-root lock is held (recovery removes and renames files).
Result<RecoveredSeries> RecoverSeries(const std::filesystem::path& series_dir,
                                      const SeriesId& series, const RecoveryOptions& options);

}  // namespace qlir::persister
