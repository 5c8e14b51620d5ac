#include "common/state_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <system_error>

#include "common/body_digest.h"
#include "common/data_root.h"

namespace qlir {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSchemaSql =
    "CREATE TABLE series (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  endpoint TEXT NOT NULL, symbol TEXT NOT NULL, interval TEXT NOT NULL,\n"
    "  version INTEGER NOT NULL, \"limit\" INTEGER NOT NULL,\n"
    "  last_evaluated_at TEXT NOT NULL,\n"
    "  UNIQUE (endpoint, symbol, interval));\n"
    "CREATE TABLE slices (\n"
    "  series_id INTEGER NOT NULL REFERENCES series(id),\n"
    "  key TEXT NOT NULL,\n"
    "  slice_id TEXT NOT NULL, relative_path TEXT NOT NULL, status TEXT NOT NULL,\n"
    "  http_status INTEGER, n_items INTEGER NOT NULL, first_ts INTEGER, last_ts INTEGER,\n"
    "  requested_at TEXT, completed_at TEXT, error TEXT, digest TEXT, holes_confirmed_at TEXT,\n"
    "  PRIMARY KEY (series_id, key)) WITHOUT ROWID;\n"
    "CREATE TABLE open_series (\n"
    "  series_id INTEGER PRIMARY KEY REFERENCES series(id));\n";

// The entry columns, in the order RowToEntry reads and BindEntry binds them.
#define QLIR_ENTRY_COLUMNS                                                                   \
  "slice_id, relative_path, status, http_status, n_items, first_ts, last_ts, requested_at, " \
  "completed_at, error, digest, holes_confirmed_at"
constexpr int kEntryColumns = 12;

// Finalizes on scope exit; statements kept in Statements are reset instead (Reset below).
struct StmtReset {
  sqlite3_stmt* s;
  ~StmtReset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

struct StmtFinalize {
  sqlite3_stmt* s = nullptr;
  ~StmtFinalize() { sqlite3_finalize(s); }
};

Status BindText(sqlite3_stmt* s, int i, std::string_view v) {
  // SQLITE_TRANSIENT: the bytes are copied (the caller's string may go before the step).
  if (sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK) {
    return Status::Error("cannot bind a value");
  }
  return Status::Ok();
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  const int n = sqlite3_column_bytes(s, i);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

}  // namespace

struct StateDb::Statements {
  sqlite3_stmt* list_series = nullptr;
  sqlite3_stmt* find_series = nullptr;
  sqlite3_stmt* insert_series = nullptr;
  sqlite3_stmt* update_series = nullptr;
  sqlite3_stmt* series_header = nullptr;
  sqlite3_stmt* set_last_evaluated = nullptr;
  sqlite3_stmt* read_entry = nullptr;
  sqlite3_stmt* entries_after = nullptr;
  sqlite3_stmt* upsert_entry = nullptr;
  sqlite3_stmt* delete_entries = nullptr;
  sqlite3_stmt* counts = nullptr;

  ~Statements() {
    for (sqlite3_stmt* s :
         {list_series, find_series, insert_series, update_series, series_header, set_last_evaluated,
          read_entry, entries_after, upsert_entry, delete_entries, counts}) {
      sqlite3_finalize(s);
    }
  }
};

StateDb::StateDb(fs::path path, sqlite3* db)
    : path_(std::move(path)), db_(db), st_(std::make_unique<Statements>()) {}

StateDb::~StateDb() {
  st_.reset();  // every statement finalized before the connection closes
  // An open transaction is rolled back by the close.
  sqlite3_close_v2(db_);
}

Status StateDb::Error(int rc, std::string_view what) const {
  const int primary = rc & 0xff;
  std::string msg = path_.string() + ": " + std::string(what) + ": ";
  // The connection's message is more precise than the code's ("no such table: x").
  if (db_ && sqlite3_errcode(db_) != SQLITE_OK) {
    msg += sqlite3_errmsg(db_);
  } else {
    msg += sqlite3_errstr(rc);
  }
  switch (primary) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return Status::Corruption(msg);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_NOLFS:
    case SQLITE_AUTH:
      return Status::IOError(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg);
    default:
      return Status::Error(msg);
  }
}

Status StateDb::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, sql);
  return Status::Ok();
}

