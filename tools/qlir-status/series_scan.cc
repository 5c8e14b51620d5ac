#include "tools/qlir-status/series_scan.h"

#include <system_error>

namespace qlir::status_tool {

namespace fs = std::filesystem;

Result<std::vector<SeriesLocation>> FindSeries(const fs::path& root, const SeriesFilter& filter) {
  auto all = ListSeries(root);
  if (!all) return all.status();
  std::vector<SeriesLocation> out;
  for (SeriesLocation& s : *all) {
    if (filter.symbol && *filter.symbol != s.symbol) continue;
    if (filter.interval && *filter.interval != s.interval) continue;
    out.push_back(std::move(s));
  }
  return out;
}

DiskUsage MeasureDiskUsage(const fs::path& series_dir) {
  DiskUsage u;
  std::error_code ec;
  const uintmax_t m = fs::file_size(series_dir / kManifestName, ec);
  if (!ec) u.manifest_bytes = m;
  auto files = ListDir(series_dir / kResponsesDir);
  if (!files) return u;
  for (const DirEntry& f : *files) {
    if (!f.is_regular) continue;
    const uintmax_t n = fs::file_size(series_dir / kResponsesDir / f.name, ec);
    if (!ec) u.responses_bytes += n;
  }
  return u;
}

}  // namespace qlir::status_tool
