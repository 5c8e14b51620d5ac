// The one Catch2 2.13 main shared by every test binary. It reports a test case that called
// QLIR_SKIP (tests/skip.h) with kTestSkippedExitCode, which CTest shows as skipped. Catch2
// exits with the number of failed assertions; a run that failed exactly 77 times exits 1, so
// that failures never read as a skip.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/skip.h"

int main(int argc, char* argv[]) {
  const int failed = Catch::Session().run(argc, argv);
  if (failed != 0) return failed == qlir::testing::kTestSkippedExitCode ? 1 : failed;
  return qlir::testing::TestWasSkipped() ? qlir::testing::kTestSkippedExitCode : 0;
}