Status StateDb::Prepare(const char* sql, sqlite3_stmt** stmt) {
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
  if (rc != SQLITE_OK) {
    // A statement of our own schema that does not prepare ("no such table", "no such column")
    // means the file is not the schema it claims to be.
    Status s = Error(rc, "schema");
    if ((rc & 0xff) == SQLITE_ERROR) return Status::Corruption(s.message());
    return s;
  }
  return Status::Ok();
}

Result<std::unique_ptr<StateDb>> StateDb::Open(const fs::path& root, Mode mode) {
  return OpenFile(root / std::string(kStateDbName), mode, OpenOptions{});
}

Result<std::unique_ptr<StateDb>> StateDb::OpenFile(const fs::path& file, Mode mode,
                                                   OpenOptions options) {
  if (mode == Mode::kReadOnly) {
    std::error_code ec;
    const fs::file_status st = fs::status(file, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::IOError("cannot open " + file.string() + ": " + ec.message());
    }
    if (!fs::exists(st)) return Status::NotFound(file.string() + ": no such state database");
    if (!fs::is_regular_file(st)) {
      return Status::Corruption(file.string() + ": not a regular file");
    }
  }
  sqlite3* db = nullptr;
  const int flags = (mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY
                                             : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
  std::unique_ptr<StateDb> sdb(new StateDb(file, db));
  if (rc != SQLITE_OK) {
    if (!db) return Status::IOError(file.string() + ": cannot open: out of memory");
    return sdb->Error(rc, "cannot open");
  }
  QLIR_RETURN_IF_ERROR(sdb->Init(mode, options));
  return sdb;
}

Status StateDb::Init(Mode mode, const OpenOptions& options) {
  // A reader waits for a writer's short exclusive moments (WAL recovery, checkpoint) instead of
  // failing at once; the persister is the only writer.
  sqlite3_busy_timeout(db_, 10000);
  sqlite3_extended_result_codes(db_, 1);

  auto pragma_int = [&](const char* sql) -> Result<int64_t> {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
    StmtFinalize f{raw};
    if (rc != SQLITE_OK) return Error(rc, sql);
    const int step = sqlite3_step(raw);
    if (step != SQLITE_ROW) return Error(step, sql);
    return static_cast<int64_t>(sqlite3_column_int64(raw, 0));
  };
  // The first read of the header: a file that is not a database fails here (SQLITE_NOTADB).
  auto app_id = pragma_int("PRAGMA application_id");
  if (!app_id) return app_id.status();
  auto user_version = pragma_int("PRAGMA user_version");
  if (!user_version) return user_version.status();
  auto objects = pragma_int("SELECT count(*) FROM sqlite_master");
  if (!objects) return objects.status();

  const bool blank = *app_id == 0 && *user_version == 0 && *objects == 0;
  if (blank && mode == Mode::kReadWrite) {
    // A new file (or one whose creation a crash interrupted before the schema committed).
    QLIR_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    QLIR_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = Exec(kSchemaSql);
    if (s.ok()) {
      s = Exec(("PRAGMA application_id=" + std::to_string(kStateDbApplicationId)).c_str());
    }
    if (s.ok()) {
      s = Exec(("PRAGMA user_version=" + std::to_string(kStateDbSchemaVersion)).c_str());
    }
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok()) {
      (void)Exec("ROLLBACK");  // the error of interest is s
      return s;
    }
  } else {
    if (*app_id != kStateDbApplicationId) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08X", static_cast<uint32_t>(*app_id));
      return Status::Corruption(path_.string() + ": not a qlir state database (application_id " +
                                hex + (blank ? ", an empty database" : "") + ")");
    }
    if (*user_version != kStateDbSchemaVersion) {
      return Status::Corruption(path_.string() + ": unsupported state schema version " +
                                std::to_string(*user_version) + " (this program reads " +
                                std::to_string(kStateDbSchemaVersion) + ")");
    }
  }
  if (mode == Mode::kReadWrite) {
    // WAL: readers (qlir-status) read beside the writer. FULL: a commit is durable when it
    // returns (the WAL is synced at each commit).
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &raw, nullptr);
    StmtFinalize f{raw};
    if (rc != SQLITE_OK) return Error(rc, "PRAGMA journal_mode=WAL");
    rc = sqlite3_step(raw);
    if (rc != SQLITE_ROW) return Error(rc, "PRAGMA journal_mode=WAL");
    if (ColumnText(raw, 0) != "wal") {
      return Status::IOError(path_.string() + ": cannot switch to WAL (journal_mode " +
                             ColumnText(raw, 0) + ")");
    }
    QLIR_RETURN_IF_ERROR(
        Exec(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF"));
    // 64 MiB of page cache: the hot pages of a large store's B-trees stay in memory.
    QLIR_RETURN_IF_ERROR(Exec("PRAGMA cache_size=-65536"));
    if (options.quick_check) QLIR_RETURN_IF_ERROR(QuickCheck());
  }

  Statements& s = *st_;
  QLIR_RETURN_IF_ERROR(Prepare(
      "SELECT id, endpoint, symbol, interval FROM series ORDER BY endpoint, symbol, interval",
      &s.list_series));
  QLIR_RETURN_IF_ERROR(Prepare(
      "SELECT id FROM series WHERE endpoint=?1 AND symbol=?2 AND interval=?3", &s.find_series));
  QLIR_RETURN_IF_ERROR(Prepare(
      "INSERT INTO series (endpoint, symbol, interval, version, \"limit\", last_evaluated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (endpoint, symbol, interval) DO NOTHING",
      &s.insert_series));
  QLIR_RETURN_IF_ERROR(
      Prepare("UPDATE series SET version=?2, \"limit\"=?3, last_evaluated_at=?4 WHERE id=?1",
              &s.update_series));
  QLIR_RETURN_IF_ERROR(
      Prepare("SELECT id, version, \"limit\", last_evaluated_at FROM series "
              "WHERE endpoint=?1 AND symbol=?2 AND interval=?3",
              &s.series_header));
  QLIR_RETURN_IF_ERROR(
      Prepare("UPDATE series SET last_evaluated_at=?2 WHERE id=?1", &s.set_last_evaluated));
  QLIR_RETURN_IF_ERROR(Prepare(
      "SELECT " QLIR_ENTRY_COLUMNS " FROM slices WHERE series_id=?1 AND key=?2", &s.read_entry));
  QLIR_RETURN_IF_ERROR(Prepare("SELECT key, " QLIR_ENTRY_COLUMNS
                               " FROM slices WHERE series_id=?1 AND key>?2 ORDER BY key LIMIT ?3",
                               &s.entries_after));
  QLIR_RETURN_IF_ERROR(Prepare("INSERT OR REPLACE INTO slices (series_id, key, " QLIR_ENTRY_COLUMNS
                               ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                               "?14)",
                               &s.upsert_entry));
  QLIR_RETURN_IF_ERROR(Prepare("DELETE FROM slices WHERE series_id=?1", &s.delete_entries));
  QLIR_RETURN_IF_ERROR(
      Prepare("SELECT count(*), coalesce(sum(status='ok'), 0), coalesce(sum(status='failed'), 0), "
              "coalesce(sum(status='partial'), 0), coalesce(sum(status='pending'), 0) "
              "FROM slices WHERE series_id=?1",
              &s.counts));
  return Status::Ok();
}

