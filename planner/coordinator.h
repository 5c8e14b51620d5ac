// The planner's logic, without sockets: fed decoded messages and the local clock, it keeps the
// universe, job queue, leases, credits, failure backoff and progress, and puts the messages to
// send in an Outbox. planner_server.cc does the I/O around it. Protocol: docs/protocol.md.
//
// Life of a slice: the STATUS_REPLY of its series (or the universe growing) queues every slice
// that is pending, failed or partial; Dispatch hands queued slices to fetchers with credit and
// leases them; DURABLE ends the lease and decides what is next by the status it carries:
//   ok       done;
//   partial  fetched again at the next refresh (every refresh_ms), or soon after its window
//            closes, whichever comes first;
//   failed   fetched again after the per-slice backoff; after max_failures it is failed for good
//            (with --once it is then left alone; running for ever it is still retried at the cap).
// An expired lease, a dead or unreachable fetcher's lease, or a JOB_RETURN puts the slice at the
// head of the queue. One exception: when the wait for DURABLE after JOB_DONE runs out, the notice
// may have been lost rather than the result (a persister restart or a lapsed subscription), so
// the series' statuses are asked first; the reply settles the lease, or puts the slice back
// when the persister does not know it; without a reply in another wait the slice goes back.
//
// Repair: a PENDING notice (slices the persister set pending again: verify --repair, or its
// recovery found a response file missing or damaged) puts those slices at the head of the queue
// at once; a leased one is left to its lease, whose result replaces the damaged one. In case a
// notice was missed (not subscribed then), every series' statuses are asked again every
// resync_ms, and any STATUS_REPLY after the first is reconciled: a slice held ok that the
// persister calls pending or failed is fetched again; one it calls ok is ok.
//
// Statuses come a page at a time (docs/protocol.md, STATUS_REQUEST): a pass asks the first page,
// then each next one right after the last (`after` = the last key received), and ends with the
// page that says no `more`. Each page is applied as it comes, after every notice sent before it
// on the same pipe, so a DURABLE between two pages is never undone by an older picture. A series
// is planned (ready) once the last page of its first pass is in. An error reply, or a page not
// answered within the retry gap, starts the pass again from the first page after that gap;
// a reply to a request no longer awaited is ignored.
//
// Holes confirmed by a second fetch: a RECHECK notice names stored ok slices with holes that the
// persister wants fetched once more. They wait in their own queue, behind every other job: one
// is handed out only when the job queue is empty, as an ordinary job (through the fetchers and
// the exchange's weight budget). The slice stays ok here, only leased while in flight; its
// DURABLE ends the lease as usual (the persister compares the answer with what it stores). A
// recheck whose lease is lost goes back to the head of that queue; with --once the run is not
// finished while rechecks wait or are in flight, nor within heartbeat_ms of a STATUS_REPLY (the
// persister sends the RECHECK of a series it has just loaded right behind its reply).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/stats.h"
#include "common/wire.h"
#include "planner/backoff.h"
#include "planner/credit_ledger.h"
#include "planner/exchange_clock.h"
#include "planner/job_queue.h"
#include "planner/lease_table.h"
#include "planner/options.h"
#include "planner/progress.h"
#include "planner/universe.h"

namespace qlir::planner {

inline constexpr const char* kSenderName = "planner";

struct CoordinatorConfig {
  bool once = false;
  std::optional<int64_t> end_ms;  // nullopt: follow the exchange clock
  int64_t heartbeat_ms = 1000;
  int64_t lease_timeout_ms = 300000;
  int64_t durable_wait_ms = 30000;
  int64_t refresh_ms = 60000;
  int64_t status_retry_ms = 5000;
  // Series whose status passes are under way at once. The persister answers in order and loads
  // a series (its first question costs up to seconds) before answering; with every series asked
  // at once, a series' next page waited behind every other series' first, by then dropped from
  // the persister's bounded cache and read again, and silent requests were asked again on top.
  int status_window = 4;
  int64_t resync_ms = 600000;  // statuses of every series asked again this often; 0: never
  int64_t progress_ms = 10000;
  int64_t retry_base_ms = 5000;
  int64_t retry_max_ms = 600000;
  int max_failures = 5;

