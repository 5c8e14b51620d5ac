// Finding the series under a data root, read-only; the layout and its walk are
// common/data_root.h's.
// Nothing here writes, locks or renames: qlir-status is safe to run beside the persister.
// Files may appear or vanish while we look (the persister works on); a name that disappears
// between listing and stat is skipped, never an error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/data_root.h"
#include "common/status.h"

namespace qlir::status_tool {

struct SeriesFilter {
  std::optional<std::string> symbol;    // exact match when set
  std::optional<std::string> interval;  // exact match when set
};

// The series under `root` (common/data_root.h, ListSeries) that pass `filter`.
Result<std::vector<SeriesLocation>> FindSeries(const std::filesystem::path& root,
                                               const SeriesFilter& filter);

struct DiskUsage {
  uint64_t responses_bytes = 0;  // every regular file in responses/
  uint64_t manifest_bytes = 0;   // manifest.json
  uint64_t total() const { return responses_bytes + manifest_bytes; }
};

DiskUsage MeasureDiskUsage(const std::filesystem::path& series_dir);

}  // namespace qlir::status_tool