Result<std::vector<StateDb::SeriesRow>> StateDb::ListSeries() {
  sqlite3_stmt* s = st_->list_series;
  StmtReset r{s};
  std::vector<SeriesRow> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    out.push_back(SeriesRow{sqlite3_column_int64(s, 0), ColumnText(s, 1), ColumnText(s, 2),
                            ColumnText(s, 3)});
  }
  if (rc != SQLITE_DONE) return Error(rc, "listing the series");
  return out;
}

Result<std::optional<int64_t>> StateDb::FindSeries(std::string_view endpoint,
                                                   std::string_view symbol,
                                                   std::string_view interval) {
  sqlite3_stmt* s = st_->find_series;
  StmtReset r{s};
  QLIR_RETURN_IF_ERROR(BindText(s, 1, endpoint));
  QLIR_RETURN_IF_ERROR(BindText(s, 2, symbol));
  QLIR_RETURN_IF_ERROR(BindText(s, 3, interval));
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return std::optional<int64_t>(sqlite3_column_int64(s, 0));
  if (rc == SQLITE_DONE) return std::optional<int64_t>();
  return Error(rc, "finding a series");
}

Result<int64_t> StateDb::EnsureSeries(const Manifest& m) {
  {
    sqlite3_stmt* s = st_->insert_series;
    StmtReset r{s};
    QLIR_RETURN_IF_ERROR(BindText(s, 1, m.endpoint));
    QLIR_RETURN_IF_ERROR(BindText(s, 2, m.symbol));
    QLIR_RETURN_IF_ERROR(BindText(s, 3, m.interval));
    sqlite3_bind_int64(s, 4, m.version);
    sqlite3_bind_int64(s, 5, m.limit);
    QLIR_RETURN_IF_ERROR(BindText(s, 6, m.last_evaluated_at));
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
      return Error(rc, "adding series " + m.endpoint + "/" + m.symbol + "/" + m.interval);
    }
  }
  auto id = FindSeries(m.endpoint, m.symbol, m.interval);
  if (!id) return id.status();
  if (!*id) {
    return Status::Error(path_.string() + ": series " + m.endpoint + "/" + m.symbol + "/" +
                         m.interval + " vanished after its insert");
  }
  return **id;
}

