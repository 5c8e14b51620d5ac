// What the planner learned of each series' first candle, remembered across restarts so that a
// restarted planner does not ask the exchange once per series again (issue 15): a small JSON
// file of its own (--listing-cache), never the data root.
//
//   {"version":1,"first":{"<base_url> <endpoint> <symbol> <interval>": <open time ms>, ...}}
//
// Keyed by the exchange's base URL too, so that another exchange (or a simulator) is never
// confused with this one. Only candles that exist are remembered: a series with none yet is
// asked again next time. A missing file is empty; a damaged one is reported, ignored and
// rewritten at the next save: it is a cache, the exchange is the truth.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qlir::planner {

class ListingCache {
 public:
  // Loads `path` (empty: a cache that remembers nothing and never writes). A damaged file
  // loads as empty and its problem is in load_error().
  static ListingCache Load(const std::string& path);

  std::optional<int64_t> First(std::string_view base_url, std::string_view endpoint,
                               std::string_view symbol, std::string_view interval) const;
  void Remember(std::string_view base_url, std::string_view endpoint, std::string_view symbol,
                std::string_view interval, int64_t first_ms);
  // Writes the file atomically when something was remembered since the load.
  Status Save();

  const std::string& load_error() const { return load_error_; }
  size_t size() const { return first_.size(); }

 private:
  static std::string Key(std::string_view base_url, std::string_view endpoint,
                         std::string_view symbol, std::string_view interval);

  std::string path_;
  std::map<std::string, int64_t> first_;
  bool dirty_ = false;
  std::string load_error_;
};

}  // namespace qlir::planner
