#include "persister/intake.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/json_syntax.h"
#include "common/log.h"
#include "common/response_file.h"
#include "common/symbol.h"
#include "common/time_util.h"
#include "persister/slice_precedence.h"

namespace qlir::persister {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> IsoOrNull(int64_t ms) {
  if (ms <= 0) return std::nullopt;
  return FormatIsoUtc(ms);
}

std::optional<int64_t> TsOrNull(int64_t ts) {
  if (ts < 0) return std::nullopt;
  return ts;
}

// Every sliced endpoint answers with a JSON array (klines, aggTrades, fundingRate); anything
// else is not stored.
bool IsJsonArray(std::string_view body) {
  size_t i = body.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || body[i] != '[') return false;
  // A syntax-only pass: nlohmann::json::accept took two thirds of the persister's CPU here
  // (issue #8, common/json_syntax.h).
  return IsValidJson(body);
}

}  // namespace

std::string PeerName(std::string_view id) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : id) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Intake::Intake(IntakeOptions options, ManifestStore* store, Disk* disk, Clock* clock)
    : options_(std::move(options)),
      store_(store),
      disk_(disk),
      clock_(clock),
      rechecks_(RecheckOptions{.data_root = options_.data_root,
                               .confirm_after_ms = options_.confirm_holes_after_ms,
                               .scan_every_ms = options_.recheck_scan_every_ms},
                store) {}

Status Intake::EnsureResponsesDir(const fs::path& dir) {
  if (created_dirs_.contains(dir)) return Status::Ok();
  QLIR_RETURN_IF_ERROR(CreateDirsDurably(dir, disk_));
  created_dirs_.insert(dir);
  return Status::Ok();
}

void Intake::OnResult(const wire::FetchResult& r) {
  if (pending_keys_.contains(r.key)) WriteBatch();
  if (auto w = Prepare(r)) {
    pending_keys_.insert(w->rec.key);
    pending_.push_back(std::move(*w));
  }
}

