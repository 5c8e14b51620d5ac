#include "persister/file_names.h"

#include <string>

#include "common/data_root.h"
#include "common/time_util.h"

namespace qlir::persister {

std::string CorruptManifestName(int64_t now_ms) {
  // 2025-01-01T00:01:23Z -> 20250101T000123Z: no ':' so the name is portable.
  std::string iso = FormatIsoUtc(now_ms);
  std::string compact;
  for (char c : iso) {
    if (c != '-' && c != ':') compact += c;
  }
  return std::string(kManifestName) + std::string(kCorruptManifestInfix) + compact;
}

SeriesName ClassifySeriesName(std::string_view name) {
  if (name == kManifestName) return SeriesName::kManifest;
  if (name == kResponsesDir) return SeriesName::kResponsesDir;
  const std::string prefix = std::string(kManifestName) + ".";
  if (!name.starts_with(prefix)) return SeriesName::kOther;
  std::string_view rest = name.substr(prefix.size());
  if (rest.starts_with(kCorruptManifestInfix.substr(1))) return SeriesName::kCorruptManifest;
  if (rest.size() > kTempSuffix.size() && rest.ends_with(kTempSuffix)) {
    return SeriesName::kManifestTemporary;
  }
  return SeriesName::kOther;
}

}  // namespace qlir::persister
