// Progress of one series: slices done over a sliding window give a rate (slices/s) and an ETA;
// and the text of the progress line the planner writes on stderr at a steady cadence.
// Plain class fed counts and time (a manual clock in tests).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace qlir::planner {

class ProgressMeter {
 public:
  explicit ProgressMeter(int64_t window_ms = 60000) : window_ms_(window_ms) {}
  // `done` slices are done at `now_ms` (a count that normally grows).
  void Sample(int64_t now_ms, int64_t done);
  // Slices per second over the window; 0 before two samples or when nothing moved.
  double RatePerSec() const;
  // Time left for `remaining` slices at the current rate; nullopt when the rate is 0.
  std::optional<int64_t> EtaMs(int64_t remaining) const;

 private:
  int64_t window_ms_;
  std::deque<std::pair<int64_t, int64_t>> samples_;  // (time, done), oldest first
};

// "1h02m", "3m05s", "42s", "2d03h".
std::string FormatDuration(int64_t ms);

struct ProgressFigures {
  std::string series;  // BTCUSDT/1m
  int64_t done = 0;    // ok or partial
  int64_t total = 0;
  int64_t failed = 0;
  int64_t leased = 0;
  double rate = 0;
  std::optional<int64_t> eta_ms;
};
// "progress BTCUSDT/1m 1200/1500 (80.0%) failed=2 leased=4 rate=12.3/s eta=24s"
std::string FormatProgressLine(const ProgressFigures& f);

}  // namespace qlir::planner