std::optional<Intake::PendingWrite> Intake::Prepare(const wire::FetchResult& r) {
  ++counters_["results_received"];
  // Check what the result claims before it touches the disk.
  const Endpoint* endpoint = FindEndpoint(r.endpoint);
  if (!endpoint) {
    ++counters_["results_dropped"];
    Log(LogLevel::kWarn, r.key, "dropped result: " + UnknownEndpointMessage(r.endpoint));
    return std::nullopt;
  }
  auto key = endpoint->ParseKey(r.key);
  if (!key) {
    Log(LogLevel::kWarn, {}, "dropped result: " + key.error());
    return std::nullopt;
  }
  auto outcome = ParseSliceStatus(r.outcome);
  if (!outcome || *outcome == SliceStatus::kPending) {
    Log(LogLevel::kWarn, r.key, "dropped result with invalid outcome '" + r.outcome + "'");
    return std::nullopt;
  }
  const std::string endpoint_name(endpoint->name());
  const SeriesId series{endpoint_name, key->symbol, key->interval};

  SliceRecord rec;
  rec.key = r.key;
  ManifestEntry& e = rec.entry;
  e.status = *outcome;
  e.http_status = r.http_status > 0 ? std::optional<int>(r.http_status) : std::nullopt;
  e.requested_at = IsoOrNull(r.requested_at_ms);
  e.completed_at = IsoOrNull(r.completed_at_ms);
  // fetched_at is the exchange's clock, second precision as written in the file; recovery
  // derives ok/partial from the same value, so both agree.
  const int64_t fetched_ms = (r.server_time_ms > 0 ? r.server_time_ms : r.completed_at_ms);
  const int64_t fetched_s_ms = fetched_ms - ((fetched_ms % 1000) + 1000) % 1000;
  if (e.status != SliceStatus::kFailed) {
    if (!IsJsonArray(r.body)) {
      Log(LogLevel::kWarn, r.key,
          "body of " + std::to_string(r.body.size()) +
              " bytes is not a valid JSON array; recording failed");
      e.status = SliceStatus::kFailed;
      e.error = "body is not a valid JSON array";
    } else {
      if (e.status == SliceStatus::kOk &&
          !endpoint->Final(*key, {r.n_items, r.first_ts, r.last_ts}, fetched_s_ms)) {
        Log(LogLevel::kWarn, r.key,
            endpoint->axis() == Endpoint::Axis::kTime
                ? "result claims ok but was fetched at " + FormatIsoUtc(fetched_ms) +
                      ", before its window closed; storing as partial"
                : "result claims ok but holds " + std::to_string(r.n_items) +
                      " items, not every id of its window; storing as partial");
        e.status = SliceStatus::kPartial;
      }
      e.n_items = r.n_items;
      e.first_ts = TsOrNull(r.first_ts);
      e.last_ts = TsOrNull(r.last_ts);
    }
  } else {
    e.error = r.error.empty() ? std::optional<std::string>("unknown error") : r.error;
  }

  auto existing = store_->Lookup(series, r.key);
  if (!existing) {
    Log(LogLevel::kError, r.key, "cannot load series, result not stored: " + existing.error());
    return std::nullopt;
  }
  bool overwrite = false;
  if (e.status == SliceStatus::kOk && rechecks_.AwaitsAnswer(r.key)) {
    rechecks_.OnAnswered(r.key);
    if (*existing == SliceStatus::kOk) {
      if (AnswerRecheck(series, r)) return std::nullopt;
      overwrite = true;  // the exchange's answer changed: stored as a normal ok result
    }
  }
  if (!overwrite && !Supersedes(e.status, *existing)) {
    // The stored result wins (ok is final; a failure never replaces a stored response).
    ++counters_["results_superseded"];
    notices_[endpoint_name].push_back({r.key, std::string(SliceStatusName(**existing))});
    return std::nullopt;
  }
  PendingWrite w;
  w.series = series;
  w.rec = std::move(rec);
  w.overwrite = overwrite;
  if (w.rec.entry.status == SliceStatus::kFailed) {
    Finish(&w);  // a failure has no file: record it at once
    return std::nullopt;
  }
  auto dir = SeriesDir(options_.data_root, endpoint_name, key->symbol, key->interval);
  if (!dir) {
    Log(LogLevel::kWarn, r.key, "dropped result: " + dir.error());
    return std::nullopt;
  }
  w.responses = *dir / kResponsesDir;
  w.target = w.responses / (key->slice_id() + ".json");
  w.body_size = static_cast<int64_t>(r.body.size());
  if (Status s = EnsureResponsesDir(w.responses); !s.ok()) {
    ++counters_["write_errors"];
    Log(LogLevel::kError, r.key, "cannot store response, not acknowledged: " + s.message());
    return std::nullopt;
  }
  w.bytes = EncodeResponseFile(ResponseMeta{r.url, r.key, FormatIsoUtc(fetched_ms)}, r.body);
  // EncodeResponseFile puts the body verbatim just before the closing "}\n".
  w.body_offset = w.bytes.size() - 2 - r.body.size();
  return w;
}

void Intake::WriteBatch() {
  if (pending_.empty()) return;
  // The files of a batch are written (temporary, fsync, rename) in parallel: fsync waits on the
  // disk, and several in flight share the file system's journal commits. Their directory is
  // fsynced once, by Commit, before anything is acknowledged or named by a manifest.
  const size_t n = pending_.size();
  const size_t threads =
      std::min<size_t>(n, static_cast<size_t>(std::max(1, options_.write_threads)));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      PendingWrite& w = pending_[i];
      // The digest of the body as it goes into the file (docs/on-disk-format.md, `digest`),
      // computed here so that the batch's threads share the hashing too.
      w.rec.entry.digest = BodyDigest(std::string_view(w.bytes).substr(w.body_offset, w.body_size));
      w.write_status = disk_->WriteFileAtomic(w.target, w.bytes, /*sync_dir=*/false);
    }
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  // In arrival order, as before: what the store keeps and what DURABLE says.
  for (PendingWrite& w : pending_) Finish(&w);
  pending_.clear();
  pending_keys_.clear();
}

