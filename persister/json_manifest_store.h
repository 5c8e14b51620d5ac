// JsonManifestStore: the ManifestStore of docs/on-disk-format.md, one manifest.json per series
// (<root>/binance/<endpoint>/raw/<symbol>/<interval>/manifest.json, schema common/manifest.h).
//
// Series are loaded lazily: the first question about a series (a result or a status request)
// runs recovery.h on its folder, and the answer comes after it.
//
// Group commit: updates stay in memory and a series' manifest is rewritten (crash-safely, via
// Disk::WriteFileAtomic) once `flush_every` updates or `flush_ms` have passed since its first
// unwritten update, and at Flush(). Rewriting costs O(size of the manifest), so with `adaptive`
// both thresholds grow with the manifest: at least size/`adaptive_ratio` updates per rewrite,
// and flush_ms * size/`adaptive_ms_step`; the rewrite cost per slice stays flat as it grows.
// Losing unwritten updates in a crash loses nothing stored: recovery re-indexes the response
// files; only failures (which have no file) are forgotten, and a forgotten failure is refetched.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "common/clock.h"
#include "persister/disk.h"
#include "persister/manifest_store.h"
#include "persister/recovery.h"

namespace qlir::persister {

struct JsonStoreOptions {
  int64_t flush_every = 1000;  // updates
  int64_t flush_ms = 2000;
  bool adaptive = true;
  int64_t adaptive_ratio = 20;       // rewrite after at least size/ratio updates
  int64_t adaptive_ms_step = 50000;  // flush_ms grows by one step per this many slices
  VerifyResponses verify = VerifyResponses::kAuto;  // ResolveVerify, per series
  Clock* clock = nullptr;                           // outlives the store; null: the system's clocks
  // Bounded memory: once the loaded manifests hold more slices than this, the written series
  // used least recently are dropped from memory before another series is loaded and after each
  // flush (read again from manifest.json, without a second recovery, when next asked for).
  // Series with unwritten updates are kept.
  int64_t max_cached_slices = 2000000;
};

class JsonManifestStore : public ManifestStore {
 public:
  // REQUIRES: the data-root lock is held; `disk` outlives the store.
  JsonManifestStore(std::filesystem::path root, JsonStoreOptions options, Disk* disk);
  JsonManifestStore(const JsonManifestStore&) = delete;
  JsonManifestStore& operator=(const JsonManifestStore&) = delete;

  Result<StatusPage> LoadStatusPage(const SeriesId& series, const std::string& after,
                                    size_t max) override;
  Result<std::optional<SliceStatus>> Lookup(const SeriesId& series,
                                            const std::string& key) override;
  Result<std::optional<ManifestEntry>> Entry(const SeriesId& series,
                                             const std::string& key) override;
  Result<int> ForEachEntry(const SeriesId& series, const EntryFn& fn) override;
  // Lagging: manifest.json is missing or not newer than responses/.
  StartCheck CheckAtStart(const SeriesLocation& loc) override;
  // Counted in manifest.json (recovery.h, CountEntriesWithoutDigest).
  size_t LackingDigests(const SeriesLocation& loc) override;
  Result<SliceStatus> Record(const SeriesId& series, const SliceRecord& record) override;
  Result<SliceStatus> Overwrite(const SeriesId& series, const SliceRecord& record) override;
  Result<size_t> MarkPending(const SeriesId& series, const std::vector<std::string>& keys,
                             int64_t now_ms) override;
  std::map<std::string, std::vector<std::string>> TakeRecoveredPending() override {
    return std::exchange(recovered_pending_, {});
  }
  Status FlushDue(int64_t now_ms) override;
  Status Flush() override;
  std::optional<int64_t> NextFlushMs() const override;

  std::vector<SeriesId> LoadedSeries() const override;
  // The in-memory manifest of a loaded series (nullptr otherwise), valid until the store is next
  // changed: for tests and the benchmark.
  const Manifest* Peek(const SeriesId& series) const;
  // Thresholds for a manifest of `size` slices (see the file comment).
  int64_t FlushEveryFor(size_t size) const;
  int64_t FlushMsFor(size_t size) const;
  // Number of manifest rewrites done so far, and of series dropped from memory.
  int64_t flushes() const { return flushes_; }
  int64_t evictions() const { return evictions_; }
  // Slices of the manifests held in memory now.
  int64_t cached_slices() const;

 private:
  struct Series {
    std::filesystem::path dir;
    Manifest manifest;
    int64_t dirty = 0;           // updates not yet written
    int64_t first_dirty_ms = 0;  // monotonic time of the first of them
    int64_t retry_at_ms = 0;     // after a failed write, not before this
    int64_t failures = 0;        // consecutive failed writes
    uint64_t last_used = 0;      // use_counter_ when last asked for
  };

  Result<Series*> Load(const SeriesId& series);
  Result<SliceStatus> Put(const SeriesId& id, const SliceRecord& r, bool overwrite);
  void MarkDirty(Series* s);
  Status WriteSeries(const SeriesId& id, Series* s);
  // Drops written series, least recently used first, while more than max_cached_slices are held.
  void Evict();
  std::optional<int64_t> DueAt(const Series& s) const;

  const std::filesystem::path root_;
  const JsonStoreOptions options_;
  RealClock real_clock_;  // used when options_.clock is null
  Clock* const clock_;
  Disk* const disk_;
  std::map<SeriesId, std::unique_ptr<Series>> series_;  // in memory now
  std::set<SeriesId> recovered_;                        // recovered in this run
  uint64_t use_counter_ = 0;
  int64_t evictions_ = 0;
  std::map<std::string, std::vector<std::string>> recovered_pending_;  // see TakeRecoveredPending
  int64_t flushes_ = 0;
};

}  // namespace qlir::persister
