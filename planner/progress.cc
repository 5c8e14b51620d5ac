#include "planner/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace qlir::planner {

void ProgressMeter::Sample(int64_t now_ms, int64_t done) {
  samples_.emplace_back(now_ms, done);
  // Keep one sample at or before the window's start so the rate spans the whole window.
  while (samples_.size() > 2 && samples_[1].first <= now_ms - window_ms_) samples_.pop_front();
}

void ProgressMeter::Reset(int64_t now_ms) {
  samples_.clear();
  samples_.emplace_back(now_ms, 0);
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

RunProgress::RunProgress(size_t series, int64_t window_ms)
    : base_(series, 0),
      meters_(series, ProgressMeter(window_ms)),
      run_meter_(window_ms),
      shown_(series) {}

void RunProgress::OnSnapshot(size_t s, int64_t now_ms, int64_t done) {
  if (s >= base_.size()) return;
  base_[s] = done;
  meters_[s].Reset(now_ms);
  // The run's rate starts with the first statuses: nothing is fetched before a series is ready.
  if (!run_started_) {
    run_meter_.Sample(now_ms, 0);
    run_started_ = true;
  }
}

std::vector<std::string> RunProgress::Lines(int64_t now_ms,
                                            const std::vector<SeriesProgress>& series) {
  std::vector<std::string> lines;
  ProgressFigures all;
  all.series = "all";
  int64_t fetched = 0, complete = 0, waiting = 0;
  std::vector<std::string> changed;
  for (size_t s = 0; s < series.size() && s < base_.size(); ++s) {
    const SeriesProgress& p = series[s];
    all.done += p.done;
    all.total += p.total;
    all.failed += p.failed;
    all.leased += p.leased;
    if (!p.ready) {
      ++waiting;
    } else {
      fetched += std::max<int64_t>(0, p.done - base_[s]);
      if (p.done + p.failed >= p.total) ++complete;
    }
    const Shown now_shown{p.ready, p.done, p.total, p.failed};
    if (now_shown == shown_[s]) continue;
    shown_[s] = now_shown;
    if (!p.ready) {
      changed.push_back("progress " + p.name + " waiting for the persister's statuses");
      continue;
    }
    meters_[s].Sample(now_ms, std::max<int64_t>(0, p.done - base_[s]));
    ProgressFigures f;
    f.series = p.name;
    f.done = p.done;
    f.total = p.total;
    f.failed = p.failed;
    f.leased = p.leased;
    f.rate = meters_[s].RatePerSec();
    f.eta_ms = meters_[s].EtaMs(p.total - p.done - p.failed);
    changed.push_back(FormatProgressLine(f));
  }
  if (run_started_) run_meter_.Sample(now_ms, fetched);
  all.rate = run_meter_.RatePerSec();
  // Slices failed for good need no more time; those still failing are in `total - done`.
  all.eta_ms = run_meter_.EtaMs(all.total - all.done - all.failed);
  std::string head = FormatProgressLine(all) + " series=" + std::to_string(complete) + "/" +
                     std::to_string(series.size()) + " complete";
  if (waiting) head += ", " + std::to_string(waiting) + " waiting for the persister's statuses";
  lines.push_back(std::move(head));
  lines.insert(lines.end(), changed.begin(), changed.end());
  return lines;
}

}  // namespace qlir::planner
