#include "persister/sqlite_manifest_store.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>

#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/slice_id.h"
#include "common/time_util.h"
#include "persister/slice_precedence.h"

namespace qlir::persister {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxRetryDelayMs = 30000;

// Moves a damaged database (and its -wal, -shm) aside under one UTC name.
Result<fs::path> MoveAside(const fs::path& root, int64_t wall_now_ms, Disk* disk) {
  const fs::path db = root / kStateDbName;
  const fs::path aside = root / CorruptStateDbName(wall_now_ms);
  for (const char* suffix : {"-wal", "-shm"}) {
    const fs::path from = db.string() + suffix;
    const fs::path to = aside.string() + suffix;
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return Status::Error("cannot move " + from.string() + " aside: " + std::strerror(errno));
    }
  }
  if (::rename(db.c_str(), aside.c_str()) != 0 && errno != ENOENT) {
    return Status::Error("cannot move " + db.string() + " aside: " + std::strerror(errno));
  }
  QLIR_RETURN_IF_ERROR(disk->SyncDir(root));
  return aside;
}

}  // namespace

SqliteManifestStore::SqliteManifestStore(fs::path root, SqliteStoreOptions options, Disk* disk)
    : root_(std::move(root)),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &real_clock_),
      disk_(disk) {}

Result<std::unique_ptr<SqliteManifestStore>> SqliteManifestStore::Open(const fs::path& root,
                                                                       SqliteStoreOptions options,
                                                                       Disk* disk) {
  std::unique_ptr<SqliteManifestStore> store(
      new SqliteManifestStore(root, std::move(options), disk));
  std::error_code ec;
  store->made_anew_ = !fs::exists(root / kStateDbName, ec) && !ec;
  // Opened without PRAGMA quick_check (it reads the whole file: about 0.9 s per million
  // slices), unless the last persister stopped without closing: a clean stop left pages that
  // SQLite wrote and synced itself. Damage found later fails that series' loads, loudly.
  std::vector<StateDb::SeriesRow> open;
  auto open_db = [&]() -> Result<std::unique_ptr<StateDb>> {
    auto db = StateDb::OpenFile(root / std::string(kStateDbName), StateDb::Mode::kReadWrite,
                                StateDb::OpenOptions{.quick_check = false});
    if (!db) return db.status();
    auto marked = (*db)->OpenSeries();
    if (!marked) return marked.status();
    if (!marked->empty()) QLIR_RETURN_IF_ERROR((*db)->QuickCheck());
    open = std::move(*marked);
    return db;
  };
  auto db = open_db();
  if (!db && db.status().IsCorruption()) {
    // Never overwrite what we cannot read: keep it aside, and rebuild from the response files.
    auto aside = MoveAside(root, store->clock_->WallNowMs(), disk);
    if (!aside) {
      return Status::Error(db.error() + "; and it cannot be moved aside: " + aside.error());
    }
    store->moved_aside_ = *aside;
    Log(LogLevel::kError, {},
        "state database damaged (" + db.error() + "): moved aside to " + aside->string() +
            "; every series is rebuilt from its response files");
    store->made_anew_ = true;  // every series is recovered at start
    db = open_db();
  }
  if (!db) return db.status();
  store->db_ = std::move(*db);
  for (const StateDb::SeriesRow& r : open) {
    store->open_at_start_.insert(SeriesId{r.endpoint, r.symbol, r.interval});
  }
  if (!open.empty()) {
    Log(LogLevel::kWarn, {},
        "state database: " + std::to_string(open.size()) +
            " series were being written when the last persister stopped without closing; "
            "they are recovered from their response files now (the database passed "
            "quick_check)");
  }
  return store;
}

StartCheck SqliteManifestStore::CheckAtStart(const SeriesLocation& loc) {
  StartCheck out;
  out.lagging =
      made_anew_ || open_at_start_.contains(SeriesId{loc.endpoint, loc.symbol, loc.interval});
  return out;
}

