#include "common/signals.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace qlir {

Result<int> BlockStopSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (int e = pthread_sigmask(SIG_BLOCK, &mask, nullptr); e != 0) {
    return Status::Error(std::string("cannot block SIGTERM/SIGINT: ") + std::strerror(e));
  }
  ::signal(SIGPIPE, SIG_IGN);
  const int fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return Status::Error(std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

int TakeStopSignal(int signal_fd) {
  signalfd_siginfo info;
  if (::read(signal_fd, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
  return static_cast<int>(info.ssi_signo);
}

}  // namespace qlir
