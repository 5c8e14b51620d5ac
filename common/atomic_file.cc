#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/data_root.h"

namespace qlir {
namespace {

std::string Errno(const std::string& what, const std::filesystem::path& p) {
  return what + " " + p.string() + ": " + std::strerror(errno);
}

}  // namespace

Status SyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(Errno("cannot open directory", dir));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return Status::IOError(Errno("cannot fsync directory", dir));
  return Status::Ok();
}

Status WriteFileAtomic(const std::filesystem::path& target, std::string_view bytes,
                       AtomicWriteOptions options) {
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
  const std::filesystem::path tmp =
      dir / (target.filename().string() + "." + std::to_string(::getpid()) + "." +
             std::to_string(counter.fetch_add(1)) + std::string(kTempSuffix));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(Errno("cannot create", tmp));
  auto fail = [&](const std::string& msg) {
    ::unlink(tmp.c_str());
    return Status::IOError(msg);
  };
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string msg = Errno("cannot write", tmp);
      ::close(fd);
      return fail(msg);
    }
    off += static_cast<size_t>(n);
  }
  if (options.durable && ::fsync(fd) != 0) {
    std::string msg = Errno("cannot fsync", tmp);
    ::close(fd);
    return fail(msg);
  }
  if (::close(fd) != 0) return fail(Errno("cannot close", tmp));
  if (::rename(tmp.c_str(), target.c_str()) != 0) return fail(Errno("cannot rename onto", target));
  if (options.durable && options.sync_dir) return SyncDir(dir);
  return Status::Ok();
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(Errno("cannot open", path));
    return Status::IOError(Errno("cannot open", path));
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string msg = Errno("cannot read", path);
      ::close(fd);
      return Status::IOError(msg);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace qlir
