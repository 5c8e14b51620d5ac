// DataRootChecker: the one offline oracle of the end-to-end tests. It reads a data root as any
// reader would (docs/on-disk-format.md) and checks it against the data the tests wanted from the
// exchange simulator, whose closed windows it recomputes byte for byte
// (tools/exchange-sim/candles.h). It writes nothing, so it may run beside a live persister.
//
// The manifests are the series' manifest.json files, or their rows in <root>/state.sqlite3 on a
// SQLite root (opened read-only; common/state_db.h).
// Rules, always:
//   - every manifest parses and names its series (endpoint klines, symbol, interval, limit 1000);
//   - every entry is a wanted slice, with its slice id and responses/<slice_id>.json path;
//   - every ok or partial entry has its response file: it decodes, names the slice, and was
//     fetched with the slice's URL; an ok one holds exactly the exchange's bytes, with n_items,
//     first_ts and last_ts to match; a partial one was fetched before its window closed;
//   - with live_entries: every ok or partial entry carries HTTP 200 and no error (true when
//     every entry came from a fetch, not from the persister's recovery, which cannot know them).
// And at the end (`final`):
//   - every wanted slice is ok, or partial where the test expects it (CheckOptions::partial);
//   - responses/ holds exactly one file per wanted slice, and no temporary is left anywhere;
//   - the manifest's summary counts every wanted slice and no failure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "tools/exchange-sim/candles.h"

namespace qlir::testing {

// One wanted series: the simulator's symbol (its bytes are recomputed from the spec), an
// interval and the inclusive range of open times the planner was asked for.
struct WantedSeries {
  sim::SymbolSpec spec;
  std::string interval = "1m";
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

struct CheckOptions {
  // Composite keys that must be partial at the end (windows still open when fetched).
  std::set<std::string> partial;
  // Every entry came from a fetch (no recovery ran): ok and partial entries carry HTTP 200 and
  // no error.
  bool live_entries = false;
  // The simulator's "now" for recomputing a window; -1: the wall clock at the time. Only the
  // candle still open at `now` depends on it, and ok windows are closed.
  int64_t now_ms = -1;
};

// What a run found. `problems` names each violation; an empty list is a pass.
struct CheckReport {
  size_t expected = 0;
  size_t ok = 0;       // wanted slices marked ok with their right file
  size_t partial = 0;  // wanted slices marked partial with a right file
  size_t not_ok = 0;   // wanted slices missing from the manifests or not ok
  size_t response_files = 0;
  size_t temporaries = 0;  // *.tmp left in a series folder or responses/
  std::vector<std::string> problems;

  // One line of figures, then up to 20 problems.
  std::string Text() const;
};

class DataRootChecker {
 public:
  DataRootChecker(std::filesystem::path root, std::vector<WantedSeries> wanted,
                  CheckOptions options = {});

  CheckReport Run(bool final);

  // "" when the response file of `key` holds exactly the exchange's bytes for it (and matches
  // `entry`'s counts when given), else what is wrong.
  std::string CheckFile(const std::string& key, const ManifestEntry* entry = nullptr);

  // *.json files under every wanted series' responses/.
  size_t CountResponseFiles() const;

  // The manifest of a series as the last Run read it; nullptr when it had none.
  const Manifest* manifest(const std::string& symbol, const std::string& interval) const;

  // The wanted slices, by composite key.
  const std::map<std::string, klines::KlineSliceKey>& keys() const { return keys_; }

 private:
  struct Want {
    std::string digest;  // BLAKE2b-128 of the body
    size_t size = 0;
    int64_t n_items = 0;
    std::optional<int64_t> first_ts, last_ts;
    bool ok = false;  // the simulator could compute it
  };
  const WantedSeries* SeriesOf(const klines::KlineSliceKey& k) const;
  // The exchange's body for a closed window, computed once per slice and kept as a digest
  // (a few hundred 170 kB bodies are not worth keeping).
  const Want& Expected(const klines::KlineSliceKey& k);
  void CheckSeries(const WantedSeries& s, bool final, CheckReport* r,
                   std::set<std::string>* ok_keys, std::set<std::string>* partial_keys);

  std::filesystem::path root_;
  std::vector<WantedSeries> wanted_;
  CheckOptions options_;
  std::map<std::string, klines::KlineSliceKey> keys_;
  std::map<std::string, Want> want_;
  std::map<std::string, Manifest> manifests_;  // "<symbol> <interval>" -> last read
  std::vector<std::string> setup_problems_;    // wanted series whose slices cannot be made
};

}  // namespace qlir::testing
