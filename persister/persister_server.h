// PersisterServer: the persister's sockets and event loop (docs/protocol.md, "Fetcher ->
// persister" and "Planner/tools <-> persister"). It binds, polls and moves frames; what a result
// or a control message means, and what to send back, is the Intake's (intake.h).
//   results: PULL, bound; FETCH_RESULT from fetchers.
//   control: ROUTER, bound; HELLO (subscribe to DURABLE for 10 s), STATUS_REQUEST ->
//            STATUS_REPLY, MARK_PENDING -> ACK; to subscribers DURABLE, PENDING and RECHECK.
// Bad frames (not decodable, wrong type on a socket, invalid claims) are logged and dropped.
//
// Durability guarantee (what DURABLE means):
//   ok / partial: the response file was written to a temporary, fsynced, renamed over
//     responses/<slice_id>.json, and the responses/ directory fsynced. One directory fsync covers
//     every rename before it, so each batch of results read from the socket shares one fsync per
//     directory. The manifest may still lag (group commit, json_manifest_store.h): recovery
//     re-indexes the file after a crash, so the acknowledged result is never lost.
//   failed: acknowledged as soon as it is recorded in memory, without waiting for the manifest
//     write. Losing a failure in a crash only means the slice is unknown again and is refetched;
//     a failure never replaces a stored ok/partial result, so nothing stored can be lost.
//   The status in DURABLE is the one the store keeps (slice_precedence.h).
// A result whose body is not a valid JSON array is recorded as failed ("body is not a valid
// JSON array"), never stored as ok. A response file that cannot be written (ENOSPC, EROFS, ...)
// is logged, nothing is recorded or acknowledged (the planner's lease expires and the job is
// fetched again), and later results are tried as usual.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/curve.h"
#include "common/stats.h"
#include "common/status.h"
#include "common/wire.h"
#include "persister/disk.h"
#include "persister/intake.h"
#include "persister/manifest_store.h"

namespace qlir::persister {

struct ServerOptions {
  std::filesystem::path data_root;
  std::string results_bind = "tcp://127.0.0.1:5702";
  std::string control_bind = "tcp://127.0.0.1:5703";
  int max_batch = 256;  // results read before one directory fsync
  // Response files of one batch written at once (1: one after the other). Disk must then be
  // safe to call from that many threads (RealDisk is).
  int write_threads = 1;
  int64_t subscription_ms = 10000;  // a HELLO subscribes for this long
  // ok slices with holes fetched again this long after they were stored, to confirm the holes
  // (intake.h); 0: never. main sets --confirm-holes-after-ms (default 10 minutes).
  int64_t confirm_holes_after_ms = 0;
  int linger_ms = 200;
  std::string stats_file;  // when set, counters are rewritten there every 2 s (common/stats.h)
  // CURVE on both sockets (common/curve.h): results let in the allow-list's keys, control only
  // our own key pair (the planner and qlir-status --repair run with the data server's pair).
  // nullopt: plain sockets, as before.
  std::optional<curve::Setup> curve;
  Clock* clock = nullptr;  // outlives the server; null: the system's clocks
  // Readable once the process must stop (main: the signalfd of common/signals.h); -1: none,
  // only Stop().
  int stop_fd = -1;
};

class PersisterServer {
 public:
  // `context`, `store` and `disk` outlive the server. REQUIRES: the data-root lock is held.
  PersisterServer(ServerOptions options, zmq::context_t* context, ManifestStore* store, Disk* disk);
  ~PersisterServer();
  PersisterServer(const PersisterServer&) = delete;
  PersisterServer& operator=(const PersisterServer&) = delete;

  // Binds both sockets (with CURVE: starts the ZAP handler in `context` first); an error names
  // the address or the key problem.
  Status Bind();
  // The bound addresses (with the port chosen for a "tcp://host:*" bind).
  std::string results_endpoint() const;
  std::string control_endpoint() const;

  // Serves until Stop(); then makes everything durable (directory fsyncs, manifest writes) and
  // returns. An error means the final manifest write failed (the response files are safe).
  Status Run();

  // Asks Run to finish. Async-signal-safe; callable from any thread.
  void Stop();
  // The descriptor Stop writes to, for a signal handler: write(fd, "x", 1).
  int stop_fd() const { return stop_pipe_[1]; }

 private:
  void HandleResultFrame(const zmq::message_t& frame);
  void HandleControl(std::vector<zmq::message_t>* frames);
  void ReadControl();
  void ReadResults();
  void Reply(const std::vector<zmq::message_t>& envelope, const wire::Message& m);
  // Sends the intake's DURABLE notices; a peer the socket cannot reach is forgotten.
  void Send(const std::vector<Intake::Outgoing>& out);
  void WriteStats(bool force);
  void RecoverLaggingSeries();
  // One step of the digest upgrade that follows start-up (RecoverLaggingSeries); false when
  // there is nothing left to look at.
  bool UpgradeStep();

  const ServerOptions options_;
  zmq::context_t* const context_;
  ManifestStore* const store_;
  RealClock real_clock_;  // used when options_.clock is null
  Clock* const clock_;
  Intake intake_;
  std::unique_ptr<curve::ZapHandler> zap_;  // bound before the CURVE sockets; see Bind
  zmq::socket_t results_;
  zmq::socket_t control_;
  // Log peers refused outside ZAP (CURVE on one side only); destroyed before the sockets.
  std::unique_ptr<curve::RefusalWatch> results_watch_;
  std::unique_ptr<curve::RefusalWatch> control_watch_;
  int stop_pipe_[2] = {-1, -1};
  StatsFile stats_;
  // Series not recovered at start whose state may still lack digests (an old manifest), looked
  // at one per idle round (or one a second under load) after the server serves: reading every
  // manifest of a big root takes minutes, which would otherwise come before the first answer.
  std::vector<SeriesLocation> to_upgrade_;
  size_t upgrade_next_ = 0;
  int64_t upgrade_last_ms_ = 0;
  int upgraded_ = 0;
  size_t without_digest_ = 0;
};

}  // namespace qlir::persister
