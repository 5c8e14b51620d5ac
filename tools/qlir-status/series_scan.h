// Finding the series under a data root, read-only (docs/on-disk-format.md, "Folder layout"):
//   <root>/binance/<endpoint>/raw/<symbol>/<interval>/{manifest.json, responses/}
// Nothing here writes, locks or renames: qlir-status is safe to run beside the persister.
// Files may appear or vanish while we look (the persister works on); a name that disappears
// between listing and stat is skipped, never an error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace qlir::status_tool {

struct SeriesLocation {
  std::string endpoint;
  std::string symbol;
  std::string interval;
  std::filesystem::path dir;  // <root>/binance/<endpoint>/raw/<symbol>/<interval>

  // "klines/BTCUSDT/1m"
  std::string Name() const { return endpoint + "/" + symbol + "/" + interval; }
};

struct SeriesFilter {
  std::optional<std::string> symbol;    // exact match when set
  std::optional<std::string> interval;  // exact match when set
};

// Every series directory under `root`, sorted by endpoint, symbol, interval. A root without a
// binance/ folder has no series (an empty list). Errors when `root` itself is missing or cannot
// be listed.
Result<std::vector<SeriesLocation>> ListSeries(const std::filesystem::path& root,
                                               const SeriesFilter& filter);

struct DiskUsage {
  uint64_t responses_bytes = 0;  // every regular file in responses/
  uint64_t manifest_bytes = 0;   // manifest.json
  uint64_t total() const { return responses_bytes + manifest_bytes; }
};

DiskUsage MeasureDiskUsage(const std::filesystem::path& series_dir);

// One entry of a directory listing.
struct DirEntry {
  std::string name;
  bool is_regular = false;
  bool is_directory = false;
};

// The names in `dir`, sorted; an empty list when `dir` does not exist. Errors only when it
// exists and cannot be listed.
Result<std::vector<DirEntry>> ListDir(const std::filesystem::path& dir);

}  // namespace qlir::status_tool
