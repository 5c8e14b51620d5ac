#include "tests/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace qlir::testing {

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log,
                           bool capture_stdout) {
  int pipefd[2] = {-1, -1};
  if (capture_stdout && ::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open log " + log.string());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::dup2(log_fd, STDERR_FILENO);
    ::dup2(capture_stdout ? pipefd[1] : log_fd, STDOUT_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (capture_stdout) {
    ::close(pipefd[1]);
    stdout_fd_ = pipefd[0];
  }
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    Wait(10000);
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

bool ChildProcess::running() {
  if (status_) return false;
  return !Wait(0).has_value();
}

std::optional<std::string> ChildProcess::ReadLine(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (stdout_fd_ < 0) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return std::nullopt;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

void ChildProcess::Signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::Wait(int timeout_ms) {
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string BinaryPath(const std::string& rel) { return std::string(QLIR_BINARY_DIR) + "/" + rel; }

std::string ReadLog(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > 6000) s = "...\n" + s.substr(s.size() - 6000);
  return s;
}

int RunStatusTool(const std::filesystem::path& dir, std::vector<std::string> args,
                  std::string* out) {
  args.insert(args.begin(), BinaryPath("tools/qlir-status/qlir-status"));
  static int runs = 0;
  const std::filesystem::path log = dir / ("qlir-status-" + std::to_string(runs++) + ".out");
  ChildProcess tool(args, log);
  auto st = tool.Wait(60000);
  *out = ReadLog(log);
  return st ? *st : -1;
}

}  // namespace qlir::testing
