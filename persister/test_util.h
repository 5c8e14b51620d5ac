// Helpers for the persister's tests: sample results, response files, a fault-injecting Disk.
#pragma once

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "common/klines/slice_key.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "common/wire.h"
#include "persister/disk.h"
#include "persister/manifest_store.h"

namespace qlir::persister::testing {

// The grid slice `index` of BTCUSDT 1m (span 60,000,000 ms).
inline klines::KlineSliceKey Slice(int64_t index, const std::string& symbol = "BTCUSDT") {
  return klines::GridSlice(symbol, "1m", 60000, index);
}

// A body of `n` klines starting at the slice's start.
inline std::string Body(const klines::KlineSliceKey& k, int n) {
  std::string b = "[";
  for (int i = 0; i < n; ++i) {
    if (i) b += ",";
    b +=
        "[" + std::to_string(k.start_ms + i * 60000LL) + ",\"1.0\",\"2.0\",\"0.5\",\"1.5\",\"10\"]";
  }
  return b + "]";
}

// A result fetched after the window closed (ok) unless `open`.
inline wire::FetchResult MakeResult(const klines::KlineSliceKey& k, const std::string& outcome,
                                    int n = 3) {
  wire::FetchResult r;
  r.endpoint = "klines";
  r.key = k.composite_key();
  r.url = "http://127.0.0.1/api/v3/klines?x=" + r.key;
  r.requested_at_ms = k.end_ms + 5000;
  r.completed_at_ms = k.end_ms + 6000;
  r.server_time_ms = outcome == "partial" ? k.end_ms - 10000 : k.end_ms + 6000;
  r.outcome = outcome;
  if (outcome == "failed") {
    r.http_status = 500;
    r.error = "HTTP 500 from exchange";
  } else {
    r.http_status = 200;
    r.body = Body(k, n);
    r.n_items = n;
    r.first_ts = k.start_ms;
    r.last_ts = k.start_ms + (n - 1) * 60000LL;
  }
  r.attempts = 1;
  return r;
}

// What a store is given for slice `k` with status `s`: an ok/partial entry of 3 rows, or a failed
// one with HTTP 500 (the stores fill slice_id and relative_path).
inline SliceRecord StoreRecord(const klines::KlineSliceKey& k, SliceStatus s) {
  SliceRecord r;
  r.key = k.composite_key();
  r.entry.status = s;
  r.entry.http_status = s == SliceStatus::kFailed ? 500 : 200;
  r.entry.n_items = s == SliceStatus::kFailed ? 0 : 3;
  if (s != SliceStatus::kFailed) {
    r.entry.first_ts = k.start_ms;
    r.entry.last_ts = k.start_ms + 120000;
  } else {
    r.entry.error = "HTTP 500";
  }
  r.entry.requested_at = "2025-01-01T00:01:23Z";
  r.entry.completed_at = "2025-01-01T00:01:24Z";
  return r;
}

inline std::filesystem::path SeriesPath(const std::filesystem::path& root,
                                        const std::string& symbol = "BTCUSDT") {
  return root / "binance" / "klines" / "raw" / symbol / "1m";
}

inline std::filesystem::path ResponsePath(const std::filesystem::path& root,
                                          const klines::KlineSliceKey& k) {
  return SeriesPath(root, k.symbol) / "responses" / (k.slice_id() + ".json");
}

// Writes a response file as the persister would, fetched at `fetched_ms`.
inline void WriteResponse(const std::filesystem::path& root, const klines::KlineSliceKey& k,
                          int64_t fetched_ms, int n = 3) {
  const auto path = ResponsePath(root, k);
  std::filesystem::create_directories(path.parent_path());
  const std::string text = EncodeResponseFile(
      ResponseMeta{"http://x/" + k.composite_key(), k.composite_key(), FormatIsoUtc(fetched_ms)},
      Body(k, n));
  if (Status s = RealDisk()->WriteFileAtomic(path, text, true); !s.ok()) {
    throw std::runtime_error("test setup: " + s.message());
  }
}

// A Disk whose writes (and optionally directory fsyncs) fail like a full disk while armed.
class FaultyDisk : public Disk {
 public:
  Status WriteFileAtomic(const std::filesystem::path& target, std::string_view bytes,
                         bool sync_dir) override {
    ++writes;
    if (fail_writes)
      return Status::Error("cannot write " + target.string() + ": No space left on device");
    return RealDisk()->WriteFileAtomic(target, bytes, sync_dir);
  }
  Status SyncDir(const std::filesystem::path& dir) override {
    ++syncs;
    if (fail_syncs)
      return Status::Error("cannot fsync directory " + dir.string() + ": Input/output error");
    return RealDisk()->SyncDir(dir);
  }
  std::atomic<bool> fail_writes{false};
  std::atomic<bool> fail_syncs{false};
  std::atomic<int> writes{0};
  std::atomic<int> syncs{0};
};

}  // namespace qlir::persister::testing
