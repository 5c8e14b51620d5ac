// persister_bench: what one persisted slice costs as a series' manifest grows (1k, 50k, 250k
// slices), the manifest's load time and peak RSS. Prints one JSON line per figure, asserts
// nothing (ninja's build_log_perftest style). Run it from a Release build:
//   build/persister-rel/persister/persister_bench [--dir SCRATCH] [--sizes 1000,50000,250000]
//                                                 [--skip-nlohmann] [--rounds 3]
// Every size gets a fresh data root holding a manifest of N partial slices and their N response
// files; the updates rewrite existing slices (partial -> newer partial) so the size stays N.
// persist_cost (the whole path per slice) runs --rounds times with the sizes interleaved and
// reports the least disturbed round and the median: its fsyncs drift with the disk's load.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/klines/slice_key.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/manifest_oracle.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "persister/disk.h"
#include "persister/json_manifest_store.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::persister;

namespace {

const SeriesId kSeries{"klines", "BTCUSDT", "1m"};
bool skip_nlohmann = false;
int persist_rounds = 3;
constexpr int64_t kIntervalMs = 60000;

double NowUs() {
  using namespace std::chrono;
  return static_cast<double>(
             duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count()) /
         1000.0;
}

// VmHWM of this process image (ru_maxrss would carry the parent's peak across fork+exec).
long PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::string Body(const klines::KlineSliceKey& k, int n) {
  std::string b;
  b.reserve(static_cast<size_t>(n) * 120 + 2);
  b.push_back('[');
  for (int i = 0; i < n; ++i) {
    if (i) b.push_back(',');
    b.push_back('[');
    b.append(std::to_string(k.start_ms + i * kIntervalMs));
    b.append(",\"29384.10\",\"29390.40\",\"29380.10\",\"29385.20\",\"12.123\",");
    b.append(std::to_string(k.start_ms + i * kIntervalMs + 59999));
    b.append(",\"356789.12\",120,\"6.01\",\"176543.21\",\"0\"]");
  }
  b.push_back(']');
  return b;
}

SliceRecord Partial(const klines::KlineSliceKey& k, int64_t n) {
  SliceRecord r;
  r.key = k.composite_key();
  r.entry.status = SliceStatus::kPartial;
  r.entry.http_status = 200;
  r.entry.n_items = n;
  r.entry.first_ts = k.start_ms;
  r.entry.last_ts = k.start_ms + (n - 1) * kIntervalMs;
  r.entry.requested_at = "2025-01-01T00:01:23Z";
  r.entry.completed_at = "2025-01-01T00:01:24Z";
  return r;
}

void Figure(const std::string& name, size_t slices, const std::string& fields) {
  std::cout << "{\"figure\":\"" << name << "\",\"slices\":" << slices << "," << fields << "}"
            << std::endl;
}

std::string F(double v) {
  std::ostringstream s;
  s.precision(4);
  s << std::fixed << v;
  return s.str();
}

// A data root with one series of `n` partial slices: manifest + response files (not fsynced:
// setting up is not what is measured).
Manifest Build(const fs::path& root, size_t n) {
  const fs::path dir = *SeriesDir(root, "klines", "BTCUSDT", "1m");
  fs::create_directories(dir / "responses");
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1m";
  m.last_evaluated_at = "2025-01-01T00:00:00Z";
  const std::string body_one = "[]";
  for (size_t i = 0; i < n; ++i) {
    auto k = klines::GridSlice("BTCUSDT", "1m", kIntervalMs, static_cast<int64_t>(i));
    const std::string id = k.slice_id();
    ManifestEntry e;
    e.slice_id = id;
    e.relative_path = ResponseRelativePath(id);
    e.status = SliceStatus::kPartial;
    e.http_status = 200;
    e.n_items = 1000;
    e.first_ts = k.start_ms;
    e.last_ts = k.end_ms - kIntervalMs + 1;
    e.requested_at = "2025-01-01T00:01:23Z";
    e.completed_at = "2025-01-01T00:01:24Z";
    m.slices.emplace(k.composite_key(), std::move(e));
    std::ofstream(dir / ResponseRelativePath(id), std::ios::binary) << EncodeResponseFile(
        ResponseMeta{"u", k.composite_key(), "2025-01-01T00:00:00Z"}, body_one);
  }
  std::ofstream(dir / kManifestName, std::ios::binary) << SerializeManifest(m);
  return m;
}

// Child mode: load the series the way the persister does (or nlohmann's DOM parse) and report.
int LoadChild(const std::string& mode, const fs::path& root) {
  SetLogLevel(LogLevel::kWarn);
  const long rss_before = PeakRssKb();
  const double t0 = NowUs();
  size_t n = 0;
  if (mode == "store") {
    JsonManifestStore store(root, {}, RealDisk());
    auto statuses = store.LoadStatuses(kSeries);
    if (!statuses) {
      std::cerr << statuses.error() << "\n";
      return 1;
    }
    n = store.Peek(kSeries)->slices.size();
  } else if (mode == "fast_file") {
    auto m =
        ParseManifestFile((*SeriesDir(root, "klines", "BTCUSDT", "1m") / kManifestName).string());
    if (!m) return 1;
    n = m->slices.size();
  } else {
    auto text = ReadFile(*SeriesDir(root, "klines", "BTCUSDT", "1m") / kManifestName);
    auto m = mode == "nlohmann" ? OracleParseManifest(*text, "m") : ParseManifest(*text, "m");
    if (!m) return 1;
    n = m->slices.size();
  }
  const double ms = (NowUs() - t0) / 1000.0;
  Figure("load_" + mode, n,
         "\"load_ms\":" + F(ms) + ",\"peak_rss_mb\":" + F(PeakRssKb() / 1024.0) +
             ",\"rss_before_mb\":" + F(rss_before / 1024.0));
  return 0;
}

void RunChild(const std::string& mode, const fs::path& root) {
  std::cout.flush();
  pid_t pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", "persister_bench", "--load-child", mode.c_str(), root.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
}

struct PersistRound {
  int updates = 0;
  int64_t flushes = 0;
  double write_us = 0, sync_us = 0, record_us = 0, flush_due_us = 0, one_flush_ms = 0;
  int64_t flush_every = 0;
  double amortized_flush_us = 0, us_per_slice = 0;
};

// One round of the whole path per slice on the series of `n` slices under `base`.
PersistRound PersistCost(const fs::path& base, size_t n) {
  const fs::path root = base / ("root-" + std::to_string(n));
  // The whole path per slice: response file (temp, fsync, rename), one directory fsync per
  // batch of 256, Record, FlushDue.
  PersistRound r;
  {
    JsonManifestStore store(root, {}, RealDisk());
    (void)store.LoadStatuses(kSeries);
    const fs::path responses = *SeriesDir(root, "klines", "BTCUSDT", "1m") / kResponsesDir;
    const int updates = 1024;
    double write_us = 0, sync_us = 0, record_us = 0, flush_us = 0;
    const int64_t flushes_before = store.flushes();
    for (int i = 0; i < updates; ++i) {
      auto k = klines::GridSlice("BTCUSDT", "1m", kIntervalMs,
                                 static_cast<int64_t>(static_cast<size_t>(i) % n));
      double t = NowUs();
      const std::string text =
          EncodeResponseFile(ResponseMeta{"https://api.binance.com/api/v3/klines",
                                          k.composite_key(), "2025-01-01T00:00:00Z"},
                             Body(k, 1000));
      (void)RealDisk()->WriteFileAtomic(responses / (k.slice_id() + ".json"), text, false);
      write_us += NowUs() - t;
      if ((i + 1) % 256 == 0) {
        t = NowUs();
        (void)RealDisk()->SyncDir(responses);
        sync_us += NowUs() - t;
      }
      t = NowUs();
      (void)store.Record(kSeries, Partial(k, 1000));
      record_us += NowUs() - t;
      t = NowUs();
      (void)store.FlushDue(MonotonicMs());
      flush_us += NowUs() - t;
    }
    const int64_t flushes = store.flushes() - flushes_before;
    // Flushes are rare at this count for big manifests: measure one to amortize honestly.
    double t = NowUs();
    (void)store.Record(kSeries, Partial(klines::GridSlice("BTCUSDT", "1m", kIntervalMs, 0), 7));
    (void)store.Flush();
    const double one_flush_us = NowUs() - t;
    const double amortized_flush = one_flush_us / static_cast<double>(store.FlushEveryFor(n));
    r.updates = updates;
    r.flushes = flushes;
    r.write_us = write_us / updates;
    r.sync_us = sync_us / updates;
    r.record_us = record_us / updates;
    r.flush_due_us = flush_us / updates;
    r.one_flush_ms = one_flush_us / 1000.0;
    r.flush_every = store.FlushEveryFor(n);
    r.amortized_flush_us = amortized_flush;
    r.us_per_slice = (write_us + sync_us + record_us) / updates + amortized_flush;
  }
  return r;
}

void BenchSize(const fs::path& base, size_t n) {
  const fs::path root = base / ("root-" + std::to_string(n));
  fs::remove_all(root);
  const double tb = NowUs();
  Manifest m = Build(root, n);
  ::sync();  // setup's dirty pages must not be billed to the first fsync measured
  Figure("setup", n, "\"setup_ms\":" + F((NowUs() - tb) / 1000.0));

  // Serializers and parsers on the same manifest.
  {
    // common SerializeManifest builds an ordered_json whose object insert is a linear search:
    // quadratic, so it is only timed up to 50k slices.
    double t = NowUs();
    const bool time_slow = n <= 50000 && !skip_nlohmann;
    const std::string slow = time_slow ? OracleSerializeManifest(m) : std::string();
    const double slow_ms = time_slow ? (NowUs() - t) / 1000.0 : -1;
    t = NowUs();
    const std::string fast = SerializeManifest(m);
    const double fast_ms = (NowUs() - t) / 1000.0;
    Figure("serialize", n,
           "\"nlohmann_ms\":" + F(slow_ms) + ",\"fast_ms\":" + F(fast_ms) +
               ",\"bytes\":" + std::to_string(fast.size()) + ",\"identical\":" +
               (slow.empty()   ? "\"not compared\""
                : slow == fast ? "true"
                               : "false"));
    const double write_t = NowUs();
    (void)RealDisk()->WriteFileAtomic(root / "probe.json", fast, true);
    Figure("manifest_write_fsync", n, "\"ms\":" + F((NowUs() - write_t) / 1000.0));
    fs::remove(root / "probe.json");
  }
  m = Manifest();

  // Load time and peak RSS, each in a fresh process.
  RunChild("store", root);
  RunChild("fast_file", root);
  RunChild("fast", root);
  if (!skip_nlohmann) RunChild("nlohmann", root);

  SetLogLevel(LogLevel::kWarn);
  int run = 0;
  for (bool adaptive : {true, false}) {
    ++run;
    // Manifest-only cost per update: Record + FlushDue (group commit), as the server loop does.
    JsonStoreOptions o;
    o.adaptive = adaptive;
    JsonManifestStore store(root, o, RealDisk());
    (void)store.LoadStatuses(kSeries);
    const int updates = 20000;
    const int64_t flushes_before = store.flushes();
    const double t = NowUs();
    for (int i = 0; i < updates; ++i) {
      auto k = klines::GridSlice("BTCUSDT", "1m", kIntervalMs,
                                 static_cast<int64_t>(static_cast<size_t>(i) % n));
      (void)store.Record(kSeries, Partial(k, 1 + (i + run * 7) % 999));
      (void)store.FlushDue(MonotonicMs());
    }
    const double us = NowUs() - t;
    const int64_t flushes = store.flushes() - flushes_before;
    Figure(adaptive ? "manifest_cost_adaptive" : "manifest_cost_fixed", n,
           "\"updates\":" + std::to_string(updates) + ",\"flushes\":" + std::to_string(flushes) +
               ",\"flush_every\":" + std::to_string(store.FlushEveryFor(n)) +
               ",\"us_per_slice\":" + F(us / updates));
    (void)store.Flush();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--load-child") return LoadChild(argv[2], argv[3]);
  fs::path base = fs::temp_directory_path() / ("persister-bench-" + std::to_string(getpid()));
  std::vector<size_t> sizes = {1000, 50000, 250000};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--skip-nlohmann") {
      skip_nlohmann = true;
      continue;
    }
    if (i + 1 >= argc) break;
    ++i;
    if (a == "--dir") {
      base = argv[i];
    } else if (a == "--rounds") {
      persist_rounds = std::max(1, std::atoi(argv[i]));
    } else if (a == "--sizes") {
      sizes.clear();
      std::stringstream ss(argv[i]);
      std::string item;
      while (std::getline(ss, item, ',')) sizes.push_back(std::stoul(item));
    }
  }
  fs::create_directories(base);
  for (size_t n : sizes) BenchSize(base, n);
  // The whole path per slice is dominated by the response file's fsync, whose latency on a
  // shared disk drifts with what other processes write. Rounds interleave the sizes, so that a
  // busy minute is not billed to one size, and the least disturbed round (min) and the median
  // are both reported.
  std::vector<std::vector<PersistRound>> rounds(sizes.size());
  for (int round = 0; round < persist_rounds; ++round) {
    for (size_t i = 0; i < sizes.size(); ++i) rounds[i].push_back(PersistCost(base, sizes[i]));
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto& rs = rounds[i];
    std::sort(rs.begin(), rs.end(), [](const PersistRound& a, const PersistRound& b) {
      return a.us_per_slice < b.us_per_slice;
    });
    const PersistRound& r = rs.front();
    const double median = rs[rs.size() / 2].us_per_slice;
    Figure("persist_cost", sizes[i],
           "\"updates\":" + std::to_string(r.updates) + ",\"rounds\":" + std::to_string(rs.size()) +
               ",\"flushes\":" + std::to_string(r.flushes) +
               ",\"response_write_us\":" + F(r.write_us) + ",\"dir_sync_us\":" + F(r.sync_us) +
               ",\"record_us\":" + F(r.record_us) + ",\"flush_due_us\":" + F(r.flush_due_us) +
               ",\"one_flush_ms\":" + F(r.one_flush_ms) +
               ",\"flush_every\":" + std::to_string(r.flush_every) +
               ",\"amortized_flush_us\":" + F(r.amortized_flush_us) +
               ",\"us_per_slice\":" + F(r.us_per_slice) + ",\"median_us_per_slice\":" + F(median) +
               ",\"own_us_per_slice\":" + F(r.record_us + r.flush_due_us + r.amortized_flush_us));
  }
  fs::remove_all(base);
  return 0;
}
