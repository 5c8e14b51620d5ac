#include "tools/qlir-status/manifest_reader.h"

#include <algorithm>
#include <system_error>

namespace qlir::status_tool {

namespace fs = std::filesystem;

Result<std::unique_ptr<ManifestReader>> ManifestReader::Open(const fs::path& root) {
  const StateBackend backend = DetectStateBackend(root);
  std::unique_ptr<StateDb> db;
  if (backend == StateBackend::kSqlite) {
    auto opened = StateDb::Open(root, StateDb::Mode::kReadOnly);
    if (!opened) return opened.status();
    db = std::move(*opened);
  }
  return std::unique_ptr<ManifestReader>(new ManifestReader(root, backend, std::move(db)));
}

Result<std::vector<SeriesLocation>> ManifestReader::FindSeries(const SeriesFilter& filter) {
  auto found = status_tool::FindSeries(root_, filter);
  if (!found) return found.status();
  if (backend_ != StateBackend::kSqlite) return found;
  auto rows = db_->ListSeries();
  if (!rows) return rows.status();
  std::vector<SeriesLocation> out = std::move(*found);
  const size_t on_disk = out.size();
  for (const StateDb::SeriesRow& r : *rows) {
    if (filter.symbol && *filter.symbol != r.symbol) continue;
    if (filter.interval && *filter.interval != r.interval) continue;
    const bool known = std::any_of(out.begin(), out.begin() + on_disk, [&](const auto& s) {
      return s.endpoint == r.endpoint && s.symbol == r.symbol && s.interval == r.interval;
    });
    if (known) continue;
    // A name the layout refuses cannot be a folder: its rows are reported where they are.
    auto dir = SeriesDir(root_, r.endpoint, r.symbol, r.interval);
    out.push_back(SeriesLocation{r.endpoint, r.symbol, r.interval,
                                 dir ? *dir : root_ / std::string(kStateDbName)});
  }
  std::sort(out.begin(), out.end(), [](const SeriesLocation& a, const SeriesLocation& b) {
    return std::tie(a.endpoint, a.symbol, a.interval) < std::tie(b.endpoint, b.symbol, b.interval);
  });
  return out;
}

fs::path ManifestReader::Where(const SeriesLocation& loc) const {
  if (backend_ == StateBackend::kSqlite) return db_->path();
  return loc.dir / kManifestName;
}

Result<Manifest> ManifestReader::Read(const SeriesLocation& loc) {
  if (backend_ == StateBackend::kSqlite) {
    auto m = db_->ReadManifest(loc.endpoint, loc.symbol, loc.interval);
    if (!m) return m.status();
    if (!m->has_value()) {
      return Status::NotFound(db_->path().string() + ": no manifest for " + loc.Name());
    }
    return std::move(**m);
  }
  const fs::path path = loc.dir / kManifestName;
  auto m = ParseManifestFile(path.string());
  if (!m && m.status().IsIOError()) {
    std::error_code ec;
    if (!fs::exists(path, ec) && !ec) return Status::NotFound(path.string() + ": no manifest");
  }
  return m;
}

}  // namespace qlir::status_tool
