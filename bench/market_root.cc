// market_root: a synthetic data root of the whole spot market (issue 20, bench/run --only market),
// made without the network and without writing one response body per slice.
//   market_root --root DIR --bases DIR --lists DIR [--symbols 2000] [--1s-symbols 100]
//               [--listings-from 2017-08-17] [--listings-to 2024-12-31] [--1s-from 2022-01-01]
//               [--now T] [--max-slices N] [--state json|sqlite] [--estimate]
// Universe: --symbols symbols MKT0000USDT... listed at even steps from --listings-from to
// --listings-to, each with its 1m klines from its listing to --now; the --1s-symbols oldest of
// them also with 1s klines from --1s-from (or their listing if later) to --now. Series are made in
// the order MKT0000USDT/1s, MKT0000USDT/1m, MKT0001USDT/1s, ...; --max-slices N stops at N slices
// in all (the last series keeps its newest slices), for the smaller roots of the persist-cost
// figure.
// Each series: a manifest.json written with common/manifest.h (SerializeManifest) whose entries
// are mostly `ok` with a digest, about 1% `pending`, 0.5% `failed` and 1% `partial` (hashed from
// the key, so every run makes the same root), and the tail slice (its window still open at --now)
// `partial`; every ok/partial entry's response file is a hard link to a valid response file under
// --bases (written with common/response_file.h from the simulator's body for the slice that first
// used it). A link costs a directory entry, not an inode or data; ext4 allows 65,000 links per
// inode, so a base serves at most kLinksPerBase of them. Recovery's default check (quick: the
// file is there and framed as EncodeResponseFile writes it) passes; `qlir-status verify` (full)
// would find most files naming another slice, which is the price of not writing 15M bodies.
// --state sqlite writes the same manifests into <root>/state.sqlite3 instead (common/state_db.h,
// StateDb::ReplaceManifest: built unsynced under a temporary name, synced, then renamed, as
// `qlir-status migrate` does), for a SQLite root without a JSON one first.
// The manifest of a series is written after its links, so that the persister does not take it
// for one lagging behind its responses/ (persister_server.cc, RecoverLaggingSeries).
// Writes under --lists: symbols.json (for exchange-sim --symbols-file), symbols-1m.txt and
// symbols-1s.txt (comma lists for the planner's --symbols), series.txt (one `endpoint symbol
// interval` a line). Prints one JSON line with the counts, the bytes and the time taken.
// --estimate prints the counts and the estimated bytes without writing anything.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/slice_id.h"
#include "common/state_db.h"
#include "common/time_util.h"
#include "tools/exchange-sim/candles.h"
#include "tools/exchange-sim/config.h"

using namespace qlir;
namespace fs = std::filesystem;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr int64_t kLinksPerBase = 60000;
// Bytes a slice costs on disk, measured on this generator's output (manifest entry about 520 B,
// directory entry about 50 B): only for --estimate and the free-space check.
constexpr int64_t kEstimatedBytesPerSlice = 580;

struct SeriesPlan {
  sim::SymbolSpec spec;
  std::string interval;
  int64_t interval_ms = 0;
  int64_t first_index = 0;  // grid slice indexes [first_index, last_index]
  int64_t last_index = 0;
  int64_t count() const { return last_index - first_index + 1; }
};

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashKey(const std::string& key) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a, then mixed
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  return Mix(h);
}

struct Base {
  fs::path path;
  std::string digest;
  int64_t links = 0;
};

class BasePool {
 public:
  explicit BasePool(fs::path dir) : dir_(std::move(dir)) {}

  // A base with room for one more link, made from this slice's body when a new one is needed.
  Result<Base*> For(const SeriesPlan& s, const klines::KlineSliceKey& k, int64_t now_ms) {
    if (!bases_.empty() && bases_.back().links < kLinksPerBase) return &bases_.back();
    auto body = sim::KlinesJson(s.spec, s.interval, k.start_ms, k.end_ms, 1000, now_ms);
    if (!body.ok()) return Status::Error("market_root: " + body.error());
    const std::string key = k.composite_key();
    Base b;
    b.path = dir_ / ("base-" + std::to_string(bases_.size()) + ".json");
    b.digest = BodyDigest(*body);
    std::ofstream f(b.path, std::ios::binary | std::ios::trunc);
    f << EncodeResponseFile(ResponseMeta{"https://api.binance.com/api/v3/klines?" + key, key,
                                         FormatIsoUtc(std::min(now_ms, k.end_ms + 5000))},
                            *body);
    if (!f) return Status::Error("market_root: cannot write " + b.path.string());
    bases_.push_back(std::move(b));
    return &bases_.back();
  }
  size_t size() const { return bases_.size(); }

