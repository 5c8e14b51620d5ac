#include "persister/json_manifest_store.h"

#include <algorithm>

#include "common/data_root.h"
#include "common/log.h"
#include "common/slice_id.h"
#include "common/time_util.h"
#include "persister/slice_precedence.h"

namespace qlir::persister {

namespace fs = std::filesystem;

namespace {
JsonStoreOptions WithDefaults(JsonStoreOptions o) {
  o.flush_every = std::max<int64_t>(1, o.flush_every);
  o.flush_ms = std::max<int64_t>(0, o.flush_ms);
  o.adaptive_ratio = std::max<int64_t>(1, o.adaptive_ratio);
  o.adaptive_ms_step = std::max<int64_t>(1, o.adaptive_ms_step);
  return o;
}
constexpr int64_t kMaxRetryDelayMs = 30000;
}  // namespace

JsonManifestStore::JsonManifestStore(fs::path root, JsonStoreOptions options, Disk* disk)
    : root_(std::move(root)),
      options_(WithDefaults(std::move(options))),
      clock_(options_.clock ? options_.clock : &real_clock_),
      disk_(disk) {}

int64_t JsonManifestStore::FlushEveryFor(size_t size) const {
  if (!options_.adaptive) return options_.flush_every;
  return std::max<int64_t>(options_.flush_every,
                           static_cast<int64_t>(size) / options_.adaptive_ratio);
}

int64_t JsonManifestStore::FlushMsFor(size_t size) const {
  if (!options_.adaptive) return options_.flush_ms;
  return options_.flush_ms * (1 + static_cast<int64_t>(size) / options_.adaptive_ms_step);
}

Result<JsonManifestStore::Series*> JsonManifestStore::Load(const SeriesId& id) {
  if (auto it = series_.find(id); it != series_.end()) {
    it->second->last_used = ++use_counter_;
    return it->second.get();
  }
  auto dir = SeriesDir(root_, id.endpoint, id.symbol, id.interval);
  if (!dir) return dir.status();
  // Room first: many series asked for in one round (a planner's start) must not all stay.
  Evict();
  const int64_t started = clock_->MonotonicNowMs();
  if (recovered_.contains(id)) {
    // Dropped from memory after it was written (Evict): its manifest.json is what we held.
    auto m = ParseManifestFile((*dir / kManifestName).string());
    if (m && m->endpoint == id.endpoint && m->symbol == id.symbol && m->interval == id.interval) {
      auto s = std::make_unique<Series>();
      s->dir = *dir;
      s->manifest = std::move(*m);
      s->last_used = ++use_counter_;
      Log(LogLevel::kDebug, {},
          "read " + id.ToString() + " again: " + std::to_string(s->manifest.slices.size()) +
              " slices in " + std::to_string(clock_->MonotonicNowMs() - started) + " ms");
      return series_.emplace(id, std::move(s)).first->second.get();
    }
    Log(LogLevel::kWarn, {},
        "cannot read " + id.ToString() + " again (" +
            (m ? std::string("another series") : m.error()) + "): recovering it");
  }
  RecoveryOptions ro;
  ro.verify = ResolveVerify(options_.verify, ManifestMayLag(*dir));
  ro.wall_now_ms = clock_->WallNowMs();
  ro.disk = disk_;
  auto recovered = RecoverSeries(*dir, id, ro);
  if (!recovered) return recovered.status();
  auto s = std::make_unique<Series>();
  s->dir = *dir;
  s->manifest = std::move(recovered->manifest);
  s->last_used = ++use_counter_;
  recovered_.insert(id);
  const RecoveryReport& r = recovered->report;
  Log(LogLevel::kInfo, {},
      "loaded " + id.ToString() + ": " + std::to_string(s->manifest.slices.size()) + " slices in " +
          std::to_string(clock_->MonotonicNowMs() - started) + " ms (indexed " +
          std::to_string(r.indexed) + ", set pending " + std::to_string(r.demoted) +
          ", digests computed " + std::to_string(r.digested) + ", temporaries removed " +
          std::to_string(r.temporaries_removed) + ")");
  if (!r.demoted_keys.empty()) {
    auto& keys = recovered_pending_[id.endpoint];
    keys.insert(keys.end(), r.demoted_keys.begin(), r.demoted_keys.end());
  }
  Series* raw = s.get();
  series_.emplace(id, std::move(s));
  if (r.changed) {
    // Write the repaired index now; if that fails it stays dirty and is retried.
    MarkDirty(raw);
    if (Status st = WriteSeries(id, raw); !st.ok()) {
      Log(LogLevel::kError, {}, "cannot write the recovered manifest: " + st.message());
    }
  }
  return raw;
}

Result<StatusPage> JsonManifestStore::LoadStatusPage(const SeriesId& id, const std::string& after,
                                                     size_t max) {
  auto s = Load(id);
  if (!s) return s.status();
  const auto& slices = (*s)->manifest.slices;
  StatusPage page;
  auto it = after.empty() ? slices.begin() : slices.upper_bound(after);
  const size_t n = std::max<size_t>(1, max);
  for (; it != slices.end() && page.slices.size() < n; ++it) {
    page.slices.emplace_back(it->first, it->second.status);
  }
  page.more = it != slices.end();
  return page;
}

Result<std::optional<ManifestEntry>> JsonManifestStore::Entry(const SeriesId& id,
                                                              const std::string& key) {
  auto s = Load(id);
  if (!s) return s.status();
  auto it = (*s)->manifest.slices.find(key);
  if (it == (*s)->manifest.slices.end()) return std::optional<ManifestEntry>();
  return std::optional<ManifestEntry>(it->second);
}

Result<int> JsonManifestStore::ForEachEntry(const SeriesId& id, const EntryFn& fn) {
  auto s = Load(id);
  if (!s) return s.status();
  for (const auto& [key, e] : (*s)->manifest.slices) fn(key, e);
  return (*s)->manifest.limit;
}

Result<std::optional<SliceStatus>> JsonManifestStore::Lookup(const SeriesId& id,
                                                             const std::string& key) {
  auto s = Load(id);
  if (!s) return s.status();
  auto it = (*s)->manifest.slices.find(key);
  if (it == (*s)->manifest.slices.end()) return std::optional<SliceStatus>();
  return std::optional<SliceStatus>(it->second.status);
}

StartCheck JsonManifestStore::CheckAtStart(const SeriesLocation& loc) {
  return StartCheck{ManifestMayLag(loc.dir)};
}

size_t JsonManifestStore::LackingDigests(const SeriesLocation& loc) {
  auto n = CountEntriesWithoutDigest(loc.dir / kManifestName);
  return n ? *n : 0;  // a manifest that does not parse is recovered when asked
}

void JsonManifestStore::MarkDirty(Series* s) {
  if (s->dirty++ == 0) s->first_dirty_ms = clock_->MonotonicNowMs();
}

Result<SliceStatus> JsonManifestStore::Record(const SeriesId& id, const SliceRecord& r) {
  return Put(id, r, /*overwrite=*/false);
}

Result<SliceStatus> JsonManifestStore::Overwrite(const SeriesId& id, const SliceRecord& r) {
  return Put(id, r, /*overwrite=*/true);
}

Result<SliceStatus> JsonManifestStore::Put(const SeriesId& id, const SliceRecord& r,
                                           bool overwrite) {
  auto loaded = Load(id);
  if (!loaded) return loaded.status();
  Series* s = *loaded;
  auto it = s->manifest.slices.find(r.key);
  if (!overwrite && it != s->manifest.slices.end() &&
      !Supersedes(r.entry.status, it->second.status)) {
    return it->second.status;
  }
  ManifestEntry e = r.entry;
  e.slice_id = SliceId(r.key);
  e.relative_path = ResponseRelativePath(e.slice_id);
  if (it != s->manifest.slices.end()) {
    if (it->second == e) return e.status;  // the same result again: nothing to write
    it->second = std::move(e);
  } else {
    s->manifest.slices.emplace(r.key, std::move(e));
  }
  MarkDirty(s);
  return r.entry.status;
}

Result<size_t> JsonManifestStore::MarkPending(const SeriesId& id,
                                              const std::vector<std::string>& keys,
                                              int64_t /*now_ms*/) {
  auto loaded = Load(id);
  if (!loaded) return loaded.status();
  Series* s = *loaded;
  size_t count = 0;
  bool changed = false;
  for (const std::string& key : keys) {
    auto it = s->manifest.slices.find(key);
    if (it == s->manifest.slices.end()) continue;
    ++count;
    if (it->second.status == SliceStatus::kPending) continue;
    it->second.status = SliceStatus::kPending;
    it->second.error = "marked pending by MARK_PENDING";
    it->second.digest.reset();  // no stored response is vouched for any more
    changed = true;
    Log(LogLevel::kInfo, key, "marked pending");
  }
  if (changed) {
    MarkDirty(s);
    QLIR_RETURN_IF_ERROR(WriteSeries(id, s));
  }
  return count;
}

Status JsonManifestStore::WriteSeries(const SeriesId& id, Series* s) {
  if (s->dirty == 0) return Status::Ok();
  QLIR_RETURN_IF_ERROR(CreateDirsDurably(s->dir, disk_));
  s->manifest.last_evaluated_at = FormatIsoUtc(clock_->WallNowMs());
  const int64_t started = clock_->MonotonicNowMs();
  const std::string text = SerializeManifest(s->manifest);
  Status st = disk_->WriteFileAtomic(s->dir / kManifestName, text, /*sync_dir=*/true);
  if (st.ok()) {
    Log(LogLevel::kInfo, {},
        "wrote manifest of " + id.ToString() + ": " + std::to_string(s->manifest.slices.size()) +
            " slices, " + std::to_string(s->dirty) + " updates, " + std::to_string(text.size()) +
            " bytes in " + std::to_string(clock_->MonotonicNowMs() - started) + " ms");
  }
  if (!st.ok()) {
    // Keep the updates; try again later with a growing delay (a full disk may clear).
    ++s->failures;
    const int64_t delay =
        std::min<int64_t>(kMaxRetryDelayMs, 250LL << std::min<int64_t>(s->failures, 7));
    s->retry_at_ms = clock_->MonotonicNowMs() + delay;
    return Status::Error("cannot write manifest of " + id.ToString() + ": " + st.message());
  }
  ++flushes_;
  s->dirty = 0;
  s->failures = 0;
  s->retry_at_ms = 0;
  return Status::Ok();
}

std::optional<int64_t> JsonManifestStore::DueAt(const Series& s) const {
  if (s.dirty == 0) return std::nullopt;
  const size_t size = s.manifest.slices.size();
  int64_t due =
      s.dirty >= FlushEveryFor(size) ? s.first_dirty_ms : s.first_dirty_ms + FlushMsFor(size);
  return std::max(due, s.retry_at_ms);
}

Status JsonManifestStore::FlushDue(int64_t now_ms) {
  Status first_error;
  for (auto& [id, s] : series_) {
    auto due = DueAt(*s);
    if (!due || *due > now_ms) continue;
    if (Status st = WriteSeries(id, s.get()); !st.ok() && first_error.ok()) first_error = st;
  }
  Evict();
  return first_error;
}

Status JsonManifestStore::Flush() {
  Status first_error;
  for (auto& [id, s] : series_) {
    if (Status st = WriteSeries(id, s.get()); !st.ok() && first_error.ok()) first_error = st;
  }
  Evict();
  return first_error;
}

int64_t JsonManifestStore::cached_slices() const {
  int64_t n = 0;
  for (const auto& [id, s] : series_) n += static_cast<int64_t>(s->manifest.slices.size());
  return n;
}

void JsonManifestStore::Evict() {
  int64_t held = cached_slices();
  if (held <= options_.max_cached_slices) return;
  std::vector<std::pair<uint64_t, SeriesId>> clean;
  for (const auto& [id, s] : series_) {
    if (s->dirty == 0 && !s->manifest.slices.empty()) clean.emplace_back(s->last_used, id);
  }
  std::sort(clean.begin(), clean.end());
  for (const auto& [used, id] : clean) {
    if (held <= options_.max_cached_slices) break;
    auto it = series_.find(id);
    held -= static_cast<int64_t>(it->second->manifest.slices.size());
    series_.erase(it);
    ++evictions_;
  }
}

std::optional<int64_t> JsonManifestStore::NextFlushMs() const {
  std::optional<int64_t> next;
  for (const auto& [id, s] : series_) {
    auto due = DueAt(*s);
    if (due && (!next || *due < *next)) next = due;
  }
  return next;
}

std::vector<SeriesId> JsonManifestStore::LoadedSeries() const {
  return std::vector<SeriesId>(recovered_.begin(), recovered_.end());
}

const Manifest* JsonManifestStore::Peek(const SeriesId& id) const {
  auto it = series_.find(id);
  return it == series_.end() ? nullptr : &it->second->manifest;
}

}  // namespace qlir::persister