void Intake::Finish(PendingWrite* w) {
  const SliceRecord& rec = w->rec;
  if (!w->target.empty()) {
    if (!w->write_status.ok()) {
      ++counters_["write_errors"];
      Log(LogLevel::kError, rec.key,
          "cannot store response, not acknowledged: " + w->write_status.message());
      return;
    }
    ++counters_["files_written"];
    counters_["bytes_written"] += w->body_size;
    dirs_to_sync_.insert(w->responses);
  }
  auto kept = w->overwrite ? store_->Overwrite(w->series, rec) : store_->Record(w->series, rec);
  if (!kept) {
    Log(LogLevel::kError, rec.key, "cannot record result: " + kept.error());
    return;
  }
  const bool failed = rec.entry.status == SliceStatus::kFailed;
  Log(LogLevel::kInfo, rec.key,
      std::string(failed ? "recorded " : "stored ") + std::string(SliceStatusName(*kept)) +
          (failed ? " (" + rec.entry.error.value_or("") + ")" : ""));
  ++counters_["recorded_" + std::string(SliceStatusName(*kept))];
  if (*kept == SliceStatus::kOk) rechecks_.OnRecorded(w->series);
  notices_[w->series.endpoint].push_back({rec.key, std::string(SliceStatusName(*kept))});
  // Its DURABLE says what the slice is now: a PENDING still held for it would be stale.
  if (auto it = reopened_.find(w->series.endpoint); it != reopened_.end()) {
    reopened_size_ -= it->second.erase(rec.key);
  }
}

bool Intake::AnswerRecheck(const SeriesId& series, const wire::FetchResult& r) {
  auto found = store_->Entry(series, r.key);
  const ManifestEntry* stored = found.ok() && found->has_value() ? &**found : nullptr;
  const std::string digest = BodyDigest(r.body);
  if (stored && stored->digest == digest) {
    const int64_t rows = stored->n_items;
    SliceRecord confirmed{r.key, *stored};
    const int64_t at = r.completed_at_ms > 0 ? r.completed_at_ms : clock_->WallNowMs();
    confirmed.entry.holes_confirmed_at = FormatIsoUtc(at);
    auto kept = store_->Overwrite(series, confirmed);
    if (!kept) {
      Log(LogLevel::kError, r.key, "cannot record the confirmation of holes: " + kept.error());
      return true;  // nothing else to store: the body is the one on disk
    }
    ++counters_["holes_confirmed"];
    Log(LogLevel::kInfo, r.key,
        "holes confirmed: a second fetch returned the same " + std::to_string(rows) +
            " rows (digest " + digest.substr(0, 16) + "...)");
    notices_[series.endpoint].push_back({r.key, std::string(SliceStatusName(*kept))});
    return true;
  }
  ++counters_["recheck_changed"];
  Log(LogLevel::kWarn, r.key,
      "slice changed at the exchange: a second fetch returned " + std::to_string(r.n_items) +
          " rows (digest " + digest.substr(0, 16) + "...), the stored answer has " +
          (stored ? std::to_string(stored->n_items) + " (digest " +
                        stored->digest.value_or("none").substr(0, 16) + "...)"
                  : std::string("none")) +
          "; storing the new answer, its holes unconfirmed");
  return false;
}

void Intake::Reopen(const std::string& endpoint, const std::string& key,
                    const std::string& reason) {
  if (reopened_size_ >= kMaxHeldPending) {
    ++counters_["pending_notices_dropped"];
    return;
  }
  if (reopened_[endpoint].insert_or_assign(key, reason).second) ++reopened_size_;
}

void Intake::AppendPendingNotices(std::vector<Outgoing>* out) {
  for (auto& [endpoint, keys] : store_->TakeRecoveredPending()) {
    for (const std::string& k : keys) Reopen(endpoint, k, "response file missing or damaged");
  }
  if (reopened_.empty() || subscribers_.empty()) return;  // held for a later subscriber
  for (const auto& [endpoint, keys] : reopened_) {
    // One notice per reason, at most kSlicesPerNotice keys each.
    std::map<std::string, std::vector<std::string>> by_reason;
    for (const auto& [key, reason] : keys) by_reason[reason].push_back(key);
    for (auto& [reason, list] : by_reason) {
      counters_["pending_notices"] += static_cast<int64_t>(list.size());
      LogInfo("telling " + std::to_string(subscribers_.size()) + " subscriber(s) that " +
              std::to_string(list.size()) + " slice(s) are pending again (" + reason + ")");
      for (size_t from = 0; from < list.size(); from += kSlicesPerNotice) {
        wire::Pending p;
        p.endpoint = endpoint;
        p.reason = reason;
        p.keys.assign(list.begin() + static_cast<std::ptrdiff_t>(from),
                      list.begin() + static_cast<std::ptrdiff_t>(
                                         std::min(list.size(), from + kSlicesPerNotice)));
        for (const auto& [peer, expiry] : subscribers_) out->push_back({peer, p});
      }
    }
  }
  reopened_.clear();
  reopened_size_ = 0;
}

