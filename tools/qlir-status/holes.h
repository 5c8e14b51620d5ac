// `qlir-status holes`: the ledger of the exchange's holes (tools/qlir-status/README.md). For every
// closed `ok` slice of a series, the candles missing inside its window, merged into time ranges
// per series, apart from those before the series' first stored candle (its listing) and after its
// last stored candle (a delisting, or simply the newest data). A range is `confirmed` when every
// slice it touches carries `holes_confirmed_at` (docs/on-disk-format.md): a later fetch of the
// same window returned the same rows, so the candles are missing at the exchange, not in a
// damaged download.
//
// Which candles a slice lacks is common/holes.h's rule (shared with the persister, which fetches
// such slices again to confirm them); this file merges them into ranges. A slice whose n_items
// covers its (clipped) window is not opened; the others' response files are read for their open
// times. Read-only, like the rest of qlir-status.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/holes.h"
#include "common/manifest.h"
#include "common/status.h"
#include "tools/qlir-status/series_scan.h"

namespace qlir::status_tool {

struct Hole {
  int64_t start_ms = 0;             // open time of the first missing candle
  int64_t end_ms = 0;               // last millisecond of the last missing candle (inclusive)
  int64_t candles = 0;              // candles missing
  std::vector<std::string> slices;  // the composite keys of the slices it lies in
  // The latest holes_confirmed_at of those slices when every one has it; nullopt otherwise.
  std::optional<std::string> confirmed_at;
  friend bool operator==(const Hole&, const Hole&) = default;
};

struct SeriesHoles {
  SeriesLocation loc;
  std::string error;    // non-empty: the manifest could not be read (no ledger for the series)
  int64_t item_ms = 0;  // one candle
  int64_t first_candle_ms = -1;  // the first stored candle (the listing, as stored); -1 none
  int64_t last_candle_ms = -1;   // the last stored candle; -1 none
  int64_t ok_slices = 0;         // closed ok slices looked at
  // False for an endpoint whose items are not one per grid step (Endpoint::items_on_grid:
  // fundingRate events, aggTrades ids, which ValidatePayload keeps contiguous): no ledger.
  bool ledger = true;
  int64_t slices_with_holes = 0;
  int64_t missing_candles = 0;
  std::vector<Hole> holes;
  // Short slices whose response file could not be read ("key: why"): their holes are unknown.
  std::vector<std::string> unreadable;
};

struct HolesReport {
  std::filesystem::path data_root;
  std::vector<SeriesHoles> series;
  // A series or a response file could not be read.
  bool HasProblem() const;
};

using ::qlir::RowOpenTimes;  // common/holes.h

// The ledger of one series from its manifest; `read_data(key, entry)` returns a slice's stored
// `data` (the response file's body). Exposed for tests.
SeriesHoles LedgerOf(const SeriesLocation& loc, const Manifest& m,
                     const std::function<Result<std::string>(const std::string& key,
                                                             const ManifestEntry& e)>& read_data);

// Every series under `root` passing `filter`. Errors only when the root cannot be listed.
Result<HolesReport> BuildHolesLedger(const std::filesystem::path& root, const SeriesFilter& filter);

std::string RenderHolesText(const HolesReport& r);
std::string RenderHolesJson(const HolesReport& r);

}  // namespace qlir::status_tool
