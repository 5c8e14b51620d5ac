#include "common/data_root.h"

#include <cstdlib>

#include "common/klines/interval.h"
#include "common/slice_id.h"
#include "common/symbol.h"

namespace qlir {

Result<std::filesystem::path> ResolveDataRoot(const std::optional<std::string>& explicit_root) {
  if (explicit_root && !explicit_root->empty()) return std::filesystem::path(*explicit_root);
  if (const char* env = std::getenv("QLIR_DATA_ROOT"); env && *env) {
    return std::filesystem::path(env);
  }
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    return Status::Error("no data root: pass --data-root, or set QLIR_DATA_ROOT or HOME");
  }
  return std::filesystem::path(home) / "qlir_data";
}

Result<std::filesystem::path> SeriesDir(const std::filesystem::path& root, std::string_view endpoint,
                                        std::string_view symbol, std::string_view interval) {
  if (Status s = ValidateSymbol(symbol); !s.ok()) return s;
  if (endpoint.empty() || endpoint.find_first_of("/\\.") != std::string_view::npos) {
    return Status::Error("invalid endpoint name '" + std::string(endpoint) + "'");
  }
  if (interval.empty() || interval.find_first_of("/\\.") != std::string_view::npos) {
    return Status::Error("invalid interval '" + std::string(interval) + "'");
  }
  return root / "binance" / std::string(endpoint) / "raw" / std::string(symbol) /
         std::string(interval);
}

std::string ResponseRelativePath(std::string_view slice_id) {
  return std::string(kResponsesDir) + "/" + std::string(slice_id) + ".json";
}

ResponseName ClassifyResponseName(std::string_view name, std::string* slice_id) {
  if (name.size() == kSliceIdHexChars + 5 && name.ends_with(".json") &&
      IsSliceId(name.substr(0, kSliceIdHexChars))) {
    if (slice_id) *slice_id = std::string(name.substr(0, kSliceIdHexChars));
    return ResponseName::kResponse;
  }
  if (name.ends_with(kTempSuffix) && name.size() > kTempSuffix.size()) {
    return ResponseName::kTemporary;
  }
  return ResponseName::kOther;
}

}  // namespace qlir
