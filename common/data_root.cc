#include "common/data_root.h"

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "common/klines/interval.h"
#include "common/slice_id.h"
#include "common/symbol.h"
#include "common/time_util.h"

namespace qlir {

namespace fs = std::filesystem;

namespace {

// 2025-01-01T00:01:23Z -> 20250101T000123Z: no ':' so the name is portable.
std::string CompactUtc(int64_t now_ms) {
  std::string compact;
  for (char c : FormatIsoUtc(now_ms)) {
    if (c != '-' && c != ':') compact += c;
  }
  return compact;
}

}  // namespace

Result<fs::path> ResolveDataRoot(const std::optional<std::string>& explicit_root) {
  if (explicit_root && !explicit_root->empty()) return fs::path(*explicit_root);
  if (const char* env = std::getenv("QLIR_DATA_ROOT"); env && *env) return fs::path(env);
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    return Status::InvalidArgument("no data root: pass --data-root, or set QLIR_DATA_ROOT or HOME");
  }
  return fs::path(home) / "qlir_data";
}

Result<fs::path> SeriesDir(const fs::path& root, std::string_view endpoint, std::string_view symbol,
                           std::string_view interval) {
  QLIR_RETURN_IF_ERROR(ValidateSymbol(symbol));
  if (endpoint.empty() || endpoint.find_first_of("/\\.") != std::string_view::npos) {
    return Status::InvalidArgument("invalid endpoint name '" + std::string(endpoint) + "'");
  }
  if (interval.empty() || interval.find_first_of("/\\.") != std::string_view::npos) {
    return Status::InvalidArgument("invalid interval '" + std::string(interval) + "'");
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

std::string CorruptManifestName(int64_t now_ms) {
  return std::string(kManifestName) + std::string(kCorruptManifestInfix) + CompactUtc(now_ms);
}

std::string UnreadableResponseName(std::string_view response_name, int64_t now_ms) {
  return std::string(response_name) + std::string(kUnreadableInfix) + CompactUtc(now_ms);
}

bool IsUnreadableResponseName(std::string_view name) {
  const size_t at = name.find(kUnreadableInfix);
  if (at == std::string_view::npos) return false;
  return ClassifyResponseName(name.substr(0, at), nullptr) == ResponseName::kResponse;
}

std::string_view StateBackendName(StateBackend b) {
  return b == StateBackend::kSqlite ? "sqlite" : "json";
}

StateBackend DetectStateBackend(const fs::path& root) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(root / std::string(kStateDbName), ec);
  if (ec)
    return ec == std::errc::no_such_file_or_directory ? StateBackend::kJson : StateBackend::kSqlite;
  return fs::exists(st) ? StateBackend::kSqlite : StateBackend::kJson;
}

std::string CorruptStateDbName(int64_t now_ms) {
  return std::string(kStateDbName) + std::string(kCorruptManifestInfix) + CompactUtc(now_ms);
}

std::string TemporaryStateDbName(int64_t pid) {
  return std::string(kStateDbName) + "." + std::to_string(pid) + std::string(kTempSuffix);
}

RootName ClassifyRootName(std::string_view name) {
  if (name == kLockFileName) return RootName::kLock;
  if (name == "binance") return RootName::kBinanceDir;
  if (name == kStateDbName) return RootName::kStateDb;
  if (!name.starts_with(kStateDbName)) return RootName::kOther;
  std::string_view rest = name.substr(kStateDbName.size());
  if (rest == kStateDbWalSuffix || rest == kStateDbShmSuffix) return RootName::kStateDbSidecar;
  // The -wal/-shm of a temporary or corrupt database classify as the database itself.
  if (rest.ends_with(kStateDbWalSuffix) || rest.ends_with(kStateDbShmSuffix)) {
    rest.remove_suffix(kStateDbWalSuffix.size());
  }
  if (rest.starts_with(kCorruptManifestInfix) && rest.size() > kCorruptManifestInfix.size()) {
    return RootName::kCorruptStateDb;
  }
  if (rest.size() > 1 + kTempSuffix.size() && rest.starts_with(".") &&
      rest.ends_with(kTempSuffix)) {
    const std::string_view pid = rest.substr(1, rest.size() - 1 - kTempSuffix.size());
    if (std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return RootName::kStateDbTemporary;
    }
  }
  return RootName::kOther;
}

Result<std::vector<DirEntry>> ListDir(const fs::path& dir) {
  std::vector<DirEntry> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
    DirEntry e;
    e.name = it->path().filename().string();
    std::error_code sec;
    const fs::file_status st = it->symlink_status(sec);
    if (sec) continue;  // vanished meanwhile
    e.is_regular = fs::is_regular_file(st);
    e.is_directory = fs::is_directory(st);
    out.push_back(std::move(e));
  }
  if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

bool ManifestMayLag(const fs::path& series_dir) {
  std::error_code e1, e2;
  const auto responses_time = fs::last_write_time(series_dir / kResponsesDir, e1);
  const auto manifest_time = fs::last_write_time(series_dir / kManifestName, e2);
  return !e1 && (e2 || manifest_time <= responses_time);
}

Result<std::vector<SeriesLocation>> ListSeries(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return Status::NotFound("data root " + root.string() + " is not a directory" +
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
      auto intervals = ListDir(raw / sym.name);
      if (!intervals) return intervals.status();
      for (const DirEntry& iv : *intervals) {
        if (!iv.is_directory) continue;
        out.push_back(SeriesLocation{ep.name, sym.name, iv.name, raw / sym.name / iv.name});
      }
    }
  }
  return out;
}

}  // namespace qlir