  static CoordinatorConfig FromOptions(const Options& o);
};

struct Outbox {
  std::vector<std::pair<std::string, wire::Message>> to_fetchers;  // (ROUTER identity, message)
  std::vector<wire::Message> to_persister;
  void clear() {
    to_fetchers.clear();
    to_persister.clear();
  }
};

class Coordinator {
 public:
  Coordinator(CoordinatorConfig config, Universe universe, ExchangeClock exchange_clock);
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // HELLO, then a STATUS_REQUEST per series (order matters: subscribed first, so no DURABLE
  // between the snapshot and the subscription is missed; docs/protocol.md; docs/conventions.md,
  // "Credits, leases and heartbeats").
  void Start(int64_t now, Outbox* out);
  void OnFetcherMessage(const std::string& identity, const wire::Message& m, int64_t now,
                        Outbox* out);
  void OnPersisterMessage(const wire::Message& m, int64_t now, Outbox* out);
  // The control connection is up: HELLO at once. On a reconnection (the persister restarted)
  // DURABLE notices sent while it was away are lost, so the statuses of series with jobs
  // awaiting DURABLE are asked again; nothing is asked when no job awaits one (DURABLE notices
  // are the normal path).
  void OnPersisterConnected(int64_t now, bool reconnect, Outbox* out);
  // The control connection went down (the persister stopped or died). Results of jobs done
  // before now went to that persister: if a later status reply does not know them, they died
  // with it and are handed out again without waiting for --durable-wait-ms.
  void OnPersisterLost(int64_t now) { persister_lost_at_ms_ = now; }
  // A message to the persister could not be queued (not connected).
  void OnPersisterSendFailed(const wire::Message& m);
  // A send to the fetcher failed with EHOSTUNREACH: it is gone; its leases go back.
  void OnFetcherUnreachable(const std::string& identity, int64_t now);
  // A JOB could not be queued to the fetcher (EAGAIN): the job goes back to the head.
  void OnJobNotSent(const std::string& identity, uint64_t job_id, int64_t now);
  // The exchange's request-weight limit (exchangeInfo rateLimits), carried by every JOB so that
  // fetchers anywhere use it. 0: not known.
  void SetWeightLimit(int64_t limit, int64_t window_ms) {
    weight_limit_ = limit;
    weight_window_ms_ = window_ms;
  }
  // Series `s` will get no candle after `last_ms` (its symbol is delisted: status BREAK or gone
  // from exchangeInfo): it is no longer extended, slices after the one holding `last_ms` are
  // dropped, and its tail slice, once fetched after now, is final (not refreshed again).
  void EndSeries(uint32_t s, int64_t last_ms, int64_t now);
  // The symbol trades again: the series follows the exchange clock again.
  void ReopenSeries(uint32_t s);
  bool Ended(uint32_t s) const { return ends_[s].ended_at_ms >= 0; }
  void SyncExchangeClock(int64_t server_ms, int64_t local_before, int64_t local_after) {
    exchange_.Sync(server_ms, local_before, local_after);
  }
  // Id-axis endpoints (Endpoint::Axis::kId, aggTrades): the newest item id of series `s`, as
  // the exchange last answered it (the planner asks at start and every --refresh-ms). It is the
  // series' "now": slices up to it are closed, the one holding it is the open tail, and the
  // series grows to it (unless --end). A smaller id than the one known is ignored.
  void SetNewestItem(uint32_t s, int64_t newest_id);
  // Where series `s` stands on its axis: the exchange clock (time axis), or one past the newest
  // item id (id axis; 0 while none is known). Slices ending before it are closed.
  int64_t AxisNow(uint32_t s, int64_t now) const;

  // Timers: HELLO and heartbeats, dead fetchers, expired leases, due retries and refreshes,
  // growth of the universe with the exchange clock, unanswered STATUS_REQUESTs, progress lines.
  void Tick(int64_t now, Outbox* out);
  // Hands queued slices to fetchers, never more than their credits.
  void Dispatch(int64_t now, Outbox* out);
  // Milliseconds until the next timer, within [0, heartbeat_ms].
  int64_t NextWakeMs(int64_t now) const;

  // With --once, the exit code when the run is complete (completion.h): 0 all ok, 2 some
  // slices failed for good (failed_for_good() lists them). nullopt otherwise.
  std::optional<int> Finished(int64_t now);
  const std::vector<SliceRef>& failed_for_good() const { return failed_for_good_; }
  std::vector<std::string> SummaryLines(int64_t now) const;
  std::vector<std::string> ProgressLines(int64_t now);

  const Universe& universe() const { return universe_; }
  const LeaseTable& leases() const { return leases_; }
  const CreditLedger& ledger() const { return ledger_; }
  const FailureBackoff& backoff() const { return backoff_; }
  size_t queued() const { return queue_.size(); }
  size_t rechecks_waiting() const { return recheck_queue_.size(); }
  size_t rechecks_in_flight() const { return recheck_jobs_.size(); }
  bool ready(uint32_t series) const { return sync_[series].ready; }
  // The request id of the STATUS_REQUEST page awaited for `series`, 0 when none.
  uint64_t status_request_id(uint32_t series) const {
    const auto& ids = sync_[series].request_ids;
    return ids.empty() ? 0 : ids.back();
  }
  uint64_t status_pages() const { return status_pages_; }
  int64_t exchange_now(int64_t now) const { return exchange_.Now(now); }
  // Counters for the stats file (common/stats.h): slices by status, queue depths, leases,
  // fetchers and their credits, jobs handed and re-handed, DURABLE notices.
  Counters StatsCounters() const;
  // {fetcher_id: {"seen_at": ISO, "seen_ago_ms": n, "counters": {...}}} from the counters the
  // fetchers sent in their HEARTBEATs; `wall_now` dates them. Fetchers silent for an hour drop out.
  nlohmann::json FetcherStats(int64_t now, int64_t wall_now) const;
  uint64_t jobs_handed() const { return jobs_handed_; }
  uint64_t jobs_rehanded() const { return jobs_rehanded_; }

