#include "persister/disk.h"

#include "common/atomic_file.h"

namespace qlir::persister {
namespace {

class PosixDisk : public Disk {
 public:
  Status WriteFileAtomic(const std::filesystem::path& target, std::string_view bytes,
                         bool sync_dir) override {
    return qlir::WriteFileAtomic(target, bytes, AtomicWriteOptions{.sync_dir = sync_dir});
  }
  Status SyncDir(const std::filesystem::path& dir) override { return qlir::SyncDir(dir); }
};

}  // namespace

Disk* RealDisk() {
  static PosixDisk disk;
  return &disk;
}

}  // namespace qlir::persister

namespace qlir::persister {

Status CreateDirsDurably(const std::filesystem::path& dir, Disk* disk) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::Ok();
  const std::filesystem::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    QLIR_RETURN_IF_ERROR(CreateDirsDurably(parent, disk));
  }
  if (!std::filesystem::create_directory(dir, ec) && ec) {
    return Status::Error("cannot create directory " + dir.string() + ": " + ec.message());
  }
  return disk->SyncDir(parent.empty() ? std::filesystem::path(".") : parent);
}

}  // namespace qlir::persister
