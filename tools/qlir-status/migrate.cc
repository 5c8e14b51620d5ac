#include "tools/qlir-status/migrate.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>

#include "common/atomic_file.h"
#include "common/data_root_lock.h"
#include "common/manifest.h"
#include "common/state_db.h"
#include "tools/qlir-status/render.h"

namespace qlir::status_tool {

namespace fs = std::filesystem;

namespace {

Status SyncFile(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("cannot fsync " + path.string() + ": " + std::strerror(err));
  return Status::Ok();
}

// Removes `path` if it exists; true when it did.
Result<bool> RemoveIfPresent(const fs::path& path) {
  std::error_code ec;
  const bool removed = fs::remove(path, ec);
  if (ec) return Status::IOError("cannot remove " + path.string() + ": " + ec.message());
  return removed;
}

// The database `file` and its -wal and -shm.
std::vector<fs::path> WithSidecars(const fs::path& file) {
  return {file, fs::path(file.string() + std::string(kStateDbWalSuffix)),
          fs::path(file.string() + std::string(kStateDbShmSuffix))};
}

// state.sqlite3.<pid>.tmp (and -wal/-shm) left by an interrupted migrate: with the lock held,
// no one is building one.
Status RemoveStateTemporaries(const fs::path& root, MigrateResult* r) {
  auto names = ListDir(root);
  if (!names) return names.status();
  for (const DirEntry& n : *names) {
    if (ClassifyRootName(n.name) != RootName::kStateDbTemporary) continue;
    auto removed = RemoveIfPresent(root / n.name);
    if (!removed) return removed.status();
    r->notes.push_back("removed " + (root / n.name).string() + " (left by an interrupted migrate)");
  }
  return Status::Ok();
}

Status CheckIdentity(const Manifest& m, const SeriesLocation& loc, const fs::path& path) {
  if (m.endpoint != loc.endpoint || m.symbol != loc.symbol || m.interval != loc.interval) {
    return Status::Corruption(path.string() + " describes " + m.endpoint + "/" + m.symbol + "/" +
                              m.interval + ", not " + loc.Name());
  }
  return Status::Ok();
}

Result<MigrateResult> ToSqlite(const fs::path& root, MigrateResult r) {
  auto series = ListSeries(root);
  if (!series) return series.status();
  const fs::path db_path = root / std::string(kStateDbName);
  if (r.already) {
    // The database is complete (it was renamed into place whole): what remains of the JSON
    // backend is only what an interrupted run had not removed yet.
    for (const SeriesLocation& loc : *series) {
      auto removed = RemoveIfPresent(loc.dir / kManifestName);
      if (!removed) return removed.status();
      if (*removed) ++r.removed;
    }
    if (r.removed > 0) {
      r.notes.push_back("removed " + std::to_string(r.removed) +
                        " manifest.json files an interrupted migrate had left");
    }
    return r;
  }

  const fs::path tmp = root / TemporaryStateDbName(::getpid());
  auto discard = [&](Status s) -> Status {
    for (const fs::path& p : WithSidecars(tmp)) {
      std::error_code ec;
      fs::remove(p, ec);  // best effort: the error of interest is s
    }
    return s;
  };
  std::vector<fs::path> written;  // the manifest.json files now in the database
  {
    auto db = StateDb::OpenFile(tmp, StateDb::Mode::kReadWrite,
                                StateDb::OpenOptions{.quick_check = false, .durable = false});
    if (!db) return discard(db.status());
    for (const SeriesLocation& loc : *series) {
      const fs::path path = loc.dir / kManifestName;
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        if (ec)
          return discard(Status::IOError("cannot stat " + path.string() + ": " + ec.message()));
        r.notes.push_back(loc.Name() +
                          ": no manifest.json, nothing to move (the persister rebuilds its state "
                          "from responses/ when it starts)");
        continue;
      }
      const bool lags = ManifestMayLag(loc.dir);  // before reading: a conservative answer
      auto m = ParseManifestFile(path.string());
      if (!m) return discard(m.status());
      if (Status s = CheckIdentity(*m, loc, path); !s.ok()) return discard(s);
      if (Status s = (*db)->ReplaceManifest(*m); !s.ok()) return discard(s);
      if (lags) {
        auto id = (*db)->FindSeries(m->endpoint, m->symbol, m->interval);
        if (!id) return discard(id.status());
        if (!*id) return discard(Status::Error(tmp.string() + ": " + loc.Name() + " vanished"));
        if (Status s = (*db)->MarkOpen(**id); !s.ok()) return discard(s);
        r.notes.push_back(loc.Name() +
                          ": its responses/ changed after its manifest.json (a persister "
                          "stopped uncleanly): marked for recovery at the persister's next start");
      }
      ++r.series;
      r.slices += static_cast<int64_t>(m->slices.size());
      written.push_back(path);
    }
    // Everything into the main file, the WAL emptied; the close removes the WAL and index.
    if (Status s = (*db)->Checkpoint(); !s.ok()) return discard(s);
  }
  for (const fs::path& p : WithSidecars(tmp)) {
    std::error_code ec;
    if (p != tmp && fs::exists(p, ec)) {
      return discard(Status::IOError(p.string() + ": still present after the database closed"));
    }
  }
  if (Status s = SyncFile(tmp); !s.ok()) return discard(s);
  // A JSON root has no WAL or index of its own; ones left by an interrupted run would be taken
  // for the new database's.
  for (const fs::path& p : WithSidecars(db_path)) {
    if (p == db_path) continue;
    auto removed = RemoveIfPresent(p);
    if (!removed) return discard(removed.status());
    if (*removed) r.notes.push_back("removed a stale " + p.string());
  }
  // The switch: from here on the root is a SQLite root.
  if (::rename(tmp.c_str(), db_path.c_str()) != 0) {
    return discard(Status::IOError("cannot rename " + tmp.string() + " to " + db_path.string() +
                                   ": " + std::strerror(errno)));
  }
  QLIR_RETURN_IF_ERROR(SyncDir(root));
  std::error_code ec;
  r.state_db_bytes = fs::file_size(db_path, ec);
  for (const fs::path& p : written) {
    auto removed = RemoveIfPresent(p);
    if (!removed) return removed.status();
    if (*removed) ++r.removed;
  }
  return r;
}

Result<MigrateResult> ToJson(const fs::path& root, MigrateResult r) {
  if (r.already) return r;
  const fs::path db_path = root / std::string(kStateDbName);
  {
    // Read-write (we hold the lock, no one else writes): its quick_check vouches for the whole
    // file before anything is written, and its close folds the WAL into the file.
    auto db = StateDb::Open(root, StateDb::Mode::kReadWrite);
    if (!db) return db.status();
    auto rows = (*db)->ListSeries();
    if (!rows) return rows.status();
    auto open = (*db)->OpenSeries();
    if (!open) return open.status();
    std::set<int64_t> open_ids;
    for (const StateDb::SeriesRow& o : *open) open_ids.insert(o.id);
    // Every name must make a folder before anything is written.
    std::vector<fs::path> dirs;
    for (const StateDb::SeriesRow& row : *rows) {
      auto dir = SeriesDir(root, row.endpoint, row.symbol, row.interval);
      if (!dir) {
        return Status::Corruption(db_path.string() + ": series " + row.endpoint + "/" + row.symbol +
                                  "/" + row.interval + " cannot be a folder: " + dir.error());
      }
      dirs.push_back(*dir);
    }
    for (size_t i = 0; i < rows->size(); ++i) {
      const StateDb::SeriesRow& row = (*rows)[i];
      auto m = (*db)->ReadManifest(row.endpoint, row.symbol, row.interval);
      if (!m) return m.status();
      if (!m->has_value()) continue;  // listed a moment ago; no one else writes
      std::error_code ec;
      fs::create_directories(dirs[i], ec);
      if (ec) return Status::IOError("cannot create " + dirs[i].string() + ": " + ec.message());
      QLIR_RETURN_IF_ERROR(WriteFileAtomic(dirs[i] / kManifestName, SerializeManifest(**m),
                                           AtomicWriteOptions{.sync_dir = false}));
      if (open_ids.contains(row.id)) {
        // The JSON backend's sign for the same: responses/ no older than manifest.json.
        std::error_code e1, e2;
        const auto written = fs::last_write_time(dirs[i] / kManifestName, e1);
        if (!e1 && fs::is_directory(dirs[i] / kResponsesDir, e2)) {
          fs::last_write_time(dirs[i] / kResponsesDir, written, e1);
          if (e1) {
            return Status::IOError("cannot set the time of " + (dirs[i] / kResponsesDir).string() +
                                   ": " + e1.message());
          }
          r.notes.push_back(row.endpoint + "/" + row.symbol + "/" + row.interval +
                            ": marked open in the database (a persister stopped uncleanly): "
                            "left for recovery at the persister's next start");
        }
      }
      QLIR_RETURN_IF_ERROR(SyncDir(dirs[i]));
      ++r.series;
      r.slices += static_cast<int64_t>((*m)->slices.size());
    }
    // A folder the database does not know has no manifest on this root (the persister would
    // rebuild it from responses/): a manifest.json found there is stale, and must not come back
    // to life when the database goes.
    auto folders = ListSeries(root);
    if (!folders) return folders.status();
    std::set<std::tuple<std::string, std::string, std::string>> known;
    for (const auto& row : *rows) known.emplace(row.endpoint, row.symbol, row.interval);
    for (const SeriesLocation& loc : *folders) {
      if (known.contains({loc.endpoint, loc.symbol, loc.interval})) continue;
      auto removed = RemoveIfPresent(loc.dir / kManifestName);
      if (!removed) return removed.status();
      if (*removed) {
        QLIR_RETURN_IF_ERROR(SyncDir(loc.dir));
        r.notes.push_back("removed " + (loc.dir / kManifestName).string() +
                          ": the database has no such series (stale, not read on a SQLite root)");
      }
    }
    QLIR_RETURN_IF_ERROR((*db)->Checkpoint());
  }
  // The switch, last: the database first (it is whole on its own after the checkpoint and
  // close), then its WAL and index if the close left any.
  for (const fs::path& p : WithSidecars(db_path)) {
    auto removed = RemoveIfPresent(p);
    if (!removed) return removed.status();
    if (*removed) ++r.removed;
  }
  QLIR_RETURN_IF_ERROR(SyncDir(root));
  return r;
}

}  // namespace

