// Helpers for tests that run the launcher (scripts/start-data-server) under a real supervisord:
// a free port range on loopback, and the pid and state of a supervised program.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "tests/process.h"

namespace qlir::testing {

inline bool PortFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// P with P, P+1 and P+2 free on loopback (the launcher's --port-base), or 0.
inline int FreePortBase() {
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  for (int i = 0; i < 500; ++i) {
    int p = 20000 + static_cast<int>(rng() % 40000);
    if (PortFree(p) && PortFree(p + 1) && PortFree(p + 2)) return p;
  }
  return 0;
}

// The output of `supervisorctl -c RUN/supervisord.conf ARGS...` (`out` is a scratch file).
inline std::string Supervisorctl(const std::filesystem::path& run,
                                 const std::vector<std::string>& args,
                                 const std::filesystem::path& out) {
  std::vector<std::string> argv = {"/usr/bin/supervisorctl", "-c",
                                   (run / "supervisord.conf").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess ctl(argv, out);
  ctl.Wait(30000);
  std::string text = ReadLog(out);
  std::filesystem::remove(out);
  return text;
}

// `supervisorctl pid PROGRAM`: the pid, or 0 when not running.
inline int SupervisedPid(const std::filesystem::path& run, const std::string& program,
                         const std::filesystem::path& out) {
  try {
    return std::stoi(Supervisorctl(run, {"pid", program}, out));
  } catch (...) {
    return 0;
  }
}

}  // namespace qlir::testing