Status StateDb::BindEntry(sqlite3_stmt* s, int i, const ManifestEntry& e) {
  auto opt_text = [&](int at, const std::optional<std::string>& v) -> Status {
    if (!v) {
      sqlite3_bind_null(s, at);
      return Status::Ok();
    }
    return BindText(s, at, *v);
  };
  auto opt_int = [&](int at, auto v) {
    if (v) {
      sqlite3_bind_int64(s, at, static_cast<sqlite3_int64>(*v));
    } else {
      sqlite3_bind_null(s, at);
    }
  };
  QLIR_RETURN_IF_ERROR(BindText(s, i + 0, e.slice_id));
  QLIR_RETURN_IF_ERROR(BindText(s, i + 1, e.relative_path));
  QLIR_RETURN_IF_ERROR(BindText(s, i + 2, SliceStatusName(e.status)));
  opt_int(i + 3, e.http_status);
  sqlite3_bind_int64(s, i + 4, e.n_items);
  opt_int(i + 5, e.first_ts);
  opt_int(i + 6, e.last_ts);
  QLIR_RETURN_IF_ERROR(opt_text(i + 7, e.requested_at));
  QLIR_RETURN_IF_ERROR(opt_text(i + 8, e.completed_at));
  QLIR_RETURN_IF_ERROR(opt_text(i + 9, e.error));
  QLIR_RETURN_IF_ERROR(opt_text(i + 10, e.digest));
  QLIR_RETURN_IF_ERROR(opt_text(i + 11, e.holes_confirmed_at));
  return Status::Ok();
}