Result<MigrateResult> Migrate(const fs::path& root, StateBackend to) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return Status::NotFound("data root " + root.string() + " is not a directory" +
                            (ec ? ": " + ec.message() : ""));
  }
  auto lock = DataRootLock::Acquire(root);
  if (!lock) return lock.status();
  MigrateResult r;
  r.from = DetectStateBackend(root);
  r.to = to;
  r.already = r.from == to;
  QLIR_RETURN_IF_ERROR(RemoveStateTemporaries(root, &r));
  return to == StateBackend::kSqlite ? ToSqlite(root, std::move(r)) : ToJson(root, std::move(r));
}

std::string RenderMigrateText(const MigrateResult& r, const fs::path& root) {
  std::ostringstream out;
  const std::string to(StateBackendName(r.to));
  if (r.already) {
    out << "migrate: data root " << root.string() << " is already " << to << "; nothing to move\n";
  } else {
    out << "migrate: data root " << root.string() << " is now " << to << ": " << r.series
        << " series, " << r.slices << " slices moved from " << StateBackendName(r.from);
    if (r.to == StateBackend::kSqlite) {
      out << " into " << (root / std::string(kStateDbName)).string() << " ("
          << HumanBytes(r.state_db_bytes) << "); " << r.removed << " manifest.json files removed\n";
    } else {
      out << " into manifest.json files; " << (root / std::string(kStateDbName)).string()
          << " removed\n";
    }
  }
  for (const std::string& n : r.notes) out << "migrate: " << n << "\n";
  return out.str();
}

}  // namespace qlir::status_tool
