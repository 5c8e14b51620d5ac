// Names the persister makes beside those of common/data_root.h (which owns the layout):
//   <root>/.persister.lock                              the one-persister-per-root lock
//   <series>/manifest.json.<pid>.<n>.tmp                 a manifest being replaced (atomic_file)
//   <series>/manifest.json.corrupt-<YYYYMMDDTHHMMSSZ>    a manifest that did not parse, kept aside
//   <series>/responses/<slice_id>.json.unreadable-<YYYYMMDDTHHMMSSZ>
//                                                        something not a file (a directory...)
//                                                        where a response file belongs, kept aside
// Everything the persister removes or renames is recognised here first; a name it cannot
// classify is left alone (docs/conventions.md, "File names").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qlir::persister {

inline constexpr std::string_view kLockFileName = ".persister.lock";
inline constexpr std::string_view kCorruptManifestInfix = ".corrupt-";
inline constexpr std::string_view kUnreadableInfix = ".unreadable-";

// "manifest.json.corrupt-20250101T000123Z" for the UTC time `now_ms`.
std::string CorruptManifestName(int64_t now_ms);

// "<response_name>.unreadable-20250101T000123Z" for the UTC time `now_ms`.
std::string UnreadableResponseName(std::string_view response_name, int64_t now_ms);
// True for a name UnreadableResponseName makes.
bool IsUnreadableResponseName(std::string_view file_name);

enum class SeriesName { kManifest, kManifestTemporary, kCorruptManifest, kResponsesDir, kOther };
SeriesName ClassifySeriesName(std::string_view file_name);

}  // namespace qlir::persister
