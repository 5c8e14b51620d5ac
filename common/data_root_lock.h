// DataRootLock: exactly one writer per data root, the persister or an offline `qlir-status
// migrate` (docs/conventions.md, "Crash-safe file update", step 1; leveldb's LockFile). An
// exclusive, non-blocking flock(2) on <root>/.persister.lock, held for the lifetime of the object;
// the kernel drops it when the process dies, however it dies, so a stale lock file never blocks a
// restart. The holder's pid is written into the file for the error message of the next one.
#pragma once

#include <filesystem>
#include <memory>

#include "common/status.h"

namespace qlir {

class DataRootLock {
 public:
  // Creates the root if needed. Fails at once (never waits) when another holder has it, with
  // Unavailable; the error names the lock file and, when readable, the holder's pid.
  static Result<std::unique_ptr<DataRootLock>> Acquire(const std::filesystem::path& root);
  ~DataRootLock();
  DataRootLock(const DataRootLock&) = delete;
  DataRootLock& operator=(const DataRootLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  DataRootLock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_;
};

}  // namespace qlir
