// exchange-sim: a local stand-in for Binance's public spot REST API. Parses flags, starts the
// server on the real clock, prints "listening on HOST:PORT", and exits 0 on SIGTERM/SIGINT.
// Flags and endpoints: tools/exchange-sim/README.md.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/clock.h"
#include "tools/exchange-sim/config.h"
#include "tools/exchange-sim/server.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  qlir::Result<qlir::sim::SimConfig> config = qlir::sim::ParseFlags(args);
  if (!config.ok()) {
    std::fprintf(stderr, "exchange-sim: %s\n", config.error().c_str());
    return 2;
  }
  if (config->help) {
    std::fputs(qlir::sim::UsageText().c_str(), stdout);
    return 0;
  }

  // Block the stop signals before any thread starts, so every server thread inherits the mask
  // and the signals are taken only by sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  qlir::RealClock clock;
  const std::string host = config->host;
  qlir::sim::SimServer server(std::move(config).value(), &clock);
  qlir::Result<int> port = server.Start();
  if (!port.ok()) {
    std::fprintf(stderr, "%s\n", port.error().c_str());
    return 1;
  }
  std::printf("listening on %s:%d\n", host.c_str(), *port);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "exchange-sim: signal %d, stopping\n", sig);
  server.Stop();
  return 0;
}
