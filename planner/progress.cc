#include "planner/progress.h"

#include <cmath>
#include <cstdio>

namespace qlir::planner {

void ProgressMeter::Sample(int64_t now_ms, int64_t done) {
  samples_.emplace_back(now_ms, done);
  // Keep one sample at or before the window's start so the rate spans the whole window.
  while (samples_.size() > 2 && samples_[1].first <= now_ms - window_ms_) samples_.pop_front();
}

double ProgressMeter::RatePerSec() const {
  if (samples_.size() < 2) return 0;
  const auto& [t0, d0] = samples_.front();
  const auto& [t1, d1] = samples_.back();
  if (t1 <= t0 || d1 <= d0) return 0;
  return static_cast<double>(d1 - d0) * 1000.0 / static_cast<double>(t1 - t0);
}

std::optional<int64_t> ProgressMeter::EtaMs(int64_t remaining) const {
  if (remaining <= 0) return 0;
  const double rate = RatePerSec();
  if (rate <= 0) return std::nullopt;
  return static_cast<int64_t>(std::ceil(static_cast<double>(remaining) * 1000.0 / rate));
}

std::string FormatDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  int64_t s = (ms + 999) / 1000;
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buf;
}

std::string FormatProgressLine(const ProgressFigures& f) {
  const double pct =
      f.total > 0 ? 100.0 * static_cast<double>(f.done) / static_cast<double>(f.total) : 100.0;
  char buf[160];
  std::snprintf(buf, sizeof buf, " %lld/%lld (%.1f%%) failed=%lld leased=%lld rate=%.1f/s eta=",
                static_cast<long long>(f.done), static_cast<long long>(f.total), pct,
                static_cast<long long>(f.failed), static_cast<long long>(f.leased), f.rate);
  std::string line = "progress " + f.series + buf;
  if (f.done >= f.total) {
    line += "0s";
  } else if (f.eta_ms) {
    line += FormatDuration(*f.eta_ms);
  } else {
    line += "?";
  }
  return line;
}

}  // namespace qlir::planner
