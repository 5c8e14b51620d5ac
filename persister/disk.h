// Disk: the persister's seam for the file operations whose failure matters (docs/conventions.md,
// "Seams"): crash-safe replacement of a file and fsync of a directory. The real one forwards to
// common/atomic_file.h; tests wrap it to inject ENOSPC/EROFS-like failures.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/status.h"

namespace qlir::persister {

class Disk {
 public:
  virtual ~Disk() = default;
  // Writes a temporary beside `target`, fsyncs it, renames it over `target`, and fsyncs the
  // directory when `sync_dir`. On error nothing is left behind and `target` is untouched.
  virtual Status WriteFileAtomic(const std::filesystem::path& target, std::string_view bytes,
                                 bool sync_dir) = 0;
  virtual Status SyncDir(const std::filesystem::path& dir) = 0;
};

// The real file system (common/atomic_file.h).
Disk* RealDisk();

}  // namespace qlir::persister

namespace qlir::persister {

// Creates `dir` and any missing parents, fsyncing the parent of each directory it creates so
// the new entries survive a crash. Ok when `dir` already exists.
Status CreateDirsDurably(const std::filesystem::path& dir, Disk* disk);

}  // namespace qlir::persister
