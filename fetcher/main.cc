// The fetcher binary: parses flags, opens the shared rate state, routes SIGTERM/SIGINT into the
// signalfd that the socket loop polls (common/signals.h), runs the loop, and turns its Status
// into an exit code (common/exit_codes.h):
//   0   stopped by SIGTERM/SIGINT after a clean shutdown;
//   64  bad flags;
//   69  cannot start: a CURVE key cannot be read, no signalfd, the shared rate state cannot be
//       opened, the loop cannot be set up.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/exit_codes.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/signals.h"
#include "fetcher/fetcher_loop.h"
#include "fetcher/options.h"
#include "fetcher/shared_rate_state.h"

int main(int argc, char** argv) {
  using namespace qlir;
  using namespace qlir::fetcher;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cl = ParseCommandLine(args);
  if (!cl.ok()) {
    std::fprintf(stderr, "fetcher: %s\n%s", cl.error().c_str(), Usage().c_str());
    return kExitUsage;
  }
  if (cl->help) {
    std::fputs(Usage().c_str(), stdout);
    return kExitDone;
  }
  SetLogProcess("fetcher[" + cl->fetcher.fetcher_id + "]");
  if (cl->verbose) SetLogLevel(LogLevel::kDebug);
  if (cl->log_json) SetLogJson(true);

  auto curve_setup = curve::LoadSetup(cl->curve, curve::Role::kClient);
  if (!curve_setup.ok()) {
    LogError(curve_setup.error());
    return kExitCannotStart;
  }
  cl->fetcher.curve = *curve_setup;

  // Before any thread exists (ours, libcurl's, ZeroMQ's), so that the signals reach only the
  // signalfd inside the poll set.
  auto signal_fd = BlockStopSignals();
  if (!signal_fd.ok()) {
    LogError(signal_fd.error());
    return kExitCannotStart;
  }
  auto rate = SharedRateState::Open(cl->rate_state_path, cl->rate);
  if (!rate.ok()) {
    LogError(rate.error());
    return kExitCannotStart;
  }
  RealClock clock;
  if (cl->funding_limit > 0 || cl->funding_window_ms > 0) {
    // Another fundingRate limit than the exchange's (a simulator's): every process on the host
    // uses it once it is in the shared state.
    const Endpoint& funding = *FindEndpoint("fundingRate");
    RateStateSet set(cl->rate_state_path, cl->rate, rate->get());
    auto own = set.Requests(funding);
    const auto stated = funding.own_limit();
    Status learned =
        own.ok() ? (*own)->Learn(
                       clock.WallNowMs(), cl->funding_limit > 0 ? cl->funding_limit : stated->limit,
                       cl->funding_window_ms > 0 ? cl->funding_window_ms : stated->window_ms)
                 : own.status();
    if (!learned.ok()) {
      LogError(learned.message());
      return kExitCannotStart;
    }
  }
  const HttpOptions http = cl->http;
  Status s = RunFetcher(
      cl->fetcher, [http] { return MakeCurlHttpClient(http); }, rate->get(), clock, *signal_fd);
  ::close(*signal_fd);
  if (!s.ok()) {
    LogError(s.message());
    return kExitCannotStart;
  }
  return kExitDone;
}