Result<ManifestEntry> StateDb::RowToEntry(sqlite3_stmt* s, int c, const std::string& key) {
  // Each column must hold its schema's type: a row written by anything else is damage, named.
  auto bad = [&](const char* field, const char* want) {
    return Status::Corruption(path_.string() + " slice '" + key + "': field '" + field +
                              "' must be " + want);
  };
  auto text = [&](int at, const char* field, std::string* out) -> Status {
    if (sqlite3_column_type(s, at) != SQLITE_TEXT) return bad(field, "text");
    *out = ColumnText(s, at);
    return Status::Ok();
  };
  auto opt_text = [&](int at, const char* field, std::optional<std::string>* out) -> Status {
    const int t = sqlite3_column_type(s, at);
    if (t == SQLITE_NULL) {
      out->reset();
    } else if (t == SQLITE_TEXT) {
      *out = ColumnText(s, at);
    } else {
      return bad(field, "text or NULL");
    }
    return Status::Ok();
  };
  auto opt_int = [&](int at, const char* field, std::optional<int64_t>* out) -> Status {
    const int t = sqlite3_column_type(s, at);
    if (t == SQLITE_NULL) {
      out->reset();
    } else if (t == SQLITE_INTEGER) {
      *out = sqlite3_column_int64(s, at);
    } else {
      return bad(field, "an integer or NULL");
    }
    return Status::Ok();
  };
  ManifestEntry e;
  QLIR_RETURN_IF_ERROR(text(c + 0, "slice_id", &e.slice_id));
  QLIR_RETURN_IF_ERROR(text(c + 1, "relative_path", &e.relative_path));
  std::string status;
  QLIR_RETURN_IF_ERROR(text(c + 2, "status", &status));
  auto parsed = ParseSliceStatus(status);
  if (!parsed)
    return Status::Corruption(path_.string() + " slice '" + key + "': " + parsed.error());
  e.status = *parsed;
  std::optional<int64_t> http;
  QLIR_RETURN_IF_ERROR(opt_int(c + 3, "http_status", &http));
  if (http) {
    if (*http < std::numeric_limits<int>::min() || *http > std::numeric_limits<int>::max()) {
      return bad("http_status", "an int");
    }
    e.http_status = static_cast<int>(*http);
  }
  if (sqlite3_column_type(s, c + 4) != SQLITE_INTEGER) return bad("n_items", "an integer");
  e.n_items = sqlite3_column_int64(s, c + 4);
  QLIR_RETURN_IF_ERROR(opt_int(c + 5, "first_ts", &e.first_ts));
  QLIR_RETURN_IF_ERROR(opt_int(c + 6, "last_ts", &e.last_ts));
  QLIR_RETURN_IF_ERROR(opt_text(c + 7, "requested_at", &e.requested_at));
  QLIR_RETURN_IF_ERROR(opt_text(c + 8, "completed_at", &e.completed_at));
  QLIR_RETURN_IF_ERROR(opt_text(c + 9, "error", &e.error));
  QLIR_RETURN_IF_ERROR(opt_text(c + 10, "digest", &e.digest));
  if (e.digest && !IsBodyDigest(*e.digest)) {
    return bad("digest", "64 lowercase hex characters");
  }
  QLIR_RETURN_IF_ERROR(opt_text(c + 11, "holes_confirmed_at", &e.holes_confirmed_at));
  return e;
}

Result<std::optional<ManifestEntry>> StateDb::ReadEntry(int64_t series_id, const std::string& key) {
  sqlite3_stmt* s = st_->read_entry;
  StmtReset r{s};
  sqlite3_bind_int64(s, 1, series_id);
  QLIR_RETURN_IF_ERROR(BindText(s, 2, key));
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<ManifestEntry>();
  if (rc != SQLITE_ROW) return Error(rc, "reading slice '" + key + "'");
  auto e = RowToEntry(s, 0, key);
  if (!e) return e.status();
  return std::optional<ManifestEntry>(std::move(*e));
}

