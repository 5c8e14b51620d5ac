// ManifestStore: where the persister keeps what it knows about every slice (the manifest of
// docs/on-disk-format.md, "manifest.json"). The message handling (persister_server.h) only talks to
// this interface, so a SQLite backend can replace the JSON files (json_manifest_store.h) without
// touching planner, fetcher or socket code.
//
// Ordering contract with the response files: the caller writes responses/<slice_id>.json (and
// fsyncs its directory) before it Records an ok or partial slice, so a store never names a file
// the disk could lose. A store applies the precedence rules of slice_precedence.h itself.
//
// Not thread-safe: one thread (the server loop) owns a store.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/data_root.h"
#include "common/manifest.h"
#include "common/status.h"

namespace qlir::persister {

// One series: everything under <root>/binance/<endpoint>/raw/<symbol>/<interval>.
struct SeriesId {
  std::string endpoint;
  std::string symbol;
  std::string interval;
  friend auto operator<=>(const SeriesId&, const SeriesId&) = default;
  friend bool operator==(const SeriesId&, const SeriesId&) = default;
  std::string ToString() const { return endpoint + "/" + symbol + "/" + interval; }
};

// What the persister learned about one slice: its composite key and its manifest entry. The
// store fills entry.slice_id and entry.relative_path from the key (common/slice_id.h,
// common/data_root.h); whatever they hold is ignored.
struct SliceRecord {
  std::string key;
  ManifestEntry entry;
};

// What a store says of a series folder when the persister starts (persister_server.h).
struct StartCheck {
  bool lagging = false;  // responses/ changed after the state last recorded the series
};

// One page of a series' statuses, in key order (a STATUS_REPLY's slices, docs/protocol.md).
struct StatusPage {
  std::vector<std::pair<std::string, SliceStatus>> slices;
  bool more = false;  // slices follow the last one of this page
};

class ManifestStore {
 public:
  virtual ~ManifestStore() = default;

  // The known slices of the series whose composite keys sort strictly after `after` ("" = from
  // the first), at most `max` of them (0 is taken as 1). The first question about a series loads
  // (and recovers) it; an error means the series cannot be read now (e.g. its state is
  // unreadable) and nothing about it may be answered or written.
  virtual Result<StatusPage> LoadStatusPage(const SeriesId& series, const std::string& after,
                                            size_t max) = 0;

  // Every known slice of the series, composite key -> status, page after page (tests, tools).
  Result<std::map<std::string, SliceStatus>> LoadStatuses(const SeriesId& series);

  // The status of one slice, nullopt when unknown. Loads the series like LoadStatusPage.
  virtual Result<std::optional<SliceStatus>> Lookup(const SeriesId& series,
                                                    const std::string& key) = 0;

  // The stored entry of one slice, nullopt when unknown. Loads the series like LoadStatusPage.
  virtual Result<std::optional<ManifestEntry>> Entry(const SeriesId& series,
                                                     const std::string& key) = 0;

  // The series' slice limit and every entry in key order (the hole rechecks' scan). Loads the
  // series like LoadStatusPage. `fn` must not change the store.
  using EntryFn = std::function<void(const std::string& key, const ManifestEntry& entry)>;
  virtual Result<int> ForEachEntry(const SeriesId& series, const EntryFn& fn) = 0;

  // Records a result unless the stored one takes precedence; returns the status now stored.
  // REQUIRES: for ok/partial, the response file is written (see the ordering contract above).
  // Not durable until Flush (or a due FlushDue) returns ok.
  virtual Result<SliceStatus> Record(const SeriesId& series, const SliceRecord& record) = 0;

  // Records `record` whatever is stored, ok included: the answer to a second fetch of a stored
  // ok slice with holes (persister/hole_rechecks.h), which either confirms them (the same entry
  // with holes_confirmed_at) or replaces an answer the exchange has changed. REQUIRES as Record.
  virtual Result<SliceStatus> Overwrite(const SeriesId& series, const SliceRecord& record) = 0;

  // Whether the series at `loc` must be recovered at start (read-only; cheap: a few stats).
  virtual StartCheck CheckAtStart(const SeriesLocation& loc) = 0;

  // How many stored entries of the series at `loc` lack a digest (a manifest written before
  // entries had one; loading the series upgrades it), when the store can tell without loading
  // it; 0 otherwise. Read-only; may read the series' whole state.
  virtual size_t LackingDigests(const SeriesLocation& /*loc*/) { return 0; }

  // The series loaded (recovered) so far in this run: what the hole rechecks look at.
  virtual std::vector<SeriesId> LoadedSeries() const = 0;

  // Sets the given slices pending (verify --repair), returns how many are pending now; keys
  // unknown to the store are ignored. Durable when it returns.
  virtual Result<size_t> MarkPending(const SeriesId& series, const std::vector<std::string>& keys,
                                     int64_t now_ms) = 0;

  // The keys that recovery set pending (a response file missing or damaged) while loading
  // series since the last call, by endpoint. The persister tells its subscribers (PENDING,
  // docs/protocol.md) so that a running planner fetches them again.
  virtual std::map<std::string, std::vector<std::string>> TakeRecoveredPending() { return {}; }

  // Group commit: writes the series whose updates are due at `now_ms` (monotonic ms).
  virtual Status FlushDue(int64_t now_ms) = 0;
  // Writes every series with unwritten updates.
  virtual Status Flush() = 0;
  // The last write of a clean stop: Flush, and whatever marks the state keeps of a run in
  // progress (SQLite: its open series) cleared.
  virtual Status Close() { return Flush(); }
  // The monotonic time at which FlushDue has something to do, or nullopt when nothing waits.
  virtual std::optional<int64_t> NextFlushMs() const = 0;
};

}  // namespace qlir::persister