Result<const SqliteManifestStore::Series*> SqliteManifestStore::Load(const SeriesId& id) {
  if (auto it = series_.find(id); it != series_.end()) return &it->second;
  auto dir = SeriesDir(root_, id.endpoint, id.symbol, id.interval);
  if (!dir) return dir.status();
  const Endpoint* endpoint = FindEndpoint(id.endpoint);
  if (!endpoint) return Status::Error(id.ToString() + ": " + UnknownEndpointMessage(id.endpoint));
  const int64_t started = clock_->MonotonicNowMs();
  auto stored = db_->ReadManifest(id.endpoint, id.symbol, id.interval);
  if (!stored) return stored.status();
  Manifest given;
  if (*stored) {
    given = std::move(**stored);
  } else {
    given.endpoint = id.endpoint;
    given.symbol = id.symbol;
    given.interval = id.interval;
    given.limit = endpoint->default_limit();
  }
  RecoveryOptions ro;
  // Marked open at start: stored before a crash, possibly after its last commit.
  ro.verify = ResolveVerify(options_.verify, made_anew_ || open_at_start_.contains(id));
  ro.wall_now_ms = clock_->WallNowMs();
  ro.disk = disk_;
  ro.given = &given;
  auto recovered = RecoverSeries(*dir, id, ro);
  if (!recovered) return recovered.status();
  const RecoveryReport& r = recovered->report;
  const Manifest& m = recovered->manifest;
  // Recovery changes entries and adds some, never removes one: write those it names, with the
  // series' open mark, and commit them before anything more of the series is stored. If that
  // fails, none of it is kept (a new series' id would be given again to another).
  QLIR_RETURN_IF_ERROR(EnsureTransaction());
  const size_t mark = uncommitted_.size();
  int64_t db_id = 0;
  size_t written = 0;
  Status st = [&]() -> Status {
    auto found = db_->EnsureSeries(m);
    if (!found) return found.status();
    db_id = *found;
    QLIR_RETURN_IF_ERROR(db_->MarkOpen(db_id));
    if (!*stored) touched_.insert(db_id);  // a new series gets its last_evaluated_at
    for (const std::string& key : r.changed_keys) {
      QLIR_RETURN_IF_ERROR(Upsert(db_id, key, m.slices.at(key)));
      ++written;
    }
    return Status::Ok();
  }();
  if (st.ok()) {
    st = Commit(mark);
  } else {
    Abandon(mark);
  }
  if (!st.ok()) return Status::Error("cannot load " + id.ToString() + ": " + st.message());
  Log(LogLevel::kInfo, {},
      "loaded " + id.ToString() + ": " + std::to_string(m.slices.size()) + " slices in " +
          std::to_string(clock_->MonotonicNowMs() - started) + " ms (indexed " +
          std::to_string(r.indexed) + ", set pending " + std::to_string(r.demoted) +
          ", digests computed " + std::to_string(r.digested) + ", temporaries removed " +
          std::to_string(r.temporaries_removed) + "; " + std::to_string(written) +
          " entries written)");
  if (!r.demoted_keys.empty()) {
    auto& keys = recovered_pending_[id.endpoint];
    keys.insert(keys.end(), r.demoted_keys.begin(), r.demoted_keys.end());
  }
  return &series_.emplace(id, Series{db_id, m.limit}).first->second;
}

Result<StatusPage> SqliteManifestStore::LoadStatusPage(const SeriesId& id, const std::string& after,
                                                       size_t max) {
  auto s = Load(id);
  if (!s) return s.status();
  const size_t n = std::max<size_t>(1, max);
  StatusPage page;
  page.slices.reserve(std::min<size_t>(n, 1 << 16));
  QLIR_RETURN_IF_ERROR(
      db_->ForEachStatus((*s)->db_id, after, n + 1, [&](const std::string& key, SliceStatus st) {
        if (page.slices.size() == n) {
          page.more = true;
        } else {
          page.slices.emplace_back(key, st);
        }
      }));
  return page;
}

Result<std::optional<ManifestEntry>> SqliteManifestStore::Entry(const SeriesId& id,
                                                                const std::string& key) {
  auto s = Load(id);
  if (!s) return s.status();
  return db_->ReadEntry((*s)->db_id, key);
}

Result<std::optional<SliceStatus>> SqliteManifestStore::Lookup(const SeriesId& id,
                                                               const std::string& key) {
  auto e = Entry(id, key);
  if (!e) return e.status();
  if (!*e) return std::optional<SliceStatus>();
  return std::optional<SliceStatus>((*e)->status);
}

Result<int> SqliteManifestStore::ForEachEntry(const SeriesId& id, const EntryFn& fn) {
  auto s = Load(id);
  if (!s) return s.status();
  QLIR_RETURN_IF_ERROR(db_->ForEachEntry((*s)->db_id, "", std::numeric_limits<size_t>::max(), fn));
  return (*s)->limit;
}

Status SqliteManifestStore::EnsureTransaction() {
  if (in_transaction_) return Status::Ok();
  QLIR_RETURN_IF_ERROR(db_->Begin());
  in_transaction_ = true;
  first_update_ms_ = clock_->MonotonicNowMs();
  for (const auto& [db_id, key, e] : uncommitted_) {
    if (Status st = db_->UpsertEntry(db_id, key, e); !st.ok()) {
      (void)db_->Rollback();
      in_transaction_ = false;
      return st;
    }
    touched_.insert(db_id);
  }
  return Status::Ok();
}

Status SqliteManifestStore::Upsert(int64_t db_id, const std::string& key, const ManifestEntry& e) {
  QLIR_RETURN_IF_ERROR(EnsureTransaction());
  QLIR_RETURN_IF_ERROR(db_->UpsertEntry(db_id, key, e));
  uncommitted_.emplace_back(db_id, key, e);
  touched_.insert(db_id);
  return Status::Ok();
}

Result<SliceStatus> SqliteManifestStore::Record(const SeriesId& id, const SliceRecord& r) {
  return Put(id, r, /*overwrite=*/false);
}

