// `qlir-status migrate --to sqlite|json`: moves a data root's manifests from one backend to the
// other, offline (docs/on-disk-format.md, "state.sqlite3"; tools/qlir-status/README.md). The
// response files are never touched.
//
// It holds the data root's lock (common/data_root_lock.h) for the whole run, so no persister
// writes meanwhile, and refuses while one does. The presence of <root>/state.sqlite3 decides the
// backend at every moment, so a crash at any point leaves a root that reads as one backend or the
// other, whole, and running the command again finishes the job:
//   to sqlite: every manifest.json is read (a corrupt one stops everything, named, before any
//              change), written into state.sqlite3.<pid>.tmp, which is synced, renamed to
//              state.sqlite3 (the switch), and the root synced; then the manifest.json files go.
//   to json:   every series' manifest.json is written atomically from the database and its folder
//              synced; then state.sqlite3 goes (the switch), its -wal/-shm after it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/data_root.h"
#include "common/status.h"

namespace qlir::status_tool {

struct MigrateResult {
  StateBackend from = StateBackend::kJson;
  StateBackend to = StateBackend::kJson;
  bool already = false;  // the root was already `to` (leftovers of an earlier run removed)
  int64_t series = 0;    // series moved
  int64_t slices = 0;    // entries moved
  int64_t removed = 0;   // files of the old backend removed (manifest.json, state.sqlite3...)
  uint64_t state_db_bytes = 0;     // to sqlite: the size of state.sqlite3
  std::vector<std::string> notes;  // one line each: what else was done or found
};

// Errors: Unavailable when another process holds the root's lock; Corruption naming the file
// when a manifest.json or the database does not read (nothing was changed); NotFound when the
// root is not a directory; IOError when a write failed (rerun once the cause is fixed).
Result<MigrateResult> Migrate(const std::filesystem::path& root, StateBackend to);

std::string RenderMigrateText(const MigrateResult& r, const std::filesystem::path& root);

}  // namespace qlir::status_tool
