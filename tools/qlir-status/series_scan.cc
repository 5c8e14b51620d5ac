#include "tools/qlir-status/series_scan.h"

#include <algorithm>
#include <system_error>

#include "common/data_root.h"

namespace qlir::status_tool {

namespace fs = std::filesystem;

Result<std::vector<DirEntry>> ListDir(const fs::path& dir) {
  std::vector<DirEntry> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Status::Error("cannot list " + dir.string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::Error("cannot list " + dir.string() + ": " + ec.message());
    DirEntry e;
    e.name = it->path().filename().string();
    std::error_code sec;
    // symlink_status: a link is neither followed nor counted (the persister makes none).
    const fs::file_status st = it->symlink_status(sec);
    if (sec) continue;  // vanished meanwhile
    e.is_regular = fs::is_regular_file(st);
    e.is_directory = fs::is_directory(st);
    out.push_back(std::move(e));
  }
  if (ec) return Status::Error("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

Result<std::vector<SeriesLocation>> ListSeries(const fs::path& root, const SeriesFilter& filter) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return Status::Error("data root " + root.string() + " is not a directory" +
                         (ec ? ": " + ec.message() : ""));
  }
  std::vector<SeriesLocation> out;
  const fs::path binance = root / "binance";
  auto endpoints = ListDir(binance);
  if (!endpoints) return endpoints.status();
  for (const DirEntry& ep : *endpoints) {
    if (!ep.is_directory) continue;
    const fs::path raw = binance / ep.name / "raw";
    auto symbols = ListDir(raw);
    if (!symbols) return symbols.status();
    for (const DirEntry& sym : *symbols) {
      if (!sym.is_directory) continue;
      if (filter.symbol && *filter.symbol != sym.name) continue;
      auto intervals = ListDir(raw / sym.name);
      if (!intervals) return intervals.status();
      for (const DirEntry& iv : *intervals) {
        if (!iv.is_directory) continue;
        if (filter.interval && *filter.interval != iv.name) continue;
        out.push_back(SeriesLocation{ep.name, sym.name, iv.name, raw / sym.name / iv.name});
      }
    }
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
