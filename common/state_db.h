// state.sqlite3: a data root's state (every series' manifest) in one SQLite database, the
// alternative to the per-series manifest.json files (docs/on-disk-format.md, "state.sqlite3").
// Its presence decides: a root with <root>/state.sqlite3 is a SQLite root (DetectStateBackend,
// common/data_root.h). The response files stay the source of truth either way.
//
// Schema (application_id 0x514C4952 'QLIR', user_version 1, WAL; the writer syncs FULL):
//   series (id, endpoint, symbol, interval, version, "limit", last_evaluated_at)
//   slices (series_id, key, <the manifest.json entry fields one to one; NULL = null/absent>)
//          PRIMARY KEY (series_id, key) WITHOUT ROWID
//   open_series (series_id): series a persister was writing when it last stopped uncleanly
// Summary counts are computed (Counts), never stored, so Manifest -> rows -> Manifest is the
// identity and SerializeManifest of it gives back the same manifest.json bytes.
//
// Errors never throw and name the file. Their code is what a caller decides on: Corruption (not
// a database, not ours, a schema or row that does not read, a failed quick_check) may be moved
// aside and rebuilt; IOError (cannot open, read or write) must leave the file alone; NotFound is
// a read-only open of a root without the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/manifest.h"
#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace qlir {

inline constexpr int32_t kStateDbApplicationId = 0x514C4952;  // 'QLIR'
inline constexpr int32_t kStateDbSchemaVersion = 1;           // PRAGMA user_version

// One connection; not thread-safe. Several may be open on one file (one writer at a time,
// readers beside it: WAL).
class StateDb {
 public:
  // kReadWrite creates the file and the schema if missing (and checks an existing one with
  // quick_check); kReadOnly never writes and fails with NotFound when the file is missing.
  enum class Mode { kReadOnly, kReadWrite };

  // <root>/state.sqlite3.
  static Result<std::unique_ptr<StateDb>> Open(const std::filesystem::path& root, Mode mode);

  struct OpenOptions {
    // kReadWrite only: PRAGMA quick_check on open (O(size of the file)).
    bool quick_check = true;
    // kReadWrite only: false sets synchronous=OFF (nothing fsynced: a file the caller syncs
    // itself before anyone relies on it, as migrate does before its rename).
    bool durable = true;
  };
  // Any file (migrate builds <root>/state.sqlite3.<pid>.tmp with it).
  static Result<std::unique_ptr<StateDb>> OpenFile(const std::filesystem::path& file, Mode mode,
                                                   OpenOptions options);

  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  const std::filesystem::path& path() const { return path_; }

  struct SeriesRow {
    int64_t id = 0;
    std::string endpoint;
    std::string symbol;
    std::string interval;
    friend bool operator==(const SeriesRow&, const SeriesRow&) = default;
  };
  // Sorted by endpoint, symbol, interval (byte order, as common/data_root.h's ListSeries).
  Result<std::vector<SeriesRow>> ListSeries();
  Result<std::optional<int64_t>> FindSeries(std::string_view endpoint, std::string_view symbol,
                                            std::string_view interval);
  // Creates the series row (endpoint, symbol, interval, version, limit, last_evaluated_at of
  // `header_only`; its slices are ignored) if missing; returns its id either way.
  Result<int64_t> EnsureSeries(const Manifest& header_only);

  // The whole series as a Manifest (tools, migrate); nullopt when the series is unknown.
  Result<std::optional<Manifest>> ReadManifest(std::string_view endpoint, std::string_view symbol,
                                               std::string_view interval);
  // The series' header and rows become exactly m's, in one transaction (a savepoint inside the
  // caller's transaction when one is open).
  Status ReplaceManifest(const Manifest& m);

  Result<std::optional<ManifestEntry>> ReadEntry(int64_t series_id, const std::string& key);
  // The entries of a series in key order (byte order, as Manifest::slices), strictly after
  // `after` ("" = from the start), at most `max` of them.
  Status ForEachEntry(int64_t series_id, const std::string& after, size_t max,
                      const std::function<void(const std::string& key, const ManifestEntry&)>& fn);

  // The same, keys and statuses only (a STATUS_REPLY's page: no entry is built).
  Status ForEachStatus(int64_t series_id, const std::string& after, size_t max,
                       const std::function<void(const std::string& key, SliceStatus)>& fn);

  struct SliceCounts {
    int64_t total = 0;
    int64_t ok = 0;
    int64_t failed = 0;
    int64_t partial = 0;
    int64_t pending = 0;
    friend bool operator==(const SliceCounts&, const SliceCounts&) = default;
  };
  // One pass over the series' rows (O(slices)).
  Result<SliceCounts> Counts(int64_t series_id);
  // The series' manifest summary (counts and last_evaluated_at); NotFound for an unknown id.
  Result<ManifestSummary> Summary(int64_t series_id);

  // PRAGMA quick_check: Corruption when the file's pages or indexes are damaged (O(size of
  // the file): about 0.9 s per million slices, warm).
  Status QuickCheck();

  // BEGIN IMMEDIATE / COMMIT / ROLLBACK. Without them each write is its own transaction.
  Status Begin();
  Status Commit();
  Status Rollback();
  bool InTransaction() const;

  Status UpsertEntry(int64_t series_id, const std::string& key, const ManifestEntry& e);
  Status SetLastEvaluatedAt(int64_t series_id, const std::string& iso);

  // Series a writer may have written without recording (open_series): the persister marks a
  // series (committed before it stores anything more of it) and clears every mark when it stops
  // cleanly, so the series still marked at its next start are the ones a crash may have left
  // behind their response files.
  Status MarkOpen(int64_t series_id);
  Status ClearOpen();
  Result<std::vector<SeriesRow>> OpenSeries();

  // Moves the WAL's pages into the database file and empties the WAL (migrate, before a rename).
  Status Checkpoint();

 private:
  struct Statements;
  StateDb(std::filesystem::path path, sqlite3* db);
  Status Init(Mode mode, const OpenOptions& options);
  Status Exec(const char* sql);
  Status Error(int rc, std::string_view what) const;
  Status Prepare(const char* sql, sqlite3_stmt** stmt);
  Result<ManifestEntry> RowToEntry(sqlite3_stmt* stmt, int first_col, const std::string& key);
  Status BindEntry(sqlite3_stmt* stmt, int first_param, const ManifestEntry& e);

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> st_;
};

}  // namespace qlir
