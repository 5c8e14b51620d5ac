#include "common/klines/interval.h"

#include <array>
#include <utility>

namespace qlir::klines {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

constexpr std::array<std::pair<std::string_view, int64_t>, 15> kIntervals = {{
    {"1s", kSecond},
    {"1m", kMinute},
    {"3m", 3 * kMinute},
    {"5m", 5 * kMinute},
    {"15m", 15 * kMinute},
    {"30m", 30 * kMinute},
    {"1h", kHour},
    {"2h", 2 * kHour},
    {"4h", 4 * kHour},
    {"6h", 6 * kHour},
    {"8h", 8 * kHour},
    {"12h", 12 * kHour},
    {"1d", kDay},
    {"3d", 3 * kDay},
    {"1w", 7 * kDay},
}};

}  // namespace

Result<int64_t> IntervalToMs(std::string_view interval) {
  for (const auto& [name, ms] : kIntervals) {
    if (name == interval) return ms;
  }
  if (interval == "1M") {
    return Status::Error("interval '1M' (one month) has no fixed length and is not supported");
  }
  return Status::Error("unknown interval '" + std::string(interval) +
                       "' (supported: 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w)");
}

const std::vector<std::string>& SupportedIntervals() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v;
    for (const auto& [name, ms] : kIntervals) v.emplace_back(name);
    return v;
  }();
  return all;
}

}  // namespace qlir::klines
