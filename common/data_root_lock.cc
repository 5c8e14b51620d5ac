#include "common/data_root_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "common/data_root.h"

namespace qlir {

Result<std::unique_ptr<DataRootLock>> DataRootLock::Acquire(const std::filesystem::path& root) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Status::Error("cannot create data root " + root.string() + ": " + ec.message());
  const std::filesystem::path path = root / kLockFileName;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::Error("cannot open lock file " + path.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buf[32] = {};
    if (::pread(fd, buf, sizeof buf - 1, 0) > 0) holder = std::string(buf);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Unavailable("another persister is running on data root " + root.string() +
                                 " (lock " + path.string() + " held" +
                                 (holder.empty() ? "" : " by pid " + holder) + ")");
    }
    return Status::Error("cannot lock " + path.string() + ": " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only informational; the lock itself is what counts.
  }
  return std::unique_ptr<DataRootLock>(new DataRootLock(path, fd));
}

DataRootLock::~DataRootLock() {
  // Closing the descriptor releases the lock; the file stays (removing it would race with a
  // next holder that already opened it).
  ::close(fd_);
}

}  // namespace qlir
