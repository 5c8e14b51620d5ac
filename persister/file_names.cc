#include "persister/file_names.h"

#include <string>

#include "common/data_root.h"
#include "common/time_util.h"

namespace qlir::persister {

namespace {

// 2025-01-01T00:01:23Z -> 20250101T000123Z: no ':' so the name is portable.
std::string CompactUtc(int64_t now_ms) {
  std::string iso = FormatIsoUtc(now_ms);
  std::string compact;
  for (char c : iso) {
    if (c != '-' && c != ':') compact += c;
  }
  return compact;
}

}  // namespace

std::string CorruptManifestName(int64_t now_ms) {
  return std::string(kManifestName) + std::string(kCorruptManifestInfix) + CompactUtc(now_ms);
}

std::string UnreadableResponseName(std::string_view response_name, int64_t now_ms) {
  return std::string(response_name) + std::string(kUnreadableInfix) + CompactUtc(now_ms);
}

bool IsUnreadableResponseName(std::string_view name) {
  const size_t at = name.find(kUnreadableInfix);
  if (at == std::string_view::npos) return false;
  std::string id;
  return ClassifyResponseName(name.substr(0, at), &id) == ResponseName::kResponse;
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