 private:
  fs::path dir_;
  std::vector<Base> bases_;
};

std::string Symbol(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "MKT%04dUSDT", i);
  return buf;
}

int64_t AllocatedBytes(const fs::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_blocks) * 512 : 0;
}

struct Counts {
  int64_t slices = 0, ok = 0, partial = 0, failed = 0, pending = 0, series = 0, s1 = 0, m1 = 0;
  int64_t manifest_bytes = 0, links = 0, disk_bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string root_arg, bases_arg, lists_arg;
  int n_symbols = 2000, n_1s = 100;
  std::string listings_from = "2017-08-17T04:00Z", listings_to = "2024-12-31",
              s1_from = "2022-01-01", now_arg;
  int64_t max_slices = 0;
  bool estimate = false;
  std::string state = "json";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--estimate") {
      estimate = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "market_root: flag %s needs a value\n", a.c_str());
      return 64;
    }
    const std::string v = argv[++i];
    if (a == "--root") {
      root_arg = v;
    } else if (a == "--bases") {
      bases_arg = v;
    } else if (a == "--lists") {
      lists_arg = v;
    } else if (a == "--symbols") {
      n_symbols = std::atoi(v.c_str());
    } else if (a == "--1s-symbols") {
      n_1s = std::atoi(v.c_str());
    } else if (a == "--listings-from") {
      listings_from = v;
    } else if (a == "--listings-to") {
      listings_to = v;
    } else if (a == "--1s-from") {
      s1_from = v;
    } else if (a == "--now") {
      now_arg = v;
    } else if (a == "--state") {
      state = v;
    } else if (a == "--max-slices") {
      max_slices = std::atoll(v.c_str());
    } else {
      std::fprintf(stderr, "market_root: unknown flag %s\n", a.c_str());
      return 64;
    }
  }
  if (!estimate && (root_arg.empty() || bases_arg.empty() || lists_arg.empty())) {
    std::fprintf(stderr,
                 "usage: market_root --root DIR --bases DIR --lists DIR [--symbols N] "
                 "[--1s-symbols N] [--now T] [--max-slices N] [--estimate]\n");
    return 64;
  }
  if (state != "json" && state != "sqlite") {
    std::fprintf(stderr, "market_root: --state is json or sqlite\n");
    return 64;
  }
  if (n_symbols < 1 || n_1s < 0 || n_1s > n_symbols || max_slices < 0) {
    std::fprintf(stderr, "market_root: bad --symbols, --1s-symbols or --max-slices\n");
    return 64;
  }
  auto from = ParseTimeUtc(listings_from);
  auto to = ParseTimeUtc(listings_to);
  auto s1 = ParseTimeUtc(s1_from);
  if (!from.ok() || !to.ok() || !s1.ok() || *to < *from) {
    std::fprintf(stderr, "market_root: bad --listings-from, --listings-to or --1s-from\n");
    return 64;
  }
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!now_arg.empty()) {
    auto n = ParseTimeUtc(now_arg);
    if (!n.ok()) {
      std::fprintf(stderr, "market_root: bad --now: %s\n", n.error().c_str());
      return 64;
    }
    now_ms = *n;
  }

  // The plan: every series and its grid slices.
  std::vector<SeriesPlan> plan;
  std::vector<sim::SymbolSpec> specs;
  int64_t planned = 0;
  for (int i = 0; i < n_symbols && (max_slices == 0 || planned < max_slices); ++i) {
    sim::SymbolSpec spec;
    spec.symbol = Symbol(i);
    spec.base_asset = spec.symbol.substr(0, spec.symbol.size() - 4);
    spec.quote_asset = "USDT";
    const int64_t step = n_symbols > 1 ? (*to - *from) / (n_symbols - 1) : 0;
    spec.listing_ms = (*from + step * i) / 60000 * 60000;
    spec.base_price = static_cast<int64_t>(1 + Mix(i) % 50000) * 100000000LL;
    specs.push_back(spec);
    for (const char* interval : {"1s", "1m"}) {
      const bool is_1s = std::string(interval) == "1s";
      if (is_1s && i >= n_1s) continue;
      SeriesPlan s;
      s.spec = spec;
      s.interval = interval;
      s.interval_ms = is_1s ? 1000 : 60000;
      const int64_t span = s.interval_ms * 1000;
      const int64_t start = is_1s ? std::max(*s1, spec.listing_ms) : spec.listing_ms;
      if (start > now_ms) continue;
      s.first_index = start / span;
      s.last_index = now_ms / span;
      if (max_slices > 0 && planned + s.count() > max_slices) {
        s.first_index = s.last_index - (max_slices - planned) + 1;
      }
      planned += s.count();
      plan.push_back(s);
      if (max_slices > 0 && planned >= max_slices) break;
    }
  }
  if (estimate) {
    std::printf(
        "{\"figure\":\"market_root_estimate\",\"series\":%zu,\"slices\":%lld,"
        "\"estimated_bytes\":%lld}\n",
        plan.size(), static_cast<long long>(planned),
        static_cast<long long>(planned * kEstimatedBytesPerSlice));
    return 0;
  }

  const fs::path root(root_arg), bases(bases_arg), lists(lists_arg);
  std::error_code ec;
  fs::create_directories(root, ec);
  fs::create_directories(bases, ec);
  fs::create_directories(lists, ec);
  {
    std::ofstream f(lists / "symbols.json", std::ios::binary | std::ios::trunc);
    f << sim::SymbolsToJson(specs);
    std::string m1, s1list, series;
    for (const SeriesPlan& s : plan) {
      std::string& l = s.interval == "1s" ? s1list : m1;
      if (!l.empty()) l += ",";
      l += s.spec.symbol;
      series += "klines " + s.spec.symbol + " " + s.interval + "\n";
    }
    std::ofstream(lists / "symbols-1m.txt", std::ios::binary | std::ios::trunc) << m1;
    std::ofstream(lists / "symbols-1s.txt", std::ios::binary | std::ios::trunc) << s1list;
    std::ofstream(lists / "series.txt", std::ios::binary | std::ios::trunc) << series;
    if (!f) {
      std::fprintf(stderr, "market_root: cannot write under %s\n", lists.c_str());
      return 1;
    }
  }

  const double t0 = Now();
  BasePool pool(bases);
  std::unique_ptr<StateDb> db;
  const fs::path db_tmp = root / (std::string(kStateDbName) + ".market_root.tmp");
  if (state == "sqlite") {
    auto opened = StateDb::OpenFile(db_tmp, StateDb::Mode::kReadWrite,
                                    StateDb::OpenOptions{.quick_check = false, .durable = false});
    if (!opened.ok()) {
      std::fprintf(stderr, "market_root: %s\n", opened.error().c_str());
      return 1;
    }
    db = std::move(*opened);
  }
  Counts c;
  for (const SeriesPlan& s : plan) {
    auto dir = SeriesDir(root, "klines", s.spec.symbol, s.interval);
    if (!dir.ok()) {
      std::fprintf(stderr, "market_root: %s\n", dir.error().c_str());
      return 1;
    }
    fs::create_directories(*dir / kResponsesDir, ec);
    if (ec) {
      std::fprintf(stderr, "market_root: cannot create %s: %s\n", dir->c_str(),
                   ec.message().c_str());
      return 1;
    }
    Manifest m;
    m.endpoint = "klines";
    m.symbol = s.spec.symbol;
    m.interval = s.interval;
    m.last_evaluated_at = FormatIsoUtc(now_ms);
    for (int64_t idx = s.first_index; idx <= s.last_index; ++idx) {
      const klines::KlineSliceKey k =
          klines::GridSlice(s.spec.symbol, s.interval, s.interval_ms, idx);
      std::string key = k.composite_key();
      const uint64_t h = HashKey(key) % 1000;
      const bool open = k.end_ms >= now_ms;
      SliceStatus st = SliceStatus::kOk;
      if (open) {
        st = SliceStatus::kPartial;
      } else if (h < 10) {
        st = SliceStatus::kPending;
      } else if (h < 15) {
        st = SliceStatus::kFailed;
      } else if (h < 25) {
        st = SliceStatus::kPartial;
      }
      ManifestEntry e;
      e.slice_id = SliceId(key);
      e.relative_path = ResponseRelativePath(e.slice_id);
      e.status = st;
      const int64_t first = std::max(
          k.start_ms, (s.spec.listing_ms + s.interval_ms - 1) / s.interval_ms * s.interval_ms);
      const int64_t last =
          std::min(k.end_ms - s.interval_ms + 1, now_ms / s.interval_ms * s.interval_ms);
      const int64_t done_ms = std::min(now_ms, k.end_ms + 5000);
      switch (st) {
        case SliceStatus::kPending:
          break;
        case SliceStatus::kFailed:
          e.http_status = 503;
          e.requested_at = FormatIsoUtc(done_ms - 1000);
          e.completed_at = FormatIsoUtc(done_ms);
          e.error = "HTTP 503 from Binance";
          break;
        case SliceStatus::kOk:
        case SliceStatus::kPartial: {
          // A partial slice of a closed window was stored while it was open: fewer rows.
          const int64_t last_row = st == SliceStatus::kPartial && !open
                                       ? std::max(first, last - 100 * s.interval_ms)
                                       : last;
          e.http_status = 200;
          e.n_items = first <= last_row ? (last_row - first) / s.interval_ms + 1 : 0;
          if (e.n_items > 0) {
            e.first_ts = first;
            e.last_ts = last_row;
          }
          const int64_t stored_ms = st == SliceStatus::kPartial && !open
                                        ? std::min(now_ms, last_row + s.interval_ms)
                                        : done_ms;
          e.requested_at = FormatIsoUtc(stored_ms - 1000);
          e.completed_at = FormatIsoUtc(stored_ms);
          auto base = pool.For(s, k, now_ms);
          if (!base.ok()) {
            std::fprintf(stderr, "%s\n", base.error().c_str());
            return 1;
          }
          e.digest = (*base)->digest;
          const fs::path link = *dir / e.relative_path;
          if (::link((*base)->path.c_str(), link.c_str()) != 0 && errno != EEXIST) {
            std::perror(("market_root: link " + link.string()).c_str());
            return 1;
          }
          ++(*base)->links;
          ++c.links;
          break;
        }
      }
      switch (st) {
        case SliceStatus::kOk:
          ++c.ok;
          break;
        case SliceStatus::kPartial:
          ++c.partial;
          break;
        case SliceStatus::kFailed:
          ++c.failed;
          break;
        case SliceStatus::kPending:
          ++c.pending;
          break;
      }
      m.slices.emplace(std::move(key), std::move(e));
    }
    c.slices += s.count();
    ++c.series;
    ++(s.interval == "1s" ? c.s1 : c.m1);
    if (db) {
      if (Status st = db->ReplaceManifest(m); !st.ok()) {
        std::fprintf(stderr, "market_root: %s\n", st.message().c_str());
        return 1;
      }
    } else {
      const std::string text = SerializeManifest(m);
      std::ofstream f(*dir / kManifestName, std::ios::binary | std::ios::trunc);
      f << text;
      if (!f) {
        std::fprintf(stderr, "market_root: cannot write %s\n", (*dir / kManifestName).c_str());
        return 1;
      }
      f.close();
      c.manifest_bytes += static_cast<int64_t>(text.size());
      // File times come from the kernel's coarse clock (a few ms): a manifest written within the
      // same tick as the last link would read as not newer than its responses/, and the
      // persister would recover the series at start. A persister writes it later: say so.
      const auto responses_time = fs::last_write_time(*dir / kResponsesDir, ec);
      if (!ec) {
        fs::last_write_time(*dir / kManifestName, responses_time + std::chrono::seconds(1), ec);
      }
    }
    // Blocks allocated (the shared disk's free space moves with other writers' files too).
    c.disk_bytes += AllocatedBytes(*dir / kManifestName) + AllocatedBytes(*dir / kResponsesDir) +
                    AllocatedBytes(*dir);
    if (c.series % 100 == 0) {
      std::fprintf(stderr, "market_root: %lld series, %lld slices, %.0f s\n",
                   static_cast<long long>(c.series), static_cast<long long>(c.slices), Now() - t0);
    }
  }
  if (db) {
    if (Status st = db->Checkpoint(); !st.ok()) {
      std::fprintf(stderr, "market_root: %s\n", st.message().c_str());
      return 1;
    }
    db.reset();
    ::sync();
    fs::rename(db_tmp, root / kStateDbName, ec);
    if (ec) {
      std::fprintf(stderr, "market_root: cannot rename %s: %s\n", db_tmp.c_str(),
                   ec.message().c_str());
      return 1;
    }
    c.manifest_bytes = AllocatedBytes(root / kStateDbName);
    c.disk_bytes += c.manifest_bytes;
  }
  for (size_t b = 0; b < pool.size(); ++b) {
    c.disk_bytes += AllocatedBytes(bases / ("base-" + std::to_string(b) + ".json"));
  }
  std::printf(
      "{\"figure\":\"market_root\",\"series\":%lld,\"series_1m\":%lld,\"series_1s\":%lld,"
      "\"slices\":%lld,\"ok\":%lld,\"partial\":%lld,\"failed\":%lld,\"pending\":%lld,"
      "\"links\":%lld,\"bases\":%zu,\"manifest_bytes\":%lld,\"disk_bytes\":%lld,"
      "\"seconds\":%.3f,\"now_ms\":%lld}\n",
      static_cast<long long>(c.series), static_cast<long long>(c.m1), static_cast<long long>(c.s1),
      static_cast<long long>(c.slices), static_cast<long long>(c.ok),
      static_cast<long long>(c.partial), static_cast<long long>(c.failed),
      static_cast<long long>(c.pending), static_cast<long long>(c.links), pool.size(),
      static_cast<long long>(c.manifest_bytes), static_cast<long long>(c.disk_bytes), Now() - t0,
      static_cast<long long>(now_ms));
  return 0;
}
