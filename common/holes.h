// Which candles a stored slice lacks: the one rule behind `qlir-status holes` (the ledger of the
// exchange's holes, tools/qlir-status/holes.h) and the persister's second fetch of slices with
// holes (persister/hole_rechecks.h).
//
// A closed `ok` slice has holes when grid candles of its window have no row, counting only the
// window clipped to the series' stored candles: nothing is missing before the first stored candle
// (the listing) or after the last one (a delisting, or simply the newest data). A grid candle is
// there when a row opens within its interval (early history has rows off the grid:
// docs/exchange-rules.md, "Irregular candles"). An entry whose n_items covers its clipped window
// has none, and its rows need not be read. Only endpoints whose items sit on a grid
// (Endpoint::items_on_grid, klines) have holes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/endpoint.h"
#include "common/manifest.h"
#include "common/slice_key.h"
#include "common/status.h"

namespace qlir {

// The first and last stored candles of a series (open times), over its ok and partial entries
// with rows; -1 when none is stored.
struct StoredCandles {
  int64_t first_ms = -1;
  int64_t last_ms = -1;
  bool empty() const { return first_ms < 0; }
  friend bool operator==(const StoredCandles&, const StoredCandles&) = default;
};
StoredCandles StoredCandleSpan(const Manifest& m);
// The same span, one entry at a time (a store read entry by entry).
void AddToStoredSpan(const ManifestEntry& e, StoredCandles* span);

// The grid candles a slice's window must hold: open times lo_ms, lo_ms + step_ms, ..., hi_ms.
struct CandleWindow {
  int64_t lo_ms = 0;
  int64_t hi_ms = 0;
  int64_t step_ms = 0;  // one candle
  int64_t expected = 0;
  friend bool operator==(const CandleWindow&, const CandleWindow&) = default;
};
// `key`'s window clipped to `stored`; nullopt when it must hold no candle (outside the stored
// span, or nothing stored) or when the endpoint's items are not on a grid
// (Endpoint::items_on_grid: funding events).
std::optional<CandleWindow> ExpectedCandles(const Endpoint& endpoint, const SliceKey& key,
                                            const StoredCandles& stored);

// The open times of a klines response's rows (field 0 of each row), in file order. An error when
// `data` is not a JSON array of arrays starting with an integer.
Result<std::vector<int64_t>> RowOpenTimes(std::string_view data);

// The open times of the window's grid candles no row stands for, ascending.
std::vector<int64_t> MissingCandles(const CandleWindow& w, std::vector<int64_t> open_times);

// The candles missing in one stored slice by the rule above: empty for an entry that is not ok,
// or whose n_items covers its window (then `read_data` is not called); else `read_data()` gives
// its stored rows (the response file's `data`), and its errors are returned.
Result<std::vector<int64_t>> SliceMissingCandles(
    const Endpoint& endpoint, const SliceKey& key, const ManifestEntry& e,
    const StoredCandles& stored, const std::function<Result<std::string>()>& read_data);

// The `data` of a stored slice: the response file `series_dir / e.relative_path`, decoded.
Result<std::string> ReadStoredData(const std::filesystem::path& series_dir, const ManifestEntry& e);

}  // namespace qlir
