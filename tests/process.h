// Child processes for end-to-end tests: spawn a real binary with its stderr to a log file,
// read lines from its stdout, signal it, and wait for it with a deadline (never forever).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qlir::testing {

class ChildProcess {
 public:
  // Starts argv[0] with argv. stderr (and stdout unless capture_stdout) goes to `log`.
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log,
               bool capture_stdout = false);
  ~ChildProcess();  // SIGKILLs a child still running and reaps it
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // One line of stdout (without '\n'), or nullopt after timeout_ms or EOF.
  std::optional<std::string> ReadLine(int timeout_ms);
  void Signal(int sig);
  // Exit status (or 128+signal), or nullopt if still running after timeout_ms.
  std::optional<int> Wait(int timeout_ms);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::optional<int> status_;
};

// A directory of built binaries: QLIR_BINARY_DIR/<rel>.
std::string BinaryPath(const std::string& rel);

// Log file contents, for failure messages.
std::string ReadLog(const std::filesystem::path& p);

// Runs the built qlir-status with `args` (output files named after `dir`); returns its exit code
// (-1 when it did not end within 60 s) and its stdout in *out.
int RunStatusTool(const std::filesystem::path& dir, std::vector<std::string> args,
                  std::string* out);

}  // namespace qlir::testing
