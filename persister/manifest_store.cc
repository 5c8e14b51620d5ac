#include "persister/manifest_store.h"

namespace qlir::persister {

Result<std::map<std::string, SliceStatus>> ManifestStore::LoadStatuses(const SeriesId& series) {
  constexpr size_t kPage = 100000;
  std::map<std::string, SliceStatus> out;
  std::string after;
  for (;;) {
    auto page = LoadStatusPage(series, after, kPage);
    if (!page) return page.status();
    for (auto& [key, status] : page->slices) out.emplace_hint(out.end(), key, status);
    if (!page->more || page->slices.empty()) return out;
    after = page->slices.back().first;
  }
}

}  // namespace qlir::persister
