// Crash-safe file replacement (docs/conventions.md, "Crash-safe file update"):
//   write a temporary in the same directory (O_CREAT|O_EXCL, name ending in ".tmp"), fsync it,
//   check close, rename it over the target, fsync the directory.
// After an error the temporary is removed and the target is untouched.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/status.h"

namespace qlir {

struct AtomicWriteOptions {
  // When false the caller fsyncs the directory itself (one directory fsync covers every rename
  // before it, so a batch of files can share one). Until then the rename may not be durable.
  bool sync_dir = true;
  // When false nothing is fsynced: readers still see the old or the new file whole, but a
  // machine crash may lose the update. For advisory files (process stats), never for data.
  bool durable = true;
};

Status WriteFileAtomic(const std::filesystem::path& target, std::string_view bytes,
                       AtomicWriteOptions options = {});

// fsync of a directory, making the renames and creations inside it durable.
Status SyncDir(const std::filesystem::path& dir);

// Reads a whole file; an error names the file.
Result<std::string> ReadFile(const std::filesystem::path& path);

}  // namespace qlir