Status StateDb::ForEachEntry(
    int64_t series_id, const std::string& after, size_t max,
    const std::function<void(const std::string& key, const ManifestEntry&)>& fn) {
  if (max == 0) return Status::Ok();
  sqlite3_stmt* s = st_->entries_after;
  StmtReset r{s};
  sqlite3_bind_int64(s, 1, series_id);
  QLIR_RETURN_IF_ERROR(BindText(s, 2, after));
  const uint64_t limit = std::min<uint64_t>(max, std::numeric_limits<int64_t>::max());
  sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(limit));
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (sqlite3_column_type(s, 0) != SQLITE_TEXT) {
      return Status::Corruption(path_.string() + ": a slice key that is not text");
    }
    const std::string key = ColumnText(s, 0);
    auto e = RowToEntry(s, 1, key);
    if (!e) return e.status();
    fn(key, *e);
  }
  if (rc != SQLITE_DONE) return Error(rc, "reading slices");
  return Status::Ok();
}

Result<std::optional<Manifest>> StateDb::ReadManifest(std::string_view endpoint,
                                                      std::string_view symbol,
                                                      std::string_view interval) {
  // One read transaction: the header and the rows of one snapshot, whatever a writer commits
  // meanwhile.
  if (!InTransaction()) {
    QLIR_RETURN_IF_ERROR(Exec("BEGIN"));
    auto r = ReadManifest(endpoint, symbol, interval);
    Status end = Exec(r.ok() ? "COMMIT" : "ROLLBACK");
    if (r.ok() && !end.ok()) return end;
    return r;
  }
  Manifest m;
  int64_t id = 0;
  {
    sqlite3_stmt* s = st_->series_header;
    StmtReset r{s};
    QLIR_RETURN_IF_ERROR(BindText(s, 1, endpoint));
    QLIR_RETURN_IF_ERROR(BindText(s, 2, symbol));
    QLIR_RETURN_IF_ERROR(BindText(s, 3, interval));
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<Manifest>();
    if (rc != SQLITE_ROW) return Error(rc, "reading a series");
    const std::string name =
        std::string(endpoint) + "/" + std::string(symbol) + "/" + std::string(interval);
    if (sqlite3_column_type(s, 1) != SQLITE_INTEGER ||
        sqlite3_column_type(s, 2) != SQLITE_INTEGER || sqlite3_column_type(s, 3) != SQLITE_TEXT) {
      return Status::Corruption(path_.string() + ": series " + name + ": a malformed header row");
    }
    id = sqlite3_column_int64(s, 0);
    const int64_t version = sqlite3_column_int64(s, 1);
    const int64_t limit = sqlite3_column_int64(s, 2);
    if (version != 1) {
      return Status::Corruption(path_.string() + ": series " + name + ": unsupported version " +
                                std::to_string(version));
    }
    if (limit < std::numeric_limits<int>::min() || limit > std::numeric_limits<int>::max()) {
      return Status::Corruption(path_.string() + ": series " + name + ": limit out of range");
    }
    m.version = static_cast<int>(version);
    m.limit = static_cast<int>(limit);
    m.last_evaluated_at = ColumnText(s, 3);
  }
  m.endpoint = std::string(endpoint);
  m.symbol = std::string(symbol);
  m.interval = std::string(interval);
  QLIR_RETURN_IF_ERROR(ForEachEntry(id, "", std::numeric_limits<size_t>::max(),
                                    [&](const std::string& key, const ManifestEntry& e) {
                                      m.slices.emplace_hint(m.slices.end(), key, e);
                                    }));
  return std::optional<Manifest>(std::move(m));
}

