// Intake: the persister's decisions, fed decoded messages and time, with no socket (the shape of
// planner/coordinator.h). The server (persister_server.h) only binds, polls and moves frames:
// it hands each FETCH_RESULT to OnResult and each control message to OnControl, sends what they
// return, and calls WriteBatch and Commit once per round of reading.
//
// Results: a failure is recorded at once (it has no file). An ok or partial result is checked
// (the body must be a JSON array; "ok" fetched before its window closed is stored as partial),
// and its response file joins the batch. The entry records the BLAKE2b-256 digest of the body
// bytes written (common/body_digest.h). WriteBatch writes the batch's files (write_threads at
// once), then records each in arrival order. Commit fsyncs the directories renamed into and only
// then releases the DURABLE notices of the batch: nothing is acknowledged before it is durable.
//
// Subscribers: a HELLO or a STATUS_REQUEST subscribes the peer to DURABLE notices for
// subscription_ms; expired subscribers get nothing. Notices are batched per endpoint, at most
// kSlicesPerNotice slices per message.
//
// Repair: slices set pending again, by MARK_PENDING (verify --repair) or by recovery when a
// series is loaded (its response file missing or damaged), are announced to every subscriber in
// PENDING notices, after the DURABLE notices of the same Commit (a result recorded before the
// mark is announced before it). While nobody is subscribed they are held (up to
// kMaxHeldPending keys), so a planner that subscribes later still hears of them; a key recorded
// again meanwhile (its DURABLE says what it is now) is no longer announced.
//
// Holes confirmed by a second fetch: with confirm_holes_after_ms > 0, ok slices with holes and
// no holes_confirmed_at are announced in RECHECK notices once due (hole_rechecks.h: due time,
// once per stored body per run, batched and rate-bounded), after the PENDING notices of a
// Commit, only while someone is subscribed. When the ok result of an announced slice comes back
// and the stored slice is still ok: the same body (digest) keeps the file and sets
// holes_confirmed_at to the second fetch's completion (written with the manifest's next group
// commit); another body means the exchange's answer changed: it is stored as a normal ok result
// (new file, digest, n_items, unconfirmed), and one line says so. A failed second fetch changes
// nothing stored (a failure never replaces ok).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/stats.h"
#include "common/status.h"
#include "common/wire.h"
#include "persister/disk.h"
#include "persister/hole_rechecks.h"
#include "persister/manifest_store.h"

namespace qlir::persister {

struct IntakeOptions {
  std::filesystem::path data_root;
  // Response files of one batch written at once (1: one after the other). Disk must then be
  // safe to call from that many threads (RealDisk is).
  int write_threads = 1;
  int64_t subscription_ms = 10000;  // a HELLO subscribes for this long
  // ok slices with holes are fetched again this long after their completed_at to confirm
  // them; 0: never (the persister's flag --confirm-holes-after-ms, default 10 minutes).
  int64_t confirm_holes_after_ms = 0;
  // Only for tests: the gap between two rounds of hole rechecks (0: hole_rechecks.h's default).
  int64_t recheck_scan_every_ms = 0;
  // Slices per STATUS_REPLY page at most, whatever a STATUS_REQUEST's `max` asks, and the bytes
  // of its slices (keys and statuses as encoded) at most, a quarter of wire::kMaxMessageBytes:
  // 100,000 keys of a long symbol would not fit one frame. Tests set less.
  size_t status_page_slices = 100000;
  size_t status_page_bytes = 4 * 1024 * 1024;
};

// A ZeroMQ routing id as hex, for logs.
std::string PeerName(std::string_view id);

class Intake {
 public:
  static constexpr size_t kSlicesPerNotice = 5000;
  static constexpr size_t kMaxHeldPending = 1000000;

  // A message for one control peer (by ZeroMQ routing id).
  struct Outgoing {
    std::string peer;
    wire::Message message;
  };

  // `store`, `disk` and `clock` outlive the intake. REQUIRES: the data-root lock is held.
  Intake(IntakeOptions options, ManifestStore* store, Disk* disk, Clock* clock);
  Intake(const Intake&) = delete;
  Intake& operator=(const Intake&) = delete;

