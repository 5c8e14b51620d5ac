// SqliteManifestStore: the ManifestStore of a data root whose state is <root>/state.sqlite3
// (common/state_db.h, docs/on-disk-format.md "state.sqlite3"). The response files stay the
// source of truth, as with manifest.json: the database is an index of them.
//
// Memory: only a few numbers per series loaded in this run; the entries stay in the database
// (SQLite's page cache, a few MB), so the persister's memory does not grow with the number of
// series or slices. Loading a series for the first time in a run reads its entries once to
// recover it (recovery.h, given the database's entries instead of manifest.json); that series
// is then held only while it is recovered.
//
// Group commit: results go into one open write transaction, committed (WAL, synchronous=FULL:
// durable) once `commit_every` updates or `commit_ms` have passed since its first update, and
// at Flush(). A failed commit (a full disk) is rolled back and the updates since the last good
// commit are applied again from memory and committed later, with a growing delay. Losing them
// in a crash loses nothing stored: recovery re-indexes the response files. A series is marked
// open in the database (committed) when first loaded in a run, and the marks are cleared by a
// clean Close, so the series a crash left marked are recovered at the next start.
//
// A database that is not ours or is damaged (common/state_db.h's Corruption) is moved aside as
// state.sqlite3.corrupt-<UTC> (with its -wal and -shm) and a new one made; each series is then
// rebuilt from its response files when first loaded. A database that cannot be read (an I/O
// error) is an error: nothing is moved.
#pragma once

#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/state_db.h"
#include "persister/disk.h"
#include "persister/manifest_store.h"
#include "persister/recovery.h"

namespace qlir::persister {

struct SqliteStoreOptions {
  int64_t commit_every = 1000;  // updates
  int64_t commit_ms = 2000;
  VerifyResponses verify = VerifyResponses::kAuto;  // ResolveVerify, per series
  Clock* clock = nullptr;                           // outlives the store; null: the system's clocks
};

class SqliteManifestStore : public ManifestStore {
 public:
  // Opens (or creates) <root>/state.sqlite3. REQUIRES: the data-root lock is held; `disk`
  // outlives the store.
  static Result<std::unique_ptr<SqliteManifestStore>> Open(const std::filesystem::path& root,
                                                           SqliteStoreOptions options, Disk* disk);
  SqliteManifestStore(const SqliteManifestStore&) = delete;
  SqliteManifestStore& operator=(const SqliteManifestStore&) = delete;

  Result<StatusPage> LoadStatusPage(const SeriesId& series, const std::string& after,
                                    size_t max) override;
  Result<std::optional<SliceStatus>> Lookup(const SeriesId& series,
                                            const std::string& key) override;
  Result<std::optional<ManifestEntry>> Entry(const SeriesId& series,
                                             const std::string& key) override;
  Result<int> ForEachEntry(const SeriesId& series, const EntryFn& fn) override;
  Result<SliceStatus> Record(const SeriesId& series, const SliceRecord& record) override;
  Result<SliceStatus> Overwrite(const SeriesId& series, const SliceRecord& record) override;
  Result<size_t> MarkPending(const SeriesId& series, const std::vector<std::string>& keys,
                             int64_t now_ms) override;
  std::map<std::string, std::vector<std::string>> TakeRecoveredPending() override {
    return std::exchange(recovered_pending_, {});
  }
  // Lagging: the series was being written when a persister last stopped without Close (a crash:
  // its response files may be ahead of the database), or the database was made anew at this
  // start (deleted, or moved aside as damaged): every series is rebuilt from its files.
  StartCheck CheckAtStart(const SeriesLocation& loc) override;
  std::vector<SeriesId> LoadedSeries() const override;
  Status FlushDue(int64_t now_ms) override;
  Status Flush() override;
  // Flush, then the open marks cleared and committed: the next start recovers nothing early.
  Status Close() override;
  std::optional<int64_t> NextFlushMs() const override;

  // Number of commits done so far, and the path moved aside at open (empty when none).
  int64_t commits() const { return commits_; }
  const std::filesystem::path& moved_aside() const { return moved_aside_; }

 private:
  struct Series {
    int64_t db_id = 0;
    int limit = 0;
  };
  SqliteManifestStore(std::filesystem::path root, SqliteStoreOptions options, Disk* disk);

  Result<const Series*> Load(const SeriesId& id);
  Result<SliceStatus> Put(const SeriesId& id, const SliceRecord& r, bool overwrite);
  // Opens the write transaction if none is open, replaying the updates a failed commit lost.
  Status EnsureTransaction();
  Status Upsert(int64_t db_id, const std::string& key, const ManifestEntry& e);
  // Commits the open transaction. On failure it is rolled back, and the first `keep` updates
  // since the last good commit are applied again in a new one (a later commit writes them).
  Status Commit(size_t keep = std::numeric_limits<size_t>::max());
  // Rolls back the open transaction and applies the first `keep` updates again.
  void Abandon(size_t keep);

  const std::filesystem::path root_;
  const SqliteStoreOptions options_;
  RealClock real_clock_;  // used when options_.clock is null
  Clock* const clock_;
  Disk* const disk_;
  std::unique_ptr<StateDb> db_;
  bool made_anew_ = false;            // no database (or a damaged one) before this start
  std::set<SeriesId> open_at_start_;  // series marked open by a run that did not Close
  std::filesystem::path moved_aside_;
  std::map<SeriesId, Series> series_;  // loaded (recovered) in this run
  std::map<std::string, std::vector<std::string>> recovered_pending_;

  bool in_transaction_ = false;
  int64_t first_update_ms_ = 0;  // monotonic time of the open transaction's first update
  // Updates since the last good commit (bounded by commit_every while commits succeed),
  // applied again after a failed commit.
  std::vector<std::tuple<int64_t, std::string, ManifestEntry>> uncommitted_;
  std::set<int64_t> touched_;  // series ids written in the open transaction
  int64_t retry_at_ms_ = 0;
  int64_t failures_ = 0;
  int64_t commits_ = 0;
};

}  // namespace qlir::persister