std::vector<Intake::Outgoing> Intake::Commit(int64_t now_ms) {
  std::vector<Outgoing> out;
  // Order matters: the renames become durable (directory fsync) before anyone hears of them.
  for (auto it = dirs_to_sync_.begin(); it != dirs_to_sync_.end();) {
    Status s = disk_->SyncDir(*it);
    if (!s.ok()) {
      ++counters_["fsync_errors"];
      LogError("cannot fsync " + it->string() + ", acknowledgements held back: " + s.message());
      return out;  // retried on the next round; nothing is acknowledged meanwhile
    }
    it = dirs_to_sync_.erase(it);
  }
  std::erase_if(subscribers_, [&](const auto& kv) { return kv.second < now_ms; });
  for (const auto& [endpoint, slices] : notices_) {
    counters_["durable_slices"] += static_cast<int64_t>(slices.size());
    if (subscribers_.empty()) continue;
    for (size_t from = 0; from < slices.size(); from += kSlicesPerNotice) {
      wire::Durable d;
      d.endpoint = endpoint;
      d.slices.assign(slices.begin() + static_cast<std::ptrdiff_t>(from),
                      slices.begin() + static_cast<std::ptrdiff_t>(
                                           std::min(slices.size(), from + kSlicesPerNotice)));
      for (const auto& [peer, expiry] : subscribers_) out.push_back({peer, d});
    }
  }
  notices_.clear();
  AppendPendingNotices(&out);
  AppendRecheckNotices(&out, now_ms);
  return out;
}

void Intake::AppendRecheckNotices(std::vector<Outgoing>* out, int64_t now_ms) {
  if (!rechecks_.enabled() || subscribers_.empty()) return;  // held for a later subscriber
  for (const auto& [endpoint, keys] : rechecks_.TakeDue(now_ms, clock_->WallNowMs())) {
    counters_["recheck_notices"] += static_cast<int64_t>(keys.size());
    LogInfo("asking " + std::to_string(subscribers_.size()) + " subscriber(s) to fetch " +
            std::to_string(keys.size()) +
            " stored slice(s) with holes once more, to confirm the holes");
    for (size_t from = 0; from < keys.size(); from += kSlicesPerNotice) {
      wire::Recheck rc;
      rc.endpoint = endpoint;
      rc.keys.assign(keys.begin() + static_cast<std::ptrdiff_t>(from),
                     keys.begin() + static_cast<std::ptrdiff_t>(
                                        std::min(keys.size(), from + kSlicesPerNotice)));
      for (const auto& [peer, expiry] : subscribers_) out->push_back({peer, rc});
    }
  }
}

Result<std::vector<Intake::Outgoing>> Intake::Drain(int64_t now_ms) {
  WriteBatch();
  std::vector<Outgoing> out = Commit(now_ms);
  if (!dirs_to_sync_.empty()) {
    return Status::IOError("response directories could not be fsynced at shutdown");
  }
  return out;
}

void Intake::Subscribe(const std::string& peer, int64_t now_ms) {
  subscribers_[peer] = now_ms + options_.subscription_ms;
}

std::optional<wire::Message> Intake::OnControl(const std::string& peer, const wire::Message& m,
                                               int64_t now_ms) {
  if (auto* h = std::get_if<wire::Hello>(&m)) {
    if (!subscribers_.contains(peer)) {
      LogInfo("subscriber '" + h->sender + "' (" + PeerName(peer) + ") joined");
    }
    Subscribe(peer, now_ms);
    return std::nullopt;
  }
  if (auto* q = std::get_if<wire::StatusRequest>(&m)) {
    // Asking for statuses also subscribes the asker to DURABLE notices, as HELLO does: the
    // planner must not miss the notices of results stored right after its first request.
    Subscribe(peer, now_ms);
    return AnswerStatus(*q);
  }
  if (auto* mp = std::get_if<wire::MarkPending>(&m)) return MarkPending(*mp);
  LogWarn("control: dropped a " + std::string(wire::TypeName(wire::TypeOf(m))) + " message from " +
          PeerName(peer));
  return std::nullopt;
}

