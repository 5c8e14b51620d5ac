// LogCapture: the lines common/log.h writes, from every thread, collected while the object
// lives (it installs itself as the log sink and removes itself when destroyed). For tests that
// check what a component logged. One at a time: a second one replaces the first's sink.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"

namespace qlir::testing {

class LogCapture {
 public:
  // echo: also print every line to stderr, so that a failing test's output shows the log.
  explicit LogCapture(bool echo = false) {
    SetLogSink([this, echo](std::string_view line) {
      if (echo) std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
      cv_.notify_all();
    });
  }
  ~LogCapture() { SetLogSink({}); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // True when some line contains `s`.
  bool Contains(const std::string& s) const { return Count(s) > 0; }

  // How many lines contain `s`.
  int Count(const std::string& s) const {
    std::lock_guard<std::mutex> lock(mu_);
    return CountLocked(s);
  }

  // Waits (on a condition variable, up to `timeout`) for a line containing `s`; false when none
  // came. A deadline for a test that would otherwise hang, not a timed assertion.
  bool WaitFor(const std::string& s, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return CountLocked(s) > 0; });
  }

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  int CountLocked(const std::string& s) const {
    int n = 0;
    for (const auto& l : lines_) n += l.find(s) != std::string::npos;
    return n;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;  // guarded by mu_
};

}  // namespace qlir::testing
