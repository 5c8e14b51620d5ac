// The one place qlir-status reads a series' manifest, whichever backend the data root uses
// (docs/on-disk-format.md, "state.sqlite3": the presence of <root>/state.sqlite3 decides):
// the series' manifest.json, or its rows in state.sqlite3, opened read-only. Both are safe beside
// a running persister: a manifest.json is replaced by rename, so the one file opened is whole,
// old or new; the database is in WAL mode, and one series is read in one read transaction.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/data_root.h"
#include "common/manifest.h"
#include "common/state_db.h"
#include "common/status.h"
#include "tools/qlir-status/series_scan.h"

namespace qlir::status_tool {

class ManifestReader {
 public:
  // Detects the root's backend; a SQLite root's database is opened here, and an error (damaged,
  // unreadable) names it.
  static Result<std::unique_ptr<ManifestReader>> Open(const std::filesystem::path& root);

  StateBackend backend() const { return backend_; }
  const std::filesystem::path& root() const { return root_; }

  // The series passing `filter`: the series folders under the root and, on a SQLite root, the
  // series the database knows too (a series may have no folder yet), sorted, without duplicates.
  Result<std::vector<SeriesLocation>> FindSeries(const SeriesFilter& filter);

  // The series' manifest. NotFound when it has none ("<file>: no manifest"), Corruption when it
  // does not read (the message names the file), IOError when it cannot be read.
  Result<Manifest> Read(const SeriesLocation& loc);

  // Where `loc`'s manifest lives: <dir>/manifest.json or <root>/state.sqlite3.
  std::filesystem::path Where(const SeriesLocation& loc) const;

 private:
  ManifestReader(std::filesystem::path root, StateBackend backend, std::unique_ptr<StateDb> db)
      : root_(std::move(root)), backend_(backend), db_(std::move(db)) {}
  std::filesystem::path root_;
  StateBackend backend_;
  std::unique_ptr<StateDb> db_;  // SQLite roots only
};

}  // namespace qlir::status_tool
