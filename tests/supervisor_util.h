// Helpers for tests that run the launcher (scripts/start-data-server) under a real supervisord:
// a free port range on loopback, and the pid and state of a supervised program.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

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

// P with P..P+ports-1 free on loopback (the launcher's --port-base uses P, P+1, P+2, and P+3,
// P+4 ... for the jobs ports of a second, third ... endpoint), or 0.
// The block lies below the kernel's ephemeral range, where the outgoing connections of every
// other test take ports at random, and is claimed (in runs of 4 ports, one lock file each) with
// lock files held until this process ends, so that the tests scripts/test runs at the same time
// never pick the same ports.
inline int FreePortBase(int ports = 4) {
  static std::vector<int> claims;  // open lock files: a claim lasts as long as the process
  int ephemeral_low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> ephemeral_low;
  const int blocks = (std::max(ports, 1) + 3) / 4;
  const int lo = 10000, hi = ephemeral_low - 4 * blocks;
  if (hi <= lo) return 0;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "qlir-test-ports";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::filesystem::permissions(dir, std::filesystem::perms::all, ec);
  std::mt19937 rng(static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(claims.size()));
  for (int i = 0; i < 500; ++i) {
    const int p = lo + static_cast<int>(rng() % static_cast<unsigned>((hi - lo) / 4)) * 4;
    std::vector<int> held;
    for (int b = 0; b < blocks; ++b) {
      const std::string name = std::to_string(p + 4 * b);
      const int fd = ::open((dir / name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
      if (fd < 0) break;
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        break;
      }
      held.push_back(fd);
    }
    bool ok = static_cast<int>(held.size()) == blocks;
    for (int q = p; ok && q < p + 4 * blocks; ++q) ok = PortFree(q);
    if (ok) {
      claims.insert(claims.end(), held.begin(), held.end());
      return p;
    }
    for (int fd : held) ::close(fd);
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

// Pids of the processes started for run dir `run` (QLIR_RUN_DIR=<run> in their environment,
// as scripts/lib/write-supervisord-conf sets it), zombies left out.
inline std::vector<int> RunDirPids(const std::filesystem::path& run) {
  std::vector<int> pids;
  const std::string want = "QLIR_RUN_DIR=" + std::filesystem::absolute(run).string();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream env(e.path() / "environ", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    size_t pos = 0;
    bool match = false;
    while (pos < all.size()) {
      size_t end = all.find('\0', pos);
      if (end == std::string::npos) end = all.size();
      if (all.compare(pos, end - pos, want) == 0) match = true;
      pos = end + 1;
    }
    if (!match) continue;
    std::ifstream stat(e.path() / "stat");
    std::string st((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t paren = st.rfind(") ");
    if (paren != std::string::npos && paren + 2 < st.size() && st[paren + 2] == 'Z') continue;
    pids.push_back(std::stoi(name));
  }
  return pids;
}

// True while process `pid` runs; a zombie (exited, not yet reaped by its parent) is gone.
inline bool Alive(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string st((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = st.rfind(") ");
  return paren != std::string::npos && paren + 2 < st.size() && st[paren + 2] != 'Z' &&
         st[paren + 2] != 'X';
}

// Polls `done` every 100 ms until it is true or `timeout_ms` passed (a bound against hangs,
// not a timing assertion); returns its last value.
inline bool PollFor(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

// On destruction, stops whatever a failed test left running from run dir `run`: SIGKILL to
// every process carrying its QLIR_RUN_DIR and to its supervisord.
class RunDirCleanup {
 public:
  explicit RunDirCleanup(std::filesystem::path run) : run_(std::move(run)) {}
  ~RunDirCleanup() {
    std::ifstream pidfile(run_ / "supervisord.pid");
    int sd = 0;
    if (pidfile >> sd && sd > 1) ::kill(sd, SIGKILL);
    for (int pid : RunDirPids(run_)) ::kill(pid, SIGKILL);
  }

 private:
  std::filesystem::path run_;
};

// A TCP socket listening on 127.0.0.1:port while alive (a port "already in use").
class PortHolder {
 public:
  explicit PortHolder(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          ::listen(fd_, 4) == 0;
  }
  ~PortHolder() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// `dir` bound read-only onto `at` (a fresh directory) while alive; ok() false when this host
// does not allow it (not root, no mount namespace rights): the caller must then skip.
class ReadOnlyBindMount {
 public:
  ReadOnlyBindMount(const std::filesystem::path& dir, const std::filesystem::path& at) : at_(at) {
    std::filesystem::create_directories(at);
    if (::mount(dir.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) != 0) return;
    mounted_ = true;
    if (::mount(nullptr, at.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      return;
    }
    ok_ = true;
  }
  ~ReadOnlyBindMount() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
  bool ok_ = false;
};

}  // namespace qlir::testing
