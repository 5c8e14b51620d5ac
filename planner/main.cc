// planner: keeps the klines of --symbols x --intervals complete by handing slices to fetchers
// (docs/protocol.md). Parses flags, builds the real clock and HTTP client, installs the
// SIGTERM/SIGINT self-pipe and turns RunPlanner's result into the exit code:
//   0  stopped by SIGTERM/SIGINT, or --once with every slice done;
//   1  bad flags or a fatal error (message on stderr);
//   2  --once finished with slices failed for good (listed on stderr).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "planner/clock.h"
#include "planner/log.h"
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
    std::fprintf(stderr, "planner: %s\n%s", options.error().c_str(),
                 qlir::planner::Usage().c_str());
    return 1;
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
  qlir::planner::SystemClock clock;
  auto result = qlir::planner::RunPlanner(*options, *http, clock, stop_pipe[0]);
  if (!result) {
    qlir::planner::LogError(result.error());
    return 1;
  }
  return *result;
}
