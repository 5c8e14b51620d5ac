#include "common/stats.h"

#include <unistd.h>

#include <climits>

#include "common/atomic_file.h"
#include "common/log.h"
#include "common/time_util.h"

namespace qlir {

StatsFile::StatsFile(std::filesystem::path path, std::string process, std::string id,
                     int64_t started_ms, int64_t every_ms)
    : path_(std::move(path)),
      process_(std::move(process)),
      id_(std::move(id)),
      started_ms_(started_ms),
      every_ms_(every_ms),
      last_write_ms_(INT64_MIN / 2) {}

void StatsFile::Write(int64_t now_ms, const Counters& counters, const nlohmann::json& extra) {
  if (!enabled()) return;
  last_write_ms_ = now_ms;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  nlohmann::json j = {{"process", process_},
                      {"id", id_},
                      {"pid", static_cast<int64_t>(::getpid())},
                      {"host", std::string(host)},
                      {"started_at", FormatIsoUtc(started_ms_)},
                      {"updated_at", FormatIsoUtc(now_ms)},
                      {"updated_at_ms", now_ms},
                      {"counters", counters}};
  if (extra.is_object()) {
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  }
  std::error_code ec;
  if (!path_.parent_path().empty()) std::filesystem::create_directories(path_.parent_path(), ec);
  AtomicWriteOptions options;
  options.durable = false;
  Status s = WriteFileAtomic(path_, j.dump(2) + "\n", options);
  if (!s.ok()) {
    if (s.message() != last_error_) {
      Log(LogLevel::kWarn, "", "cannot write the stats file: " + s.message());
      last_error_ = s.message();
    }
  } else {
    last_error_.clear();
  }
}

Result<nlohmann::json> ReadStatsFile(const std::filesystem::path& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Error(path.string() + ": not JSON");
  if (!j.is_object() || !j.contains("process") || !j["process"].is_string() ||
      !j.contains("counters") || !j["counters"].is_object()) {
    return Status::Error(path.string() + ": not a stats file (needs \"process\" and \"counters\")");
  }
  return j;
}

}  // namespace qlir
