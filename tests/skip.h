// Skipping a test that cannot run here, so that CTest reports it as skipped and never as passed.
//
// Catch2 2.13 has no SKIP. A test case that lacks what it needs (root, network namespaces, a
// tmpfs) calls QLIR_SKIP with the reason and returns. The shared main (tests/catch_main.cc)
// then exits with kTestSkippedExitCode if nothing failed, and CMake registers every test case
// with SKIP_RETURN_CODE set to that code (qlir_add_test in CMakeLists.txt). Run by hand, the
// binary prints "SKIPPED: <reason>" and exits 77.
#pragma once

#include <cstdio>
#include <sstream>
#include <string>

namespace qlir::testing {

// automake's code for a skipped test. A test binary's code only: programs and scripts use
// common/exit_codes.h.
inline constexpr int kTestSkippedExitCode = 77;

inline bool& SkippedFlag() {
  static bool skipped = false;
  return skipped;
}

inline void MarkSkipped(const std::string& why) {
  SkippedFlag() = true;
  std::printf("SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
}

inline bool TestWasSkipped() { return SkippedFlag(); }

}  // namespace qlir::testing

// Ends the current test case as skipped; `why` may be a stream expression (a << b).
#define QLIR_SKIP(why)                                  \
  do {                                                  \
    std::ostringstream qlir_skip_why_;                  \
    qlir_skip_why_ << why;                              \
    ::qlir::testing::MarkSkipped(qlir_skip_why_.str()); \
    return;                                             \
  } while (0)
