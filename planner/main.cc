// planner: keeps the klines of --symbols x --intervals complete by handing slices to fetchers
// (docs/protocol.md). Parses flags, builds the real clock and HTTP client, routes SIGTERM/SIGINT
// into the signalfd that the server polls (common/signals.h) and turns RunPlanner's result into
// the exit code (common/exit_codes.h):
//   0  stopped by SIGTERM/SIGINT (not --once), or --once with every slice done;
//   1  a fatal error (an ERROR line says which);
//   2  --once finished with slices failed for good or symbols skipped as unknown (named);
//   3  --once stopped by SIGTERM/SIGINT before it was complete;
//  64  bad flags (an ERROR line names the flag, so the launcher can show it);
//  69  cannot start (no signalfd).
#include <cstdio>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/exit_codes.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/signals.h"
#include "planner/options.h"
#include "planner/planner_server.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = qlir::planner::ParseOptions(args);
  if (!options) {
    // A log line, like every other error, so that the launcher's filter shows it.
    qlir::SetLogProcess("planner");
    qlir::LogError("bad usage: " + options.error() + " (planner --help lists the flags)");
    return qlir::kExitUsage;
  }
  if (options->help) {
    std::fputs(qlir::planner::Usage().c_str(), stdout);
    return qlir::kExitDone;
  }
  // Before any thread exists (libcurl's, ZeroMQ's), so that the signals reach only the signalfd.
  auto signal_fd = qlir::BlockStopSignals();
  if (!signal_fd) {
    qlir::SetLogProcess("planner");
    qlir::LogError(signal_fd.error());
    return qlir::kExitCannotStart;
  }

  qlir::HttpOptions http_options;
  http_options.connect_timeout_ms = 5000;
  http_options.total_timeout_ms = 15000;
  auto http = qlir::MakeCurlHttpClient(http_options);
  qlir::RealClock clock;
  auto result = qlir::planner::RunPlanner(*options, *http, clock, *signal_fd);
  if (!result) {
    qlir::LogError(result.error());
    return qlir::kExitInternal;
  }
  return *result;
}
