#include "common/signals.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace qlir {

// Runs in its own process: blocking signals in the test binary would change every later test.
TEST_CASE("a stop signal makes the signalfd readable instead of killing the process") {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto fd = BlockStopSignals();
    if (!fd.ok()) _exit(10);
    if (TakeStopSignal(*fd) != 0) _exit(11);  // nothing yet
    ::kill(::getpid(), SIGTERM);              // blocked: pending on the fd, not fatal
    pollfd p{*fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) _exit(12);
    if (TakeStopSignal(*fd) != SIGTERM) _exit(13);
    ::raise(SIGINT);
    if (TakeStopSignal(*fd) != SIGINT) _exit(14);
    _exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace qlir
