// The fetcher binary: parses flags, opens the shared rate state, routes SIGTERM/SIGINT into a
// signalfd that the socket loop polls, runs the loop, and turns its Status into an exit code
// (0 after a clean stop, 1 on a setup failure, 2 on bad flags).
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "fetcher/fetcher_loop.h"
#include "common/log.h"
#include "fetcher/options.h"
#include "fetcher/shared_rate_state.h"

int main(int argc, char** argv) {
  using namespace qlir::fetcher;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cl = ParseCommandLine(args);
  if (!cl.ok()) {
    std::fprintf(stderr, "fetcher: %s\n%s", cl.error().c_str(), Usage().c_str());
    return 2;
  }
  if (cl->help) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  SetLogProcess("fetcher[" + cl->fetcher.fetcher_id + "]");
  if (cl->verbose) SetLogLevel(LogLevel::kDebug);
  if (cl->log_json) SetLogJson(true);

  auto curve_setup = qlir::curve::LoadSetup(cl->curve, qlir::curve::Role::kClient);
  if (!curve_setup.ok()) {
    Log(LogLevel::kError, "", curve_setup.error());
    return 1;
  }
  cl->fetcher.curve = *curve_setup;

  // Block the signals before any thread exists (ours, libcurl's, ZeroMQ's), so they land only
  // in the signalfd inside the poll set.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    Log(LogLevel::kError, "", "cannot block signals");
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    Log(LogLevel::kError, "", "signalfd failed");
    return 1;
  }

  auto rate = SharedRateState::Open(cl->rate_state_path, cl->rate);
  if (!rate.ok()) {
    Log(LogLevel::kError, "", rate.error());
    return 1;
  }
  const qlir::HttpOptions http = cl->http;
  qlir::Status s = RunFetcher(
      cl->fetcher, [http] { return qlir::MakeCurlHttpClient(http); }, rate->get(), sfd);
  ::close(sfd);
  if (!s.ok()) {
    Log(LogLevel::kError, "", s.message());
    return 1;
  }
  return 0;
}
