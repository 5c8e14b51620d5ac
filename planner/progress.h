// Progress of a run: slices done over a sliding window give a rate (slices/s) and an ETA; the
// planner logs, at a steady cadence, one line for the whole run and one line per series whose
// figures changed. Slices already stored when the run started count as done but never in the
// rate, so the ETA after a resume is the time for what is left at the current pace.
// Plain classes fed counts and time (a manual clock in tests).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qlir::planner {

class ProgressMeter {
 public:
  explicit ProgressMeter(int64_t window_ms = 60000) : window_ms_(window_ms) {}
  // `done` slices are done at `now_ms` (a count that normally grows).
  void Sample(int64_t now_ms, int64_t done);
  // Forgets every sample and starts again from 0 done at `now_ms`.
  void Reset(int64_t now_ms);
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

// One series as the coordinator sees it at a tick.
struct SeriesProgress {
  std::string name;    // BTCUSDT/1m
  bool ready = false;  // the persister's statuses are in
  int64_t done = 0;    // ok or partial
  int64_t total = 0;
  int64_t failed = 0;
  int64_t leased = 0;
};

class RunProgress {
 public:
  RunProgress(size_t series, int64_t window_ms);
  // Series `s`'s stored statuses are in: its `done` slices were there before this run.
  void OnSnapshot(size_t s, int64_t now_ms, int64_t done);
  // The lines of one tick: first the run's ("progress all 1200/1500 (80.0%) failed=2
  // leased=4 rate=12.3/s eta=24s series=3/4 complete"), then one for each series whose done,
  // failed, total or readiness changed since the last tick.
  std::vector<std::string> Lines(int64_t now_ms, const std::vector<SeriesProgress>& series);

 private:
  struct Shown {
    bool ready = false;
    int64_t done = -1, total = -1, failed = -1;
    bool operator==(const Shown&) const = default;
  };
  std::vector<int64_t> base_;  // done when the statuses came in
  std::vector<ProgressMeter> meters_;
  ProgressMeter run_meter_;
  bool run_started_ = false;
  std::vector<Shown> shown_;
};

}  // namespace qlir::planner
