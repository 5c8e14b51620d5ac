#include "planner/listing_cache.h"

#include <filesystem>
#include <system_error>

#include "common/atomic_file.h"
#include "common/json.h"

namespace qlir::planner {

std::string ListingCache::Key(std::string_view base_url, std::string_view endpoint,
                              std::string_view symbol, std::string_view interval) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  return std::string(base_url) + " " + std::string(endpoint) + " " + std::string(symbol) + " " +
         std::string(interval);
}

ListingCache ListingCache::Load(const std::string& path) {
  ListingCache c;
  c.path_ = path;
  if (path.empty()) return c;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return c;
  auto text = ReadFile(path);
  if (!text.ok()) {
    c.load_error_ = text.error();
    return c;
  }
  try {
    const nlohmann::json j = nlohmann::json::parse(*text);
    if (!j.is_object() || !j.contains("first") || !j["first"].is_object()) {
      c.load_error_ = path + ": no \"first\" object";
      return c;
    }
    for (const auto& [k, v] : j["first"].items()) {
      if (v.is_number_integer() && v.get<int64_t>() >= 0) c.first_[k] = v.get<int64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    c.load_error_ = path + ": not JSON: " + e.what();
    c.first_.clear();
  }
  return c;
}

std::optional<int64_t> ListingCache::First(std::string_view base_url, std::string_view endpoint,
                                           std::string_view symbol,
                                           std::string_view interval) const {
  auto it = first_.find(Key(base_url, endpoint, symbol, interval));
  if (it == first_.end()) return std::nullopt;
  return it->second;
}

void ListingCache::Remember(std::string_view base_url, std::string_view endpoint,
                            std::string_view symbol, std::string_view interval, int64_t first_ms) {
  if (path_.empty() || first_ms < 0) return;
  int64_t& slot = first_[Key(base_url, endpoint, symbol, interval)];
  if (slot != first_ms) dirty_ = true;
  slot = first_ms;
}

Status ListingCache::Save() {
  if (path_.empty() || !dirty_) return Status::Ok();
  nlohmann::json j = {{"version", 1}, {"first", nlohmann::json::object()}};
  for (const auto& [k, v] : first_) j["first"][k] = v;
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  // Advisory: losing it to a machine crash only costs the requests again.
  Status s = WriteFileAtomic(path_, j.dump() + "\n", AtomicWriteOptions{true, false});
  if (s.ok()) dirty_ = false;
  return s;
}

}  // namespace qlir::planner
