// verify_bench: what `qlir-status verify` costs on a data root of --slices stored slices (issue
// 18): MB/s and slices/s of the full check (every file read, its data hashed against the
// manifest's digest, every row checked for sense) and of --quick (presence, sizes, framing).
// The root holds --series series of BTCUSDT-like 1m klines, 1000 rows per slice, made by the
// exchange simulator's candle generator (tools/exchange-sim/candles.h, the bodies the simulator
// serves) and written as the persister writes them: EncodeResponseFile, manifest entries with
// BodyDigest, SerializeManifest. It is built once under --dir and reused while its parameters
// match. The root stays in the page cache between rounds on most machines, so the figures are
// warm-cache: the tool's own cost, not the disk's. Prints one JSON line per figure; asserts
// nothing.
//   verify_bench --dir DIR [--slices 10000] [--series 4] [--rounds 3]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/slice_id.h"
#include "common/time_util.h"
#include "tools/exchange-sim/candles.h"
#include "tools/qlir-status/verify.h"

using namespace qlir;
namespace fs = std::filesystem;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr int64_t kMinuteMs = 60000;
// 2020-12-04T00:00:00Z on the 1m slice grid (60,000,000 ms per slice).
constexpr int64_t kFirstIndex = 26784;

bool WritePlain(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
  return static_cast<bool>(f);
}

// Builds the root unless a previous run left the same one (a stamp names its parameters).
bool BuildRoot(const fs::path& root, long slices, int series) {
  const std::string stamp_text =
      "slices=" + std::to_string(slices) + " series=" + std::to_string(series) + " v1\n";
  const fs::path stamp = root / "verify_bench.stamp";
  if (auto old = ReadFile(stamp); old.ok() && *old == stamp_text) return true;
  std::error_code ec;
  fs::remove_all(root, ec);
  const double t0 = Now();
  int64_t bytes = 0;
  for (int s = 0; s < series; ++s) {
    sim::SymbolSpec spec;
    spec.symbol = "BENCH" + std::to_string(s) + "USDT";
    spec.base_asset = "BENCH" + std::to_string(s);
    spec.quote_asset = "USDT";
    spec.base_price = (20000 + 1000 * s) * 100000000LL;
    const fs::path dir = *SeriesDir(root, "klines", spec.symbol, "1m");
    fs::create_directories(dir / kResponsesDir);
    Manifest m;
    m.endpoint = "klines";
    m.symbol = spec.symbol;
    m.interval = "1m";
    m.last_evaluated_at = "2026-01-01T00:00:00Z";
    const long n = slices / series + (s < slices % series ? 1 : 0);
    for (long i = 0; i < n; ++i) {
      const klines::KlineSliceKey k =
          klines::GridSlice(spec.symbol, "1m", kMinuteMs, kFirstIndex + i);
      auto body = sim::KlinesJson(spec, "1m", k.start_ms, k.end_ms, 1000, k.end_ms + 3600000);
      if (!body.ok()) {
        std::fprintf(stderr, "verify_bench: %s\n", body.error().c_str());
        return false;
      }
      const std::string key = k.composite_key();
      const std::string file =
          EncodeResponseFile(ResponseMeta{"https://api.binance.com/api/v3/klines?" + key, key,
                                          FormatIsoUtc(k.end_ms + 5000)},
                             *body);
      ManifestEntry e;
      e.slice_id = SliceId(key);
      e.relative_path = ResponseRelativePath(e.slice_id);
      e.status = SliceStatus::kOk;
      e.http_status = 200;
      e.n_items = 1000;
      e.first_ts = k.start_ms;
      e.last_ts = k.start_ms + 999 * kMinuteMs;
      e.requested_at = FormatIsoUtc(k.end_ms + 4000);
      e.completed_at = FormatIsoUtc(k.end_ms + 5000);
      e.digest = BodyDigest(*body);
      if (!WritePlain(dir / e.relative_path, file)) {
        std::fprintf(stderr, "verify_bench: cannot write under %s\n", dir.c_str());
        return false;
      }
      bytes += static_cast<int64_t>(file.size());
      m.slices.emplace(key, std::move(e));
    }
    if (!WritePlain(dir / kManifestName, SerializeManifest(m))) return false;
  }
  std::fprintf(stderr, "verify_bench: built %ld slices (%.1f MB) in %.1f s under %s\n", slices,
               static_cast<double>(bytes) / 1e6, Now() - t0, root.c_str());
  return WritePlain(stamp, stamp_text);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  long slices = 10000;
  int series = 4;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const std::string v = argv[i + 1];
    if (a == "--dir") {
      dir = v;
    } else if (a == "--slices") {
      slices = std::atol(v.c_str());
    } else if (a == "--series") {
      series = std::atoi(v.c_str());
    } else if (a == "--rounds") {
      rounds = std::atoi(v.c_str());
    } else {
      std::fprintf(stderr, "verify_bench: unknown flag %s\n", a.c_str());
      return 64;
    }
  }
  if (dir.empty() || slices < 1 || series < 1 || rounds < 1) {
    std::fprintf(stderr,
                 "usage: verify_bench --dir DIR [--slices 10000] [--series 4] [--rounds 3]\n");
    return 64;
  }
  const fs::path root = fs::path(dir) / "root";
  if (!BuildRoot(root, slices, series)) return 1;
  for (int round = 0; round < rounds; ++round) {
    for (bool quick : {false, true}) {
      const double t0 = Now();
      auto report = status_tool::Verify(root, {}, status_tool::VerifyOptions{quick});
      const double seconds = Now() - t0;
      if (!report.ok()) {
        std::fprintf(stderr, "verify_bench: %s\n", report.error().c_str());
        return 1;
      }
      const double mb = static_cast<double>(report->bytes_checked) / 1e6;
      std::printf(
          "{\"figure\":\"verify_%s\",\"round\":%d,\"slices\":%lld,\"series\":%lld,"
          "\"bytes\":%lld,\"seconds\":%.6f,\"mb_per_s\":%.3f,\"slices_per_s\":%.1f,"
          "\"problems\":%zu,\"no_digest\":%lld}\n",
          quick ? "quick" : "full", round, static_cast<long long>(report->slices_checked),
          static_cast<long long>(report->series_checked),
          static_cast<long long>(report->bytes_checked), seconds, mb / seconds,
          static_cast<double>(report->slices_checked) / seconds, report->problems.size(),
          static_cast<long long>(report->no_digest));
      std::fflush(stdout);
    }
  }
  return 0;
}