Status StateDb::ReplaceManifest(const Manifest& m) {
  const bool own = !InTransaction();
  QLIR_RETURN_IF_ERROR(Exec(own ? "BEGIN IMMEDIATE" : "SAVEPOINT replace_manifest"));
  auto body = [&]() -> Status {
    auto id = EnsureSeries(m);
    if (!id) return id.status();
    {
      sqlite3_stmt* s = st_->update_series;
      StmtReset r{s};
      sqlite3_bind_int64(s, 1, *id);
      sqlite3_bind_int64(s, 2, m.version);
      sqlite3_bind_int64(s, 3, m.limit);
      QLIR_RETURN_IF_ERROR(BindText(s, 4, m.last_evaluated_at));
      const int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) return Error(rc, "updating a series");
    }
    {
      sqlite3_stmt* s = st_->delete_entries;
      StmtReset r{s};
      sqlite3_bind_int64(s, 1, *id);
      const int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) return Error(rc, "clearing a series");
    }
    for (const auto& [key, e] : m.slices) QLIR_RETURN_IF_ERROR(UpsertEntry(*id, key, e));
    return Status::Ok();
  };
  Status s = body();
  if (!s.ok()) {
    // The error of interest is s; the rollback restores the state before the call.
    (void)Exec(own ? "ROLLBACK" : "ROLLBACK TO replace_manifest; RELEASE replace_manifest");
    return s;
  }
  return Exec(own ? "COMMIT" : "RELEASE replace_manifest");
}

Status StateDb::UpsertEntry(int64_t series_id, const std::string& key, const ManifestEntry& e) {
  sqlite3_stmt* s = st_->upsert_entry;
  StmtReset r{s};
  sqlite3_bind_int64(s, 1, series_id);
  QLIR_RETURN_IF_ERROR(BindText(s, 2, key));
  QLIR_RETURN_IF_ERROR(BindEntry(s, 3, e));
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return Error(rc, "writing slice '" + key + "'");
  return Status::Ok();
}

Result<StateDb::SliceCounts> StateDb::Counts(int64_t series_id) {
  sqlite3_stmt* s = st_->counts;
  StmtReset r{s};
  sqlite3_bind_int64(s, 1, series_id);
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) return Error(rc, "counting slices");
  SliceCounts c;
  c.total = sqlite3_column_int64(s, 0);
  c.ok = sqlite3_column_int64(s, 1);
  c.failed = sqlite3_column_int64(s, 2);
  c.partial = sqlite3_column_int64(s, 3);
  c.pending = sqlite3_column_int64(s, 4);
  return c;
}

Result<ManifestSummary> StateDb::Summary(int64_t series_id) {
  std::string last_evaluated_at;
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT last_evaluated_at FROM series WHERE id=?1", -1, &raw,
                                nullptr);
    StmtFinalize f{raw};
    if (rc != SQLITE_OK) return Error(rc, "reading a series");
    sqlite3_bind_int64(raw, 1, series_id);
    rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) {
      return Status::NotFound(path_.string() + ": no series with id " + std::to_string(series_id));
    }
    if (rc != SQLITE_ROW) return Error(rc, "reading a series");
    last_evaluated_at = ColumnText(raw, 0);
  }
  auto c = Counts(series_id);
  if (!c) return c.status();
  ManifestSummary s;
  s.total_slices = c->total;
  s.ok_slices = c->ok;
  s.failed_slices = c->failed;
  s.last_evaluated_at = std::move(last_evaluated_at);
  return s;
}

Status StateDb::SetLastEvaluatedAt(int64_t series_id, const std::string& iso) {
  sqlite3_stmt* s = st_->set_last_evaluated;
  StmtReset r{s};
  sqlite3_bind_int64(s, 1, series_id);
  QLIR_RETURN_IF_ERROR(BindText(s, 2, iso));
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return Error(rc, "updating a series");
  return Status::Ok();
}

