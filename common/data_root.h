// The data root and the on-disk layout (docs/on-disk-format.md, "Data root" and "Folder layout"):
//   <root>/binance/<endpoint>/raw/<symbol>/<interval>/manifest.json
//   <root>/binance/<endpoint>/raw/<symbol>/<interval>/responses/<slice_id>.json
// Every name under a slice folder is made and recognised here, and nowhere else.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qlir {

// 1. an explicit root, 2. $QLIR_DATA_ROOT, 3. ~/qlir_data.
Result<std::filesystem::path> ResolveDataRoot(const std::optional<std::string>& explicit_root);

// <root>/binance/<endpoint>/raw/<symbol>/<interval>; validates the symbol.
Result<std::filesystem::path> SeriesDir(const std::filesystem::path& root, std::string_view endpoint,
                                        std::string_view symbol, std::string_view interval);

inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr std::string_view kResponsesDir = "responses";
// Temporary files end in this suffix, never in ".json", so they cannot be mistaken for data.
inline constexpr std::string_view kTempSuffix = ".tmp";

// "responses/<slice_id>.json"
std::string ResponseRelativePath(std::string_view slice_id);

// What a name found in responses/ is.
enum class ResponseName { kResponse, kTemporary, kOther };
// For kResponse, *slice_id receives the id.
ResponseName ClassifyResponseName(std::string_view file_name, std::string* slice_id);

}  // namespace qlir
