// exchange-sim: a local stand-in for Binance's public spot REST API. Parses flags, starts the
// server on the real clock, prints "listening on HOST:PORT", and exits 0 on SIGTERM/SIGINT
// (common/signals.h). Exit codes (common/exit_codes.h): 64 bad flags, 69 cannot listen.
// Flags and endpoints: tools/exchange-sim/README.md.
#include <poll.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/exit_codes.h"
#include "common/signals.h"
#include "tools/exchange-sim/config.h"
#include "tools/exchange-sim/server.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  qlir::Result<qlir::sim::SimConfig> config = qlir::sim::ParseFlags(args);
  if (!config.ok()) {
    std::fprintf(stderr, "exchange-sim: %s\n", config.error().c_str());
    return qlir::kExitUsage;
  }
  if (config->help) {
    std::fputs(qlir::sim::UsageText().c_str(), stdout);
    return qlir::kExitDone;
  }
  // Before any server thread starts, so that every thread inherits the mask.
  auto signal_fd = qlir::BlockStopSignals();
  if (!signal_fd.ok()) {
    std::fprintf(stderr, "exchange-sim: %s\n", signal_fd.error().c_str());
    return qlir::kExitCannotStart;
  }

  qlir::RealClock clock;
  const std::string host = config->host;
  qlir::sim::SimServer server(std::move(config).value(), &clock);
  qlir::Result<int> port = server.Start();
  if (!port.ok()) {
    std::fprintf(stderr, "%s\n", port.error().c_str());
    return qlir::kExitCannotStart;
  }
  std::printf("listening on %s:%d\n", host.c_str(), *port);
  std::fflush(stdout);

  pollfd p{*signal_fd, POLLIN, 0};
  while (::poll(&p, 1, -1) != 1) {
  }
  std::fprintf(stderr, "exchange-sim: signal %d, stopping\n", qlir::TakeStopSignal(*signal_fd));
  server.Stop();
  return qlir::kExitDone;
}