  // A FETCH_RESULT. A second result for a key already in the batch writes the batch first, so
  // that the store decides between the two in arrival order.
  void OnResult(const wire::FetchResult& r);
  // A frame on the results socket that is not a FETCH_RESULT (counted as dropped).
  void OnDroppedResult() { ++counters_["results_dropped"]; }

  // HELLO, STATUS_REQUEST or MARK_PENDING from `peer` (other types are logged and dropped).
  // Returns the reply, if the message has one.
  std::optional<wire::Message> OnControl(const std::string& peer, const wire::Message& m,
                                         int64_t now_ms);
  // `peer` cannot be reached any more (the socket said so): no more notices for it.
  void OnPeerGone(const std::string& peer) { subscribers_.erase(peer); }

  // Writes the batch's files, then records each (see above).
  void WriteBatch();
  // Fsyncs the directories renamed into; once all are durable, returns the DURABLE notices for
  // every live subscriber. Nothing when a directory cannot be fsynced (retried next time).
  std::vector<Outgoing> Commit(int64_t now_ms);
  // True while files or notices wait for a Commit.
  bool commit_pending() const { return !dirs_to_sync_.empty() || !notices_.empty(); }
  // True when every file written is durable (the manifest may then name them all).
  bool files_durable() const { return dirs_to_sync_.empty(); }
  // At shutdown: the batch written and committed (notices returned as Commit does), or an error
  // when a directory stays unsynced.
  Result<std::vector<Outgoing>> Drain(int64_t now_ms);

  // Cumulative counters plus the gauges (subscribers, dirs_to_sync, notices_waiting).
  Counters Snapshot() const;
  size_t subscribers() const { return subscribers_.size(); }

 private:
  // A response file to write for a result, and what to record once it is written.
  struct PendingWrite {
    SeriesId series;
    SliceRecord rec;
    std::filesystem::path responses;  // empty for a failure (no file)
    std::filesystem::path target;
    std::string bytes;       // the encoded response file
    size_t body_offset = 0;  // where the exchange's body starts in `bytes`
    int64_t body_size = 0;
    bool overwrite = false;  // a recheck's changed answer: replaces the stored ok slice
    Status write_status;
  };

  // Checks a result; records a failure at once; for a response returns the file to write.
  std::optional<PendingWrite> Prepare(const wire::FetchResult& r);
  void Finish(PendingWrite* w);
  Status EnsureResponsesDir(const std::filesystem::path& dir);
  void Subscribe(const std::string& peer, int64_t now_ms);
  wire::StatusReply AnswerStatus(const wire::StatusRequest& q);
  wire::Ack MarkPending(const wire::MarkPending& mp);
  // Queues a PENDING notice of `key` (see "Repair" above).
  void Reopen(const std::string& endpoint, const std::string& key, const std::string& reason);
  void AppendPendingNotices(std::vector<Outgoing>* out);
  void AppendRecheckNotices(std::vector<Outgoing>* out, int64_t now_ms);
  // The ok answer to a recheck of a slice stored ok: true when it confirmed the holes (nothing
  // to write); false when the answer changed (then stored as a normal result, overwriting).
  bool AnswerRecheck(const SeriesId& series, const wire::FetchResult& r);

  const IntakeOptions options_;
  ManifestStore* const store_;
  Disk* const disk_;
  Clock* const clock_;

  std::set<std::filesystem::path> created_dirs_;  // responses/ dirs known to exist
  std::set<std::filesystem::path> dirs_to_sync_;  // renamed into, not yet fsynced
  // DURABLE notices by endpoint, released once dirs_to_sync_ is empty.
  std::map<std::string, std::vector<wire::SliceState>> notices_;
  // PENDING notices to send: endpoint -> key -> reason.
  std::map<std::string, std::map<std::string, std::string>> reopened_;
  size_t reopened_size_ = 0;
  std::map<std::string, int64_t> subscribers_;  // routing id -> subscription expiry (monotonic)
  std::vector<PendingWrite> pending_;           // this batch's files, in arrival order
  std::set<std::string> pending_keys_;
  HoleRechecks rechecks_;
  Counters counters_;
};

}  // namespace qlir::persister
