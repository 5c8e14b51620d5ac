// fsync_ceiling: the machine's ceiling for the persister's durable writes. One process writes
// --files files of --bytes bytes each into one responses/ directory exactly as the persister
// does (persister_server.cc HandleResult/CommitBatch): qlir::WriteFileAtomic with
// sync_dir=false (temporary O_CREAT|O_EXCL, write, fsync, close, rename), then one directory
// fsync per batch of at most --batch files (the persister's max_batch, 256). Nothing else: no
// network, no parsing, no manifest. Prints one JSON line; asserts nothing.
//   fsync_ceiling --dir SCRATCH --files 2000 --bytes 175000 [--batch 256]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/atomic_file.h"

namespace fs = std::filesystem;

namespace {

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir;
  long files = 2000;
  long bytes = 175000;
  long batch = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--dir") {
      dir = v;
    } else if (a == "--files") {
      files = std::atol(v);
    } else if (a == "--bytes") {
      bytes = std::atol(v);
    } else if (a == "--batch") {
      batch = std::atol(v);
    } else {
      std::fprintf(stderr, "fsync_ceiling: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (dir.empty() || files <= 0 || bytes <= 0 || batch <= 0) {
    std::fprintf(stderr, "usage: fsync_ceiling --dir D --files N --bytes B [--batch 256]\n");
    return 2;
  }
  const fs::path responses = dir / "responses";
  fs::create_directories(responses);
  // Response-file-like bytes: JSON-ish text, different per file so nothing can be deduplicated.
  std::string body(static_cast<size_t>(bytes), '0');
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  long in_batch = 0;
  for (long i = 0; i < files; ++i) {
    const std::string name = std::to_string(i);
    body.replace(0, name.size(), name);
    qlir::Status s = qlir::WriteFileAtomic(responses / ("f" + name + ".json"), body,
                                           qlir::AtomicWriteOptions{.sync_dir = false});
    if (!s.ok()) {
      std::fprintf(stderr, "fsync_ceiling: %s\n", s.message().c_str());
      return 1;
    }
    if (++in_batch == batch || i + 1 == files) {
      if (qlir::Status d = qlir::SyncDir(responses); !d.ok()) {
        std::fprintf(stderr, "fsync_ceiling: %s\n", d.message().c_str());
        return 1;
      }
      in_batch = 0;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  std::printf(
      "{\"files\":%ld,\"bytes_per_file\":%ld,\"batch\":%ld,\"seconds\":%.4f,\"files_per_s\":%.2f,"
      "\"mb_per_s\":%.3f,\"cpu_s\":%.4f}\n",
      files, bytes, batch, secs, static_cast<double>(files) / secs,
      static_cast<double>(files) * static_cast<double>(bytes) / 1e6 / secs, cpu);
  return 0;
}
