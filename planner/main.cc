// planner: keeps the klines of --symbols x --intervals complete by handing slices to fetchers
// (docs/protocol.md). Parses flags, builds the real clock and HTTP client, installs the
// SIGTERM/SIGINT self-pipe and turns RunPlanner's result into the exit code:
// (common/exit_codes.h):
//   0  stopped by SIGTERM/SIGINT (not --once), or --once with every slice done;
//   1  a fatal error (an ERROR line says which);
//   2  --once finished with slices failed for good or symbols skipped as unknown (named);
//   3  --once stopped by SIGTERM/SIGINT before it was complete;
//  64  bad flags (an ERROR line names the flag, so the launcher can show it).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/exit_codes.h"
#include "common/http_client.h"
#include "common/clock.h"
#include "common/log.h"
#include "planner/options.h"
#include "planner/planner_server.h"

namespace {

int stop_pipe[2] = {-1, -1};

void OnSignal(int) {
  const char b = 's';
  [[maybe_unused]] ssize_t n = write(stop_pipe[1], &b, 1);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = qlir::planner::ParseOptions(args);
  if (!options) {
    // A log line, like every other error, so that the launcher's filter shows it.
    qlir::SetLogProcess("planner");
    qlir::planner::LogError("bad usage: " + options.error() + " (planner --help lists the flags)");
    return qlir::kExitUsage;
  }
  if (options->help) {
    std::fputs(qlir::planner::Usage().c_str(), stdout);
    return 0;
  }
  if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::perror("planner: pipe");
    return 1;
  }
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  qlir::HttpOptions http_options;
  http_options.connect_timeout_ms = 5000;
  http_options.total_timeout_ms = 15000;
  auto http = qlir::MakeCurlHttpClient(http_options);
  qlir::planner::RealClock clock;
  auto result = qlir::planner::RunPlanner(*options, *http, clock, stop_pipe[0]);
  if (!result) {
    qlir::planner::LogError(result.error());
    return 1;
  }
  return *result;
}