wire::StatusReply Intake::AnswerStatus(const wire::StatusRequest& q) {
  wire::StatusReply reply;
  reply.request_id = q.request_id;
  reply.endpoint = q.endpoint;
  reply.symbol = q.symbol;
  reply.interval = q.interval;
  const Endpoint* endpoint = FindEndpoint(q.endpoint);
  if (!endpoint) {
    reply.error = UnknownEndpointMessage(q.endpoint);
  } else if (Status s = ValidateSymbol(q.symbol); !s.ok()) {
    reply.error = s.message();
  } else if (!endpoint->ValidateInterval(q.interval).ok()) {
    reply.error = "unsupported interval '" + q.interval + "'";
  } else {
    // One page (docs/protocol.md, STATUS_REQUEST): the slices after q.after, at most the page
    // size, and never more bytes than a page may hold, whatever the keys' length.
    const SeriesId series{q.endpoint, q.symbol, q.interval};
    const size_t page_max = std::max<size_t>(1, options_.status_page_slices);
    const size_t want = q.max == 0 ? page_max : std::min<uint64_t>(q.max, page_max);
    auto page = store_->LoadStatusPage(series, q.after, want);
    if (!page) {
      reply.error = page.error();
    } else {
      reply.more = page->more;
      reply.slices.reserve(page->slices.size());
      size_t bytes = 0;
      for (const auto& [k, st] : page->slices) {
        const std::string_view name = SliceStatusName(st);
        // msgpack: the pair's array header, two string headers (at most 5 bytes each).
        const size_t size = k.size() + name.size() + 11;
        if (!reply.slices.empty() && bytes + size > options_.status_page_bytes) {
          reply.more = true;  // the rest on the next page, after the last key sent
          break;
        }
        bytes += size;
        reply.slices.push_back({k, std::string(name)});
      }
      ++counters_["status_pages"];
      counters_["status_slices"] += static_cast<int64_t>(reply.slices.size());
      counters_["status_bytes"] += static_cast<int64_t>(bytes);
      // The series' due rechecks follow its last page in this round's Commit: a planner takes
      // them only once it has the whole series.
      if (!reply.more) rechecks_.OnAsked(series);
    }
  }
  if (!reply.error.empty()) LogWarn("STATUS_REQUEST: " + reply.error);
  return reply;
}

wire::Ack Intake::MarkPending(const wire::MarkPending& mp) {
  wire::Ack ack;
  ack.request_id = mp.request_id;
  std::map<SeriesId, std::vector<std::string>> by_series;
  const Endpoint* endpoint = FindEndpoint(mp.endpoint);
  if (!endpoint) ack.error = UnknownEndpointMessage(mp.endpoint);
  for (const std::string& k : mp.keys) {
    if (!endpoint) break;
    auto key = endpoint->ParseKey(k);
    if (!key) {
      if (ack.error.empty()) ack.error = key.error();
      continue;
    }
    by_series[SeriesId{mp.endpoint, key->symbol, key->interval}].push_back(k);
  }
  for (const auto& [series, keys] : by_series) {
    auto n = store_->MarkPending(series, keys, clock_->WallNowMs());
    if (!n) {
      if (ack.error.empty()) ack.error = n.error();
      continue;
    }
    ack.count += *n;
    // Durable now: tell the subscribers (a running planner fetches them again).
    for (const std::string& k : keys) {
      auto st = store_->Lookup(series, k);
      if (st && *st == SliceStatus::kPending) {
        Reopen(series.endpoint, k, "marked pending by MARK_PENDING");
      }
    }
  }
  if (!ack.error.empty()) LogWarn("MARK_PENDING: " + ack.error);
  return ack;
}

Counters Intake::Snapshot() const {
  Counters c = counters_;
  for (const char* name :
       {"results_received", "recorded_ok", "recorded_partial", "recorded_failed", "results_dropped",
        "write_errors", "bytes_written", "status_pages", "status_slices", "status_bytes"}) {
    c.emplace(name, 0);
  }
  c["subscribers"] = static_cast<int64_t>(subscribers_.size());
  c["dirs_to_sync"] = static_cast<int64_t>(dirs_to_sync_.size());
  int64_t waiting = 0;
  for (const auto& [endpoint, slices] : notices_) waiting += static_cast<int64_t>(slices.size());
  c["notices_waiting"] = waiting;
  c["pending_notices_waiting"] = static_cast<int64_t>(reopened_size_);
  if (rechecks_.enabled()) {
    for (const auto& [name, value] : rechecks_.Snapshot()) c[name] = value;
    for (const char* name : {"holes_confirmed", "recheck_changed", "recheck_notices"}) {
      c.emplace(name, 0);
    }
  }
  return c;
}

}  // namespace qlir::persister