Result<SliceStatus> SqliteManifestStore::Overwrite(const SeriesId& id, const SliceRecord& r) {
  return Put(id, r, /*overwrite=*/true);
}

Result<SliceStatus> SqliteManifestStore::Put(const SeriesId& id, const SliceRecord& r,
                                             bool overwrite) {
  auto s = Load(id);
  if (!s) return s.status();
  const int64_t db_id = (*s)->db_id;
  auto old = db_->ReadEntry(db_id, r.key);
  if (!old) return old.status();
  if (!overwrite && *old && !Supersedes(r.entry.status, (*old)->status)) return (*old)->status;
  ManifestEntry e = r.entry;
  e.slice_id = SliceId(r.key);
  e.relative_path = ResponseRelativePath(e.slice_id);
  if (*old && **old == e) return e.status;  // the same result again: nothing to write
  QLIR_RETURN_IF_ERROR(Upsert(db_id, r.key, e));
  return e.status;
}

Result<size_t> SqliteManifestStore::MarkPending(const SeriesId& id,
                                                const std::vector<std::string>& keys,
                                                int64_t /*now_ms*/) {
  auto s = Load(id);
  if (!s) return s.status();
  const int64_t db_id = (*s)->db_id;
  size_t count = 0;
  bool changed = false;
  for (const std::string& key : keys) {
    auto e = db_->ReadEntry(db_id, key);
    if (!e) return e.status();
    if (!*e) continue;
    ++count;
    if ((*e)->status == SliceStatus::kPending) continue;
    ManifestEntry pending = **e;
    pending.status = SliceStatus::kPending;
    pending.error = "marked pending by MARK_PENDING";
    pending.digest.reset();  // no stored response is vouched for any more
    QLIR_RETURN_IF_ERROR(Upsert(db_id, key, pending));
    changed = true;
    Log(LogLevel::kInfo, key, "marked pending");
  }
  if (changed) QLIR_RETURN_IF_ERROR(Commit());
  return count;
}

void SqliteManifestStore::Abandon(size_t keep) {
  (void)db_->Rollback();  // an error: no transaction is open any more
  in_transaction_ = false;
  touched_.clear();
  if (keep < uncommitted_.size()) uncommitted_.resize(keep);
  // Applied again at once, so that what this store answers still includes them.
  if (Status again = EnsureTransaction(); !again.ok()) {
    Log(LogLevel::kError, {}, "state database: cannot reopen the transaction: " + again.message());
  }
}

Status SqliteManifestStore::Commit(size_t keep) {
  if (!in_transaction_) return Status::Ok();
  if (retry_at_ms_ > clock_->MonotonicNowMs()) {
    if (keep < uncommitted_.size()) Abandon(keep);
    return Status::Error("state database: the last commit failed; retrying later");
  }
  const std::string now = FormatIsoUtc(clock_->WallNowMs());
  Status st;
  for (int64_t db_id : touched_) {
    st = db_->SetLastEvaluatedAt(db_id, now);
    if (!st.ok()) break;
  }
  if (st.ok()) st = db_->Commit();
  if (st.ok()) {
    ++commits_;
    in_transaction_ = false;
    uncommitted_.clear();
    touched_.clear();
    failures_ = 0;
    retry_at_ms_ = 0;
    return Status::Ok();
  }
  // Keep the updates; apply them again in a new transaction and retry later with a growing
  // delay (a full disk may clear).
  ++failures_;
  const int64_t delay =
      std::min<int64_t>(kMaxRetryDelayMs, 250LL << std::min<int64_t>(failures_, 7));
  retry_at_ms_ = clock_->MonotonicNowMs() + delay;
  Abandon(keep);
  return Status::Error("cannot commit the state database (" + std::to_string(uncommitted_.size()) +
                       " updates kept): " + st.message());
}

Status SqliteManifestStore::FlushDue(int64_t now_ms) {
  auto due = NextFlushMs();
  if (!due || *due > now_ms) return Status::Ok();
  return Commit();
}

Status SqliteManifestStore::Flush() {
  retry_at_ms_ = 0;  // one try now
  return Commit();
}

Status SqliteManifestStore::Close() {
  QLIR_RETURN_IF_ERROR(Flush());
  QLIR_RETURN_IF_ERROR(db_->ClearOpen());  // its own transaction
  open_at_start_.clear();
  return Status::Ok();
}

std::optional<int64_t> SqliteManifestStore::NextFlushMs() const {
  if (!in_transaction_ || uncommitted_.empty()) return std::nullopt;
  const int64_t due = static_cast<int64_t>(uncommitted_.size()) >= options_.commit_every
                          ? first_update_ms_
                          : first_update_ms_ + options_.commit_ms;
  return std::max(due, retry_at_ms_);
}

std::vector<SeriesId> SqliteManifestStore::LoadedSeries() const {
  std::vector<SeriesId> out;
  out.reserve(series_.size());
  for (const auto& [id, s] : series_) out.push_back(id);
  return out;
}

}  // namespace qlir::persister
