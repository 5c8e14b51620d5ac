// The data root and the on-disk layout (docs/on-disk-format.md, "Data root" and "Folder
// layout"), in the manner of LevelDB's db/filename.cc: every name under the root is made and
// recognised here, and nowhere else.
//   <root>/.persister.lock                                the one-persister-per-root lock
//   <root>/state.sqlite3                                  the SQLite state (common/state_db.h);
//                                                         its presence makes a SQLite root
//   <root>/state.sqlite3-wal, state.sqlite3-shm           its WAL and shared-memory index
//   <root>/state.sqlite3.<pid>.tmp (and its -wal/-shm)    one being built (qlir-status migrate)
//   <root>/state.sqlite3.corrupt-<YYYYMMDDTHHMMSSZ>[-wal|-shm]
//                                                         a damaged one, kept aside
//   <root>/binance/<endpoint>/raw/<symbol>/<interval>/    a series
//     manifest.json                                       its index
//     manifest.json.<pid>.<n>.tmp                         a manifest being replaced (atomic_file)
//     manifest.json.corrupt-<YYYYMMDDTHHMMSSZ>            a manifest that did not parse, kept aside
//     responses/<slice_id>.json                           one stored response
//     responses/<slice_id>.json.<pid>.<n>.tmp             a response being written
//     responses/<slice_id>.json.unreadable-<YYYYMMDDTHHMMSSZ>
//                                                         something not a file (a directory...)
//                                                         where a response belongs, kept aside
// What the persister removes or renames is recognised here first; a name nothing here
// classifies is left alone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace qlir {

// 1. an explicit root, 2. $QLIR_DATA_ROOT, 3. ~/qlir_data.
Result<std::filesystem::path> ResolveDataRoot(const std::optional<std::string>& explicit_root);

// <root>/binance/<endpoint>/raw/<symbol>/<interval>; validates the symbol.
Result<std::filesystem::path> SeriesDir(const std::filesystem::path& root,
                                        std::string_view endpoint, std::string_view symbol,
                                        std::string_view interval);

inline constexpr std::string_view kLockFileName = ".persister.lock";
inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr std::string_view kResponsesDir = "responses";
// Temporary files end in this suffix, never in ".json", so they cannot be mistaken for data.
inline constexpr std::string_view kTempSuffix = ".tmp";
inline constexpr std::string_view kCorruptManifestInfix = ".corrupt-";
inline constexpr std::string_view kUnreadableInfix = ".unreadable-";
inline constexpr std::string_view kStateDbName = "state.sqlite3";
inline constexpr std::string_view kStateDbWalSuffix = "-wal";
inline constexpr std::string_view kStateDbShmSuffix = "-shm";

// "responses/<slice_id>.json"
std::string ResponseRelativePath(std::string_view slice_id);

// What a name found in responses/ is.
enum class ResponseName { kResponse, kTemporary, kOther };
// For kResponse, *slice_id receives the id.
ResponseName ClassifyResponseName(std::string_view file_name, std::string* slice_id);

// What a name found in a series folder is.
enum class SeriesName { kManifest, kManifestTemporary, kCorruptManifest, kResponsesDir, kOther };
SeriesName ClassifySeriesName(std::string_view file_name);

// "manifest.json.corrupt-20250101T000123Z" for the UTC time `now_ms`.
std::string CorruptManifestName(int64_t now_ms);
// "<response_name>.unreadable-20250101T000123Z" for the UTC time `now_ms`.
std::string UnreadableResponseName(std::string_view response_name, int64_t now_ms);
// True for a name UnreadableResponseName makes.
bool IsUnreadableResponseName(std::string_view file_name);

// Where a data root keeps its manifests. The presence of <root>/state.sqlite3 decides: a reader
// uses it when it exists, the series' manifest.json files otherwise. The response files stay the
// source of truth for both.
enum class StateBackend { kJson, kSqlite };
std::string_view StateBackendName(StateBackend b);  // "json", "sqlite"
// kSqlite when <root>/state.sqlite3 exists (or cannot be checked: the opener then reports why),
// kJson only when it is certainly absent.
StateBackend DetectStateBackend(const std::filesystem::path& root);

// "state.sqlite3.corrupt-20250101T000123Z" for the UTC time `now_ms`; its WAL and index go aside
// under the same name + kStateDbWalSuffix / kStateDbShmSuffix.
std::string CorruptStateDbName(int64_t now_ms);
// "state.sqlite3.<pid>.tmp": a database being built, renamed to state.sqlite3 when complete.
std::string TemporaryStateDbName(int64_t pid);

// What a name found directly in the data root is.
enum class RootName {
  kLock,              // .persister.lock
  kStateDb,           // state.sqlite3
  kStateDbSidecar,    // state.sqlite3-wal, state.sqlite3-shm
  kStateDbTemporary,  // state.sqlite3.<pid>.tmp, and its -wal/-shm
  kCorruptStateDb,    // state.sqlite3.corrupt-<time>, and its -wal/-shm
  kBinanceDir,        // binance
  kOther,
};
RootName ClassifyRootName(std::string_view file_name);

// One series folder found under a root.
struct SeriesLocation {
  std::string endpoint;
  std::string symbol;
  std::string interval;
  std::filesystem::path dir;  // <root>/binance/<endpoint>/raw/<symbol>/<interval>

  // "klines/BTCUSDT/1m"
  std::string Name() const { return endpoint + "/" + symbol + "/" + interval; }
};

// Every <endpoint>/raw/<symbol>/<interval> folder under `root`, sorted by endpoint, symbol,
// interval, whatever the names (callers check them against the endpoints they know). A root
// without a binance/ folder has no series. Errors when `root` is not a directory or a folder on
// the way cannot be listed. Read-only; names that vanish while we look are skipped.
Result<std::vector<SeriesLocation>> ListSeries(const std::filesystem::path& root);

// The JSON backend's sign that a crash may have left a series' response files ahead of its
// manifest.json: responses/ (whose modification time a rename into it updates) changed no
// earlier than manifest.json was written, or there are responses and no manifest.
bool ManifestMayLag(const std::filesystem::path& series_dir);

// One entry of a directory listing (symbolic links are neither followed nor counted as files or
// folders: nothing in the layout is one).
struct DirEntry {
  std::string name;
  bool is_regular = false;
  bool is_directory = false;
};

// The names in `dir`, sorted; an empty list when `dir` does not exist. Errors only when it
// exists and cannot be listed.
Result<std::vector<DirEntry>> ListDir(const std::filesystem::path& dir);

}  // namespace qlir
