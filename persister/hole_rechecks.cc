#include "persister/hole_rechecks.h"

#include <algorithm>
#include <tuple>

#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/holes.h"
#include "common/log.h"
#include "common/time_util.h"

namespace qlir::persister {

namespace {

int64_t ScanEvery(const RecheckOptions& o) {
  if (o.scan_every_ms > 0) return o.scan_every_ms;
  return std::clamp<int64_t>(o.confirm_after_ms / 2, 1000, 60000);
}

}  // namespace

HoleRechecks::HoleRechecks(RecheckOptions options, ManifestStore* store)
    : options_(std::move(options)), scan_every_ms_(ScanEvery(options_)), store_(store) {}

void HoleRechecks::OnRecorded(const SeriesId& series) {
  if (!enabled()) return;
  series_[series].dirty = true;
}

void HoleRechecks::OnAsked(const SeriesId& series) {
  if (!enabled()) return;
  series_[series].dirty = true;
  round_wanted_ = true;
}

bool HoleRechecks::AwaitsAnswer(const std::string& key) const {
  auto it = asked_.find(key);
  return it != asked_.end() && !it->second.answered;
}

void HoleRechecks::OnAnswered(const std::string& key) {
  if (auto it = asked_.find(key); it != asked_.end()) it->second.answered = true;
}

bool HoleRechecks::Scan(const SeriesId& id, Series* s, size_t* reads_left, size_t* entries) {
  const Endpoint* endpoint = FindEndpoint(id.endpoint);
  auto dir = SeriesDir(options_.data_root, id.endpoint, id.symbol, id.interval);
  // Two passes over the store's entries: the stored span first, then the slices it judges.
  StoredCandles stored;
  Result<int> limit = Status::Error("not scanned");
  if (endpoint && dir && endpoint->items_on_grid()) {
    limit = store_->ForEachEntry(id, [&](const std::string&, const ManifestEntry& e) {
      ++*entries;
      AddToStoredSpan(e, &stored);
    });
  }
  if (!limit) {
    s->known.clear();
    s->candidates.clear();
    s->dirty = false;
    return true;
  }
  std::map<std::string, Known> known;
  std::map<std::string, int64_t> candidates;
  bool complete = true;
  auto judge = [&](const std::string& k, const ManifestEntry& e) {
    ++*entries;
    // A full slice has no holes (its window holds at most `limit` candles): the common case,
    // decided without parsing its key.
    if (e.status != SliceStatus::kOk || e.holes_confirmed_at || !e.digest) return;
    if (*limit > 0 && e.n_items >= *limit) return;
    auto key = endpoint->ParseKey(k);
    if (!key) return;
    auto w = ExpectedCandles(*endpoint, *key, stored);
    if (!w || e.n_items >= w->expected) return;
    Known judged;
    auto old = s->known.find(k);
    if (old != s->known.end() && old->second.digest == *e.digest && old->second.lo_ms == w->lo_ms &&
        old->second.hi_ms == w->hi_ms) {
      judged = old->second;
    } else {
      if (*reads_left == 0) {
        complete = false;
        return;
      }
      --*reads_left;
      ++counters_["recheck_files_read"];
      auto missing = SliceMissingCandles(*endpoint, *key, e, stored,
                                         [&]() { return ReadStoredData(*dir, e); });
      if (!missing) {
        // verify and recovery deal with a damaged file; it is not worth a second fetch here.
        ++counters_["recheck_unreadable"];
        Log(LogLevel::kDebug, k, "holes not judged: " + missing.error());
      }
      judged = Known{*e.digest, w->lo_ms, w->hi_ms, missing.ok() && !missing->empty()};
    }
    known.emplace(k, judged);
    if (!judged.holes) return;
    if (auto a = asked_.find(k); a != asked_.end() && a->second.digest == *e.digest) return;
    int64_t completed_ms = 0;
    if (e.completed_at) {
      if (auto t = ParseTimeUtc(*e.completed_at)) completed_ms = *t;
    }
    candidates.emplace(k, completed_ms + options_.confirm_after_ms);
  };
  if (Result<int> again = store_->ForEachEntry(id, judge); !again) {
    Log(LogLevel::kWarn, {}, "holes of " + id.ToString() + " not judged: " + again.error());
    return true;  // left dirty: scanned again at the next round
  }
  s->known = std::move(known);
  s->candidates = std::move(candidates);
  s->dirty = !complete;
  return complete;
}

std::map<std::string, std::vector<std::string>> HoleRechecks::TakeDue(int64_t mono_ms,
                                                                      int64_t wall_ms) {
  std::map<std::string, std::vector<std::string>> out;
  if (!enabled()) return out;
  // Called every round of the server's loop: the list of series is looked at every 250 ms.
  if (!round_wanted_ && mono_ms < next_round_ms_ && mono_ms < next_series_check_ms_) return out;
  next_series_check_ms_ = mono_ms + 250;
  const std::vector<SeriesId> loaded = store_->LoadedSeries();
  bool new_series = false;
  for (const SeriesId& id : loaded) {
    if (!series_.contains(id)) {
      series_.emplace(id, Series{});
      new_series = true;
    }
  }
  // A series just loaded is scanned at once (a planner with --once may not wait long).
  if (!round_wanted_ && !new_series && mono_ms < next_round_ms_) return out;
  round_wanted_ = false;
  next_round_ms_ = mono_ms + scan_every_ms_;
  size_t reads_left = options_.max_reads_per_round;
  size_t entries = 0;
  for (auto& [id, s] : series_) {
    if (!s.dirty) continue;
    if (entries >= options_.max_entries_per_round) {
      round_wanted_ = true;  // the rest at the next call
      break;
    }
    if (!Scan(id, &s, &reads_left, &entries)) break;
  }
  std::vector<std::tuple<int64_t, std::string, const SeriesId*>> due;
  int64_t waiting = 0;
  for (const auto& [id, s] : series_) {
    for (const auto& [key, due_ms] : s.candidates) {
      if (due_ms <= wall_ms) {
        due.emplace_back(due_ms, key, &id);
      } else {
        ++waiting;
      }
    }
  }
  std::sort(due.begin(), due.end());
  const size_t n = std::min(due.size(), options_.max_per_round);
  for (size_t i = 0; i < n; ++i) {
    const auto& [due_ms, key, id] = due[i];
    Series& s = series_[*id];
    asked_[key] = Asked{s.known[key].digest, false};
    s.candidates.erase(key);
    out[id->endpoint].push_back(key);
  }
  counters_["rechecks_announced"] += static_cast<int64_t>(n);
  due_now_ = static_cast<int64_t>(due.size() - n);
  counters_["recheck_candidates"] = waiting;
  return out;
}

Counters HoleRechecks::Snapshot() const {
  Counters c = counters_;
  for (const char* name : {"rechecks_announced", "recheck_candidates", "recheck_files_read"}) {
    c.emplace(name, 0);
  }
  c["recheck_due"] = due_now_;
  return c;
}

}  // namespace qlir::persister