Status StateDb::MarkOpen(int64_t series_id) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db_, "INSERT OR IGNORE INTO open_series(series_id) VALUES (?)",
                                    -1, &raw, nullptr);
  StmtFinalize f{raw};
  if (rc != SQLITE_OK) return Error(rc, "marking a series open");
  sqlite3_bind_int64(raw, 1, series_id);
  const int step = sqlite3_step(raw);
  if (step != SQLITE_DONE) return Error(step, "marking a series open");
  return Status::Ok();
}

Status StateDb::ForEachStatus(int64_t series_id, const std::string& after, size_t max,
                              const std::function<void(const std::string& key, SliceStatus)>& fn) {
  if (max == 0) return Status::Ok();
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_,
                              "SELECT key, status FROM slices WHERE series_id = ? AND key > ? "
                              "ORDER BY key LIMIT ?",
                              -1, &raw, nullptr);
  StmtFinalize f{raw};
  if (rc != SQLITE_OK) return Error(rc, "reading statuses");
  sqlite3_bind_int64(raw, 1, series_id);
  QLIR_RETURN_IF_ERROR(BindText(raw, 2, after));
  const uint64_t limit = std::min<uint64_t>(max, std::numeric_limits<int64_t>::max());
  sqlite3_bind_int64(raw, 3, static_cast<sqlite3_int64>(limit));
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    if (sqlite3_column_type(raw, 0) != SQLITE_TEXT) {
      return Status::Corruption(path_.string() + ": a slice key that is not text");
    }
    const std::string key = ColumnText(raw, 0);
    auto status = ParseSliceStatus(ColumnText(raw, 1));
    if (!status) {
      return Status::Corruption(path_.string() + ": slice '" + key + "': " + status.error());
    }
    fn(key, *status);
  }
  if (rc != SQLITE_DONE) return Error(rc, "reading statuses");
  return Status::Ok();
}

Status StateDb::ClearOpen() { return Exec("DELETE FROM open_series"); }

Result<std::vector<StateDb::SeriesRow>> StateDb::OpenSeries() {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_,
                              "SELECT s.id, s.endpoint, s.symbol, s.interval FROM open_series o "
                              "JOIN series s ON s.id = o.series_id ORDER BY s.endpoint, s.symbol, "
                              "s.interval",
                              -1, &raw, nullptr);
  StmtFinalize f{raw};
  if (rc != SQLITE_OK) return Error(rc, "listing open series");
  std::vector<SeriesRow> out;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    out.push_back(SeriesRow{sqlite3_column_int64(raw, 0), ColumnText(raw, 1), ColumnText(raw, 2),
                            ColumnText(raw, 3)});
  }
  if (rc != SQLITE_DONE) return Error(rc, "listing open series");
  return out;
}

Status StateDb::QuickCheck() {
  sqlite3_stmt* q = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA quick_check(1)", -1, &q, nullptr);
  StmtFinalize qf{q};
  if (rc != SQLITE_OK) return Error(rc, "quick_check");
  rc = sqlite3_step(q);
  if (rc != SQLITE_ROW) return Error(rc, "quick_check");
  const std::string verdict = ColumnText(q, 0);
  if (verdict != "ok") {
    return Status::Corruption(path_.string() + ": quick_check failed: " + verdict);
  }
  return Status::Ok();
}

Status StateDb::Begin() { return Exec("BEGIN IMMEDIATE"); }
Status StateDb::Commit() { return Exec("COMMIT"); }
Status StateDb::Rollback() { return Exec("ROLLBACK"); }
bool StateDb::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

Status StateDb::Checkpoint() {
  int log = 0;
  int done = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
  if (rc != SQLITE_OK) return Error(rc, "checkpoint");
  if (log != done) {
    return Status::Unavailable(path_.string() + ": checkpoint incomplete (" + std::to_string(done) +
                               " of " + std::to_string(log) +
                               " WAL frames): a reader holds the database");
  }
  return Status::Ok();
}

}  // namespace qlir

#undef QLIR_ENTRY_COLUMNS
