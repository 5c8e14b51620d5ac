// HoleRechecks: which stored slices the persister asks to have fetched once more, to confirm
// their holes (README.md, "Holes confirmed by a second fetch"; issue 18). Fed the store, `now` and
// what was recorded; no socket (the Intake sends the RECHECK notices it returns, docs/protocol.md).
//
// A slice is due when it is `ok`, has holes by the rule of common/holes.h (the one qlir-status
// holes uses), carries no holes_confirmed_at, and its completed_at lies at least
// confirm_after_ms in the past (the exchange's database has had time to settle). Each stored
// body (key and digest) is asked about once per run: a slice whose second fetch failed, or whose
// notice no planner acted on, waits for the next run; one whose answer changed has a new body
// and is due again confirm_after_ms after it was stored.
//
// Cost and rate: loaded series are scanned in rounds at most every scan_every_ms (a series only
// when new or recorded into since its last scan; a slice's rows are read only when its n_items
// falls short of its window, and once per digest), at most max_reads_per_round response files a
// round, the series of at most about max_entries_per_round entries a round (the rest in the next
// rounds, at once), and at most max_per_round keys are announced a round, the longest due first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/stats.h"
#include "persister/manifest_store.h"

namespace qlir::persister {

struct RecheckOptions {
  std::filesystem::path data_root;
  int64_t confirm_after_ms = 600000;  // 0: no rechecks at all
  // 0: half of confirm_after_ms, within [1 s, 60 s].
  int64_t scan_every_ms = 0;
  size_t max_per_round = 100;
  size_t max_reads_per_round = 1000;
  // Entries looked at a round (two per slice: the stored span, then the judgement); the
  // series left dirty are scanned in the next rounds, so one round never holds the server's
  // loop for long whatever the number of series (a series is scanned whole once begun).
  size_t max_entries_per_round = 200000;
};

class HoleRechecks {
 public:
  // `store` outlives this.
  HoleRechecks(RecheckOptions options, ManifestStore* store);

  bool enabled() const { return options_.confirm_after_ms > 0; }
  int64_t scan_every_ms() const { return scan_every_ms_; }

  // A slice of `series` was recorded (or overwritten): the series is scanned again next round.
  void OnRecorded(const SeriesId& series);
  // A planner asked for the statuses of `series` (loading it): a round runs at the next TakeDue,
  // so that its due slices follow the reply at once (a planner with --once waits only briefly).
  void OnAsked(const SeriesId& series);

  // The keys to announce now, by endpoint: nothing before the next round is due (`mono_ms`,
  // monotonic), else the round's scan and at most max_per_round keys due at `wall_ms`. Keys
  // returned count as asked (see AwaitsAnswer).
  std::map<std::string, std::vector<std::string>> TakeDue(int64_t mono_ms, int64_t wall_ms);

  // True when a recheck of `key` was announced and its answer has not come yet.
  bool AwaitsAnswer(const std::string& key) const;
  // The answer to a recheck of `key` came (confirmed or changed): no longer awaited.
  void OnAnswered(const std::string& key);

  // Counters: recheck_due (gauge: due and not yet announced), recheck_candidates (gauge: slices
  // with holes, unconfirmed, not yet due), rechecks_announced, recheck_files_read,
  // recheck_unreadable.
  Counters Snapshot() const;

 private:
  struct Known {
    std::string digest;  // of the body judged
    int64_t lo_ms = 0;   // the window it was judged for
    int64_t hi_ms = 0;
    bool holes = false;
  };
  struct Series {
    bool dirty = true;
    std::map<std::string, Known> known;         // short ok slices judged, by key
    std::map<std::string, int64_t> candidates;  // unconfirmed with holes: key -> due (wall ms)
  };
  struct Asked {
    std::string digest;
    bool answered = false;
  };

  // Rescans one series; false when the read budget ran out first (it stays dirty). Adds the
  // entries it looked at to *entries.
  bool Scan(const SeriesId& id, Series* s, size_t* reads_left, size_t* entries);

  const RecheckOptions options_;
  const int64_t scan_every_ms_;
  ManifestStore* const store_;
  std::map<SeriesId, Series> series_;
  std::map<std::string, Asked> asked_;  // by key
  int64_t next_round_ms_ = 0;
  int64_t next_series_check_ms_ = 0;
  bool round_wanted_ = false;  // OnAsked
  int64_t due_now_ = 0;
  Counters counters_;
};

}  // namespace qlir::persister