 private:
  struct SeriesSync {
    bool ready = false;         // the last page of the first pass is in
    bool want_status = true;    // a pass is wanted or under way (the first one, or a refresh)
    int64_t requested_at = -1;  // last STATUS_REQUEST sent; -1: start a pass at the next Tick
    int errors = 0;             // error replies in a row: the retry gap doubles with each
    int64_t synced_at = -1;     // the end of the last good pass; -1 none
    // The pass under way. request_ids: the requests for the page awaited (several when the
    // first page was asked again: any answer to them will do); empty when none is awaited.
    std::vector<uint64_t> request_ids;
    std::string after;             // the last key received in this pass; "" before the first page
    int64_t pass_started_at = -1;  // when its first page was first asked
    bool again = false;            // asked again while the pass ran: another pass follows it
    int64_t pages = 0;             // pages of this pass received
    int64_t skipped = 0;           // entries outside the range, in this pass
  };

  void OnDurable(SliceRef r, SliceStatus status, int64_t now);
  void OnPending(const wire::Pending& p, int64_t now);
  void OnRecheck(const wire::Recheck& rc);
  // Leases r to a fetcher with credit. REQUIRES: ledger_.AnyCredit().
  uint64_t Hand(SliceRef r, int64_t now, Outbox* out);
  // The persister set r pending again: fetch it again first (unless a lease will settle it).
  void Reopen(SliceRef r);
  // A reply after the first: what the persister says of slices no lease covers is the truth.
  void Reconcile(uint32_t s, const wire::StatusReply& reply, int64_t now);
  void OnStatusReply(const wire::StatusReply& reply, int64_t now, Outbox* out);
  // The last page of a pass is in.
  void EndPass(uint32_t s, int64_t now);
  // Sends the first page's STATUS_REQUEST, starting a new pass unless the first page is still
  // awaited; AskPage sends the request of the page after sync.after.
  void StartPass(uint32_t s, int64_t now, Outbox* out);
  void AskPage(uint32_t s, int64_t now, Outbox* out);
  // An error reply or a page that makes no sense: start again from the first page after the gap.
  void FailPass(uint32_t s, const std::string& why, int64_t now);
  // Wants a fresh STATUS_REPLY for a series already planned (to settle leases awaiting DURABLE).
  void AskStatusAgain(uint32_t s);
  int64_t StatusRetryGap(const SeriesSync& sync) const;
  void Enqueue(SliceRef r, bool front);
  void Delay(SliceRef r, int64_t due);
  void Requeue(const Lease& l, const char* why);
  // After a snapshot or growth: queue what needs work.
  void Plan(SliceRef r);
  int64_t PartialDelay(SliceRef r, int64_t now) const;
  int64_t Done(uint32_t s) const { return universe_.counts(s).ok + universe_.counts(s).partial; }

  CoordinatorConfig config_;
  Universe universe_;
  ExchangeClock exchange_;
  std::vector<int64_t> newest_item_;  // id axis: per series, -1 unknown
  JobQueue queue_;
  DelayQueue delayed_;
  LeaseTable leases_;
  CreditLedger ledger_;
  FailureBackoff backoff_;
  std::vector<SeriesSync> sync_;
  struct SeriesEnd {
    int64_t ended_at_ms = -1;  // local time of EndSeries; -1: the series follows the clock
    int64_t last_ms = 0;       // the last candle's open time
  };
  std::vector<SeriesEnd> ends_;
  RunProgress progress_;
  std::vector<SliceRef> failed_for_good_;
  int64_t weight_limit_ = 0;
  int64_t weight_window_ms_ = 0;
  uint64_t next_job_id_ = 1;
  uint64_t next_request_id_ = 1;
  int64_t started_ms_ = 0;
  int64_t last_hello_ms_ = -1;
  int64_t persister_lost_at_ms_ = -1;  // see OnPersisterLost
  int64_t last_status_reply_ms_ = -1;  // the last good STATUS_REPLY; -1 none
  int64_t last_progress_ms_ = -1;
  uint64_t jobs_handed_ = 0;
  uint64_t jobs_rehanded_ = 0;
  uint64_t durable_notices_ = 0;
  uint64_t status_pages_ = 0;     // STATUS_REPLY pages applied
  uint64_t status_restarts_ = 0;  // passes started again (an error, a page lost)
  uint64_t slices_reopened_ = 0;  // set pending again by the persister (PENDING or a reply)
  // RECHECK: ok slices to fetch once more, behind every other job (see the file comment).
  std::deque<SliceRef> recheck_queue_;
  std::unordered_set<SliceRef, SliceRefHash> recheck_wanted_;  // what recheck_queue_ holds
  std::set<uint64_t> recheck_jobs_;                            // job ids of rechecks in flight
  uint64_t rechecks_handed_ = 0;
  struct FetcherReport {
    Counters counters;
    int64_t seen_ms = 0;
  };
  std::map<std::string, FetcherReport> fetcher_reports_;  // by fetcher id
};

}  // namespace qlir::planner
