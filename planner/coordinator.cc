#include "planner/coordinator.h"

#include <algorithm>
#include <type_traits>
#include <unordered_set>

#include "common/log.h"
#include "common/time_util.h"
#include "planner/completion.h"

namespace qlir::planner {
namespace {

// A DURABLE partial for a window that has closed is fetched again this soon at the earliest
// (the fetcher judged it open by its own reading of the exchange clock), and an open window is
// fetched this long after it closes, so the exchange's database has caught up.
constexpr int64_t kMinRefetchMs = 1000;
constexpr int64_t kCloseGraceMs = 2000;

}  // namespace

CoordinatorConfig CoordinatorConfig::FromOptions(const Options& o) {
  CoordinatorConfig c;
  c.once = o.once;
  c.end_ms = o.end_ms;
  c.heartbeat_ms = o.heartbeat_ms;
  c.lease_timeout_ms = o.lease_timeout_ms;
  c.durable_wait_ms = o.durable_wait_ms;
  c.refresh_ms = o.refresh_ms;
  c.status_retry_ms = o.status_retry_ms;
  c.resync_ms = o.resync_ms;
  c.progress_ms = o.progress_ms;
  c.retry_base_ms = o.retry_base_ms;
  c.retry_max_ms = o.retry_max_ms;
  c.max_failures = o.max_failures;
  return c;
}

Coordinator::Coordinator(CoordinatorConfig config, Universe universe, ExchangeClock exchange_clock)
    : config_(std::move(config)),
      universe_(std::move(universe)),
      exchange_(exchange_clock),
      newest_item_(universe_.series_count(), -1),
      leases_(config_.lease_timeout_ms, config_.durable_wait_ms),
      ledger_(config_.heartbeat_ms),
      backoff_(config_.retry_base_ms, config_.retry_max_ms, config_.max_failures),
      sync_(universe_.series_count()),
      ends_(universe_.series_count()),
      progress_(universe_.series_count(), std::max<int64_t>(60000, 6 * config_.progress_ms)) {}

void Coordinator::Start(int64_t now, Outbox* out) {
  started_ms_ = now;
  last_progress_ms_ = now;
  out->to_persister.push_back(wire::Hello{kSenderName});
  last_hello_ms_ = now;
  // The first passes; Tick starts the others as these end (status_window).
  const uint32_t first = std::min<uint32_t>(sync_.size(), std::max(1, config_.status_window));
  for (uint32_t s = 0; s < first; ++s) StartPass(s, now, out);
}

void Coordinator::StartPass(uint32_t s, int64_t now, Outbox* out) {
  SeriesSync& sync = sync_[s];
  if (!sync.after.empty() || sync.request_ids.empty()) {
    // A new pass: answers to the requests of the one before are stale now.
    sync.request_ids.clear();
    sync.after.clear();
    sync.pass_started_at = now;
    sync.pages = 0;
    sync.skipped = 0;
  }
  // Otherwise the first page is still awaited: a late answer to the earlier request is as good.
  AskPage(s, now, out);
}

void Coordinator::AskPage(uint32_t s, int64_t now, Outbox* out) {
  SeriesSync& sync = sync_[s];
  const uint64_t id = next_request_id_++;
  out->to_persister.push_back(wire::StatusRequest{
      id, universe_.endpoint_name(), universe_.symbol(s), universe_.interval(s), sync.after, 0});
  sync.request_ids.push_back(id);
  sync.requested_at = now;
}

void Coordinator::FailPass(uint32_t s, const std::string& why, int64_t now) {
  SeriesSync& sync = sync_[s];
  ++sync.errors;
  ++status_restarts_;
  sync.requested_at = now;
  sync.request_ids.clear();
  sync.after.clear();
  LogError("persister could not give the statuses of " + universe_.SeriesName(s) + ": " + why +
           "; asking again from the first page in " + FormatDuration(StatusRetryGap(sync)));
}

void Coordinator::EndSeries(uint32_t s, int64_t last_ms, int64_t now) {
  ends_[s] = SeriesEnd{now, last_ms};
  const int64_t dropped = universe_.TruncateAfter(s, last_ms);
  LogInfo("series " + universe_.SeriesName(s) + " ends at its last " +
          (universe_.endpoint().axis() == Endpoint::Axis::kId
               ? "item, id " + std::to_string(last_ms)
               : "candle " + FormatIsoUtc(last_ms)) +
          ": no longer extended or refreshed once complete" +
          (dropped ? " (" + std::to_string(dropped) + " slices after it dropped)" : ""));
}

void Coordinator::SetNewestItem(uint32_t s, int64_t newest_id) {
  if (s >= newest_item_.size() || newest_id <= newest_item_[s]) return;
  const int64_t was = newest_item_[s] + 1, is = newest_id + 1;  // AxisNow before and after
  newest_item_[s] = newest_id;
  // A partial tail waiting for its refresh that the new ids closed is fetched now: it can be
  // whole at last.
  const int64_t span = universe_.span_ms(s);
  for (int64_t i = std::max(universe_.first_index(s), was / span - 1);
       i < universe_.end_index(s) && i <= is / span; ++i) {
    const SliceRef r{s, i};
    const int64_t close = universe_.CloseTimeMs(r);
    if (was < close && is >= close && universe_.state(r) == SliceState::kDelayed &&
        universe_.status(r) == SliceStatus::kPartial) {
      universe_.set_state(r, SliceState::kIdle);
      Enqueue(r, /*front=*/false);
    }
  }
}

int64_t Coordinator::AxisNow(uint32_t s, int64_t now) const {
  if (universe_.endpoint().axis() == Endpoint::Axis::kTime) return exchange_.Now(now);
  return newest_item_[s] + 1;
}

void Coordinator::ReopenSeries(uint32_t s) {
  if (ends_[s].ended_at_ms < 0) return;
  ends_[s] = SeriesEnd{};
  LogInfo("series " + universe_.SeriesName(s) + " trades again: following the exchange clock");
}

void Coordinator::Enqueue(SliceRef r, bool front) {
  const SliceState st = universe_.state(r);
  if (st == SliceState::kLeased) return;            // the lease will settle it
  if (st == SliceState::kQueued && !front) return;  // already waiting
  universe_.set_state(r, SliceState::kQueued);
  if (front) {
    queue_.PushFront(r);
  } else {
    queue_.Push(r);
  }
}

void Coordinator::Delay(SliceRef r, int64_t due) {
  const SliceState st = universe_.state(r);
  if (st == SliceState::kQueued || st == SliceState::kLeased) return;
  universe_.set_state(r, SliceState::kDelayed);
  delayed_.Add(due, r);
}

void Coordinator::Requeue(const Lease& l, const char* why) {
  const bool recheck = recheck_jobs_.erase(l.job_id) > 0;
  if (!universe_.Contains(l.slice)) return;
  LogWarn(std::string("re-handing job ") + std::to_string(l.job_id) + " (" + why + ", fetcher " +
          ledger_.fetcher_id(l.fetcher) + ") key=" + universe_.Key(l.slice));
  universe_.set_state(l.slice, SliceState::kIdle);
  if (universe_.status(l.slice) == SliceStatus::kOk) {
    // A recheck whose lease was lost goes back to the head of its own queue.
    if (recheck && recheck_wanted_.insert(l.slice).second) recheck_queue_.push_front(l.slice);
    return;
  }
  ++jobs_rehanded_;
  Enqueue(l.slice, /*front=*/true);
}

void Coordinator::Plan(SliceRef r) {
  if (universe_.status(r) != SliceStatus::kOk) Enqueue(r, /*front=*/false);
}

int64_t Coordinator::PartialDelay(SliceRef r, int64_t now) const {
  const int64_t floor = std::min(kMinRefetchMs, config_.refresh_ms);
  const int64_t axis_now = AxisNow(r.series, now);
  const int64_t close = universe_.CloseTimeMs(r);
  int64_t d;
  if (axis_now >= close) {
    d = floor;
  } else if (universe_.endpoint().axis() == Endpoint::Axis::kId) {
    d = config_.refresh_ms;  // ids come at the market's pace: look again at the next refresh
  } else {
    d = std::min(config_.refresh_ms, close - axis_now + kCloseGraceMs);
  }
  return std::max(d, floor);
}

void Coordinator::OnFetcherMessage(const std::string& identity, const wire::Message& m, int64_t now,
                                   Outbox* /*out*/) {
  ledger_.OnSeen(identity, now);
  if (const auto* ready = std::get_if<wire::Ready>(&m)) {
    const bool known = ledger_.Known(identity);
    ledger_.OnReady(identity, ready->fetcher_id, ready->credits, now);
    LogInfo("fetcher " + ready->fetcher_id + (known ? " READY again" : " READY") +
            " credits=" + std::to_string(ready->credits));
  } else if (const auto* done = std::get_if<wire::JobDone>(&m)) {
    ledger_.OnJobDone(identity);
    const Lease* l = leases_.FindJob(done->job_id);
    if (l && universe_.Key(l->slice) != done->key) {
      LogWarn("JOB_DONE " + std::to_string(done->job_id) + " names key=" + done->key +
              " but the job was key=" + universe_.Key(l->slice) + "; ignored");
      return;
    }
    if (!leases_.MarkDone(done->job_id, done->outcome, now)) {
      LogDebug("JOB_DONE for job " + std::to_string(done->job_id) +
               " without a lease key=" + done->key);
    } else {
      LogDebug("JOB_DONE job " + std::to_string(done->job_id) + " outcome=" + done->outcome +
               " key=" + done->key);
    }
  } else if (const auto* ret = std::get_if<wire::JobReturn>(&m)) {
    // Job ids are ours and unique: a fetcher that reconnected (new identity) may return a job
    // it got on its previous connection.
    const Lease* l = leases_.FindJob(ret->job_id);
    if (!l) {
      LogDebug("JOB_RETURN of job " + std::to_string(ret->job_id) +
               " without a lease key=" + ret->key);
      return;
    }
    auto lease = leases_.ReleaseJob(ret->job_id);
    Requeue(*lease, "returned");
  } else if (const auto* hb = std::get_if<wire::Heartbeat>(&m)) {
    // Liveness (OnSeen above); a fetcher's counters come with some of its heartbeats.
    if (!hb->counters.empty() && !hb->sender.empty()) {
      if (fetcher_reports_.size() < 10000 || fetcher_reports_.count(hb->sender)) {
        fetcher_reports_[hb->sender] = FetcherReport{hb->counters, now};
      }
    }
  } else {
    LogWarn(std::string("dropped unexpected ") + std::string(wire::TypeName(wire::TypeOf(m))) +
            " on the jobs socket");
  }
}

void Coordinator::OnPersisterMessage(const wire::Message& m, int64_t now, Outbox* out) {
  if (const auto* d = std::get_if<wire::Durable>(&m)) {
    if (d->endpoint != universe_.endpoint_name()) return;
    for (const wire::SliceState& st : d->slices) {
      auto r = universe_.Find(st.key);
      if (!r) {
        LogDebug("DURABLE for a slice outside the range key=" + st.key);
        continue;
      }
      auto status = ParseSliceStatus(st.status);
      if (!status) {
        LogWarn("DURABLE with unknown status '" + st.status + "' key=" + st.key);
        continue;
      }
      ++durable_notices_;
      OnDurable(*r, *status, now);
    }
  } else if (const auto* reply = std::get_if<wire::StatusReply>(&m)) {
    OnStatusReply(*reply, now, out);
  } else if (const auto* p = std::get_if<wire::Pending>(&m)) {
    OnPending(*p, now);
  } else if (const auto* rc = std::get_if<wire::Recheck>(&m)) {
    OnRecheck(*rc);
  } else {
    LogWarn(std::string("dropped unexpected ") + std::string(wire::TypeName(wire::TypeOf(m))) +
            " on the control socket");
  }
}

void Coordinator::OnDurable(SliceRef r, SliceStatus status, int64_t now) {
  universe_.set_status(r, status);
  auto lease = leases_.ReleaseSlice(r);
  if (lease) {
    universe_.set_state(r, SliceState::kIdle);
    recheck_jobs_.erase(lease->job_id);
  }
  if (!sync_[r.series].ready) return;  // the snapshot will plan it
  const SliceState st = universe_.state(r);
  const std::string key = universe_.Key(r);
  switch (status) {
    case SliceStatus::kOk:
      backoff_.OnSuccess(r);
      // A queued or delayed entry goes stale and is skipped when it comes up.
      universe_.set_state(r, SliceState::kIdle);
      LogDebug("durable ok key=" + key);
      break;
    case SliceStatus::kPartial:
      backoff_.OnSuccess(r);
      if (lease && ends_[r.series].ended_at_ms >= 0 &&
          lease->handed_at_ms >= ends_[r.series].ended_at_ms) {
        // Fetched after the symbol's delisting: nothing more will ever come.
        LogDebug("durable partial of an ended series, final key=" + key);
        break;
      }
      if (st == SliceState::kIdle) Delay(r, now + PartialDelay(r, now));
      LogDebug("durable partial key=" + key);
      break;
    case SliceStatus::kFailed: {
      if (!lease && st != SliceState::kIdle) break;  // another attempt is already planned
      const int64_t delay = backoff_.OnFailure(r);
      const int n = backoff_.failures(r);
      if (backoff_.FailedForGood(r)) {
        LogError("slice failed for good after " + std::to_string(n) + " failed attempts key=" +
                 key + (config_.once ? "" : "; retrying in " + FormatDuration(delay)));
        if (config_.once) break;
      } else {
        LogWarn("durable failed (attempt " + std::to_string(n) + " of " +
                std::to_string(backoff_.max_failures()) + "), retrying in " +
                FormatDuration(delay) + " key=" + key);
      }
      Delay(r, now + delay);
      break;
    }
    case SliceStatus::kPending:
      Enqueue(r, /*front=*/false);
      break;
  }
}

void Coordinator::Reopen(SliceRef r) {
  ++slices_reopened_;
  universe_.set_status(r, SliceStatus::kPending);
  if (universe_.state(r) == SliceState::kLeased) return;  // its result replaces the damaged one
  backoff_.OnSuccess(r);                                  // a repaired slice starts afresh
  Enqueue(r, /*front=*/true);
}

void Coordinator::OnPending(const wire::Pending& p, int64_t /*now*/) {
  if (p.endpoint != universe_.endpoint_name()) return;
  std::map<uint32_t, int64_t> per_series;
  int64_t outside = 0;
  for (const std::string& key : p.keys) {
    auto r = universe_.Find(key);
    if (!r) {
      ++outside;
      continue;
    }
    // Not planned yet: the first STATUS_REPLY, made after this mark, will say pending.
    if (!sync_[r->series].ready) continue;
    Reopen(*r);
    ++per_series[r->series];
  }
  for (const auto& [s, n] : per_series) {
    LogInfo("persister: " + std::to_string(n) + " slice(s) of " + universe_.SeriesName(s) +
            " pending again (" + p.reason + "); fetching them again");
  }
  if (outside > 0) {
    LogDebug("PENDING named " + std::to_string(outside) + " slice(s) outside the range");
  }
}

void Coordinator::OnRecheck(const wire::Recheck& rc) {
  if (rc.endpoint != universe_.endpoint_name()) return;
  std::map<uint32_t, int64_t> per_series;
  int64_t skipped = 0;
  for (const std::string& key : rc.keys) {
    auto r = universe_.Find(key);
    // Only a slice held ok and not otherwise scheduled: anything else is fetched anyway, and
    // the persister compares whatever ok answer comes next.
    if (!r || !sync_[r->series].ready || universe_.status(*r) != SliceStatus::kOk ||
        universe_.state(*r) != SliceState::kIdle || !recheck_wanted_.insert(*r).second) {
      ++skipped;
      continue;
    }
    recheck_queue_.push_back(*r);
    ++per_series[r->series];
  }
  for (const auto& [s, n] : per_series) {
    LogInfo("persister: " + std::to_string(n) + " slice(s) of " + universe_.SeriesName(s) +
            " with holes to fetch once more to confirm them (after any other job)");
  }
  if (skipped > 0) {
    LogDebug("RECHECK named " + std::to_string(skipped) +
             " slice(s) outside the range, not ok here, or already scheduled");
  }
}

void Coordinator::Reconcile(uint32_t s, const wire::StatusReply& reply, int64_t now) {
  // The reply follows on the same pipe every notice sent before it, so it is the persister's
  // state at that point. Leased slices are left to their leases. A slice the reply does not name
  // keeps its status: the persister never forgets a stored slice (a mark or its recovery sets it
  // pending), and a fake or a fresh root that names nothing must not undo the run.
  std::vector<SliceRef> reopen;
  for (const wire::SliceState& st : reply.slices) {
    auto r = universe_.Find(st.key);
    auto status = ParseSliceStatus(st.status);
    if (!r || r->series != s || !status) continue;
    if (universe_.state(*r) == SliceState::kLeased) continue;
    const SliceStatus mine = universe_.status(*r);
    if (*status == mine) continue;
    if (*status == SliceStatus::kOk) {
      OnDurable(*r, SliceStatus::kOk, now);  // a notice we missed
    } else if (mine == SliceStatus::kOk) {
      reopen.push_back(*r);
    }
  }
  for (SliceRef r : reopen) Reopen(r);
  if (!reopen.empty()) {
    LogInfo("persister: " + std::to_string(reopen.size()) + " slice(s) of " +
            universe_.SeriesName(s) +
            " held ok here are pending or failed there; fetching them again");
  }
}

void Coordinator::OnStatusReply(const wire::StatusReply& reply, int64_t now, Outbox* out) {
  auto s = universe_.FindSeries(reply.symbol, reply.interval);
  if (reply.endpoint != universe_.endpoint_name() || !s) {
    LogWarn("STATUS_REPLY for an unknown series " + reply.symbol + "/" + reply.interval);
    return;
  }
  SeriesSync& sync = sync_[*s];
  const std::string name = universe_.SeriesName(*s);
  if (!sync.want_status || std::find(sync.request_ids.begin(), sync.request_ids.end(),
                                     reply.request_id) == sync.request_ids.end()) {
    LogDebug("STATUS_REPLY " + std::to_string(reply.request_id) + " for " + name +
             " answers no page awaited; ignored");
    return;
  }
  if (!reply.error.empty()) {
    FailPass(*s, reply.error, now);
    return;
  }
  // The persister's keys come in order: a page that says more must end after the last one.
  if (reply.more && (reply.slices.empty() || reply.slices.back().key <= sync.after)) {
    FailPass(*s, "a STATUS_REPLY page says more but does not get past key '" + sync.after + "'",
             now);
    return;
  }
  sync.request_ids.clear();
  last_status_reply_ms_ = now;
  ++sync.pages;
  ++status_pages_;
  if (!sync.ready) {
    // Not planned yet: the statuses are taken as they come; DURABLE notices between pages
    // (OnDurable) are newer than the pages before them and older than the pages after them.
    int64_t skipped = 0;
    universe_.ApplyStatuses(*s, reply.slices, &skipped);
    sync.skipped += skipped;
  } else {
    // A refresh (--resync-ms, or after the persister came back): settle the jobs that await a
    // DURABLE notice the persister may have sent while we were not subscribed.
    for (const wire::SliceState& st : reply.slices) {
      auto r = universe_.Find(st.key);
      auto status = ParseSliceStatus(st.status);
      if (!r || r->series != *s || !status) continue;
      const Lease* l = leases_.FindSlice(*r);
      if (!l || l->done_at_ms < 0) continue;
      OnDurable(*r, *status, now);
    }
    Reconcile(*s, reply, now);
  }
  if (reply.more) {
    sync.after = reply.slices.back().key;
    AskPage(*s, now, out);
    return;
  }
  EndPass(*s, now);
}

void Coordinator::EndPass(uint32_t s, int64_t now) {
  SeriesSync& sync = sync_[s];
  const std::string name = universe_.SeriesName(s);
  // The retry gap stays doubled until a whole pass is in: a persister slow to answer one page
  // (still answering the repeated first pages of a long load) is slow for the next one too.
  sync.errors = 0;
  sync.want_status = false;
  sync.synced_at = now;
  sync.after.clear();
  const std::string pages =
      sync.pages > 1 ? " (" + std::to_string(sync.pages) + " pages)" : std::string();
  if (!sync.ready) {
    sync.ready = true;
    for (int64_t i = universe_.first_index(s); i < universe_.end_index(s); ++i) Plan({s, i});
    const SeriesCounts& c = universe_.counts(s);
    LogInfo(
        "statuses of " + name + pages + ": " + std::to_string(c.total()) +
        " slices, ok=" + std::to_string(c.ok) + " partial=" + std::to_string(c.partial) +
        " failed=" + std::to_string(c.failed) + " missing=" + std::to_string(c.pending) +
        (sync.skipped ? " (" + std::to_string(sync.skipped) + " entries outside the range)" : ""));
    progress_.OnSnapshot(s, now, Done(s));
  } else {
    // Done jobs the persister does not know, and whose wait for DURABLE ran out or whose
    // result went to a persister that has since gone away: their results were lost; hand them
    // out again. Only jobs done before the pass began count: a page may be older than a later
    // JOB_DONE. Any other done job is left to its own wait: its result may still be queued at
    // the persister, which answers the control socket without draining the results socket
    // first (two sockets, no order between them). Re-handing those too made every expired
    // lease re-hand every fresh one of its series: a persister that fell behind was sent the
    // same slices again and again (issue #7, persister kill storm). A job the pages named was
    // settled by them (no longer leased, or leased again since).
    std::vector<Lease> lost;
    for (int64_t i = universe_.first_index(s); i < universe_.end_index(s); ++i) {
      const SliceRef r{s, i};
      if (universe_.state(r) != SliceState::kLeased) continue;
      const Lease* l = leases_.FindSlice(r);
      if (l && l->done_at_ms >= 0 && l->done_at_ms <= sync.pass_started_at &&
          (l->status_checked || sync.pass_started_at - l->done_at_ms >= config_.durable_wait_ms ||
           l->done_at_ms < persister_lost_at_ms_)) {
        lost.push_back(*leases_.ReleaseSlice(r));
      }
    }
    for (const Lease& l : lost) Requeue(l, "result unknown to the restarted persister");
    if (sync.pages > 1) LogDebug("statuses of " + name + " asked again" + pages);
  }
  if (sync.again) {
    // Asked again while the pass ran: its first pages may be older than that.
    sync.again = false;
    AskStatusAgain(s);
  }
}

void Coordinator::OnPersisterConnected(int64_t now, bool reconnect, Outbox* out) {
  // Subscribe at once rather than at the next heartbeat.
  out->to_persister.push_back(wire::Hello{kSenderName});
  last_hello_ms_ = now;
  if (!reconnect) return;
  // Requests sent to the persister that went away are lost with it: ask again now.
  for (SeriesSync& sync : sync_) {
    if (!sync.want_status || sync.request_ids.empty()) continue;
    sync.request_ids.clear();
    sync.after.clear();
    sync.errors = 0;
    sync.requested_at = -1;
  }
  const std::vector<uint32_t> series = leases_.SeriesAwaitingDurable();
  if (series.empty()) {
    LogInfo("persister connection back; no job awaits DURABLE, statuses not asked again");
    return;
  }
  for (uint32_t s : series) AskStatusAgain(s);
  LogInfo("persister connection back; asking again the statuses of " +
          std::to_string(series.size()) + " series with jobs awaiting DURABLE");
}

int64_t Coordinator::StatusRetryGap(const SeriesSync& sync) const {
  return config_.status_retry_ms << std::min(sync.errors, 5);
}

void Coordinator::AskStatusAgain(uint32_t s) {
  SeriesSync& sync = sync_[s];
  if (sync.want_status) {
    // A pass under way may have pages older than this: another one follows it. (None under
    // way: the next one starts afresh anyway.)
    if (!sync.request_ids.empty()) sync.again = true;
    return;
  }
  sync.want_status = true;
  sync.requested_at = -1;  // ask at the next Tick
}

void Coordinator::OnPersisterSendFailed(const wire::Message& m) {
  // Not connected (ZMQ_IMMEDIATE; also right after the connect event, before the handshake):
  // ask again as soon as a Tick finds the persister connected. A lost HELLO is simply repeated
  // at the next heartbeat, and Tick sends one before every STATUS_REQUEST.
  if (const auto* req = std::get_if<wire::StatusRequest>(&m)) {
    auto s = universe_.FindSeries(req->symbol, req->interval);
    if (!s) return;
    SeriesSync& sync = sync_[*s];
    auto it = std::find(sync.request_ids.begin(), sync.request_ids.end(), req->request_id);
    if (it == sync.request_ids.end()) return;
    sync.request_ids.erase(it);
    // A page after the first: the pass starts again (the persister may be another one by then).
    if (!sync.after.empty()) {
      sync.request_ids.clear();
      sync.after.clear();
    }
    sync.requested_at = -1;
  }
}

void Coordinator::OnFetcherUnreachable(const std::string& identity, int64_t /*now*/) {
  const std::string id = ledger_.fetcher_id(identity);
  ledger_.Remove(identity);
  for (const Lease& l : leases_.TakeFetcher(identity)) Requeue(l, "fetcher unreachable");
  LogWarn("fetcher " + id + " unreachable; forgotten");
}

void Coordinator::OnJobNotSent(const std::string& identity, uint64_t job_id, int64_t /*now*/) {
  ledger_.ZeroCredits(identity);
  if (auto l = leases_.ReleaseJob(job_id)) Requeue(*l, "could not be sent");
}

void Coordinator::Tick(int64_t now, Outbox* out) {
  const int64_t exch_now = exchange_.Now(now);
  if (now - last_hello_ms_ >= config_.heartbeat_ms) {
    out->to_persister.push_back(wire::Hello{kSenderName});
    last_hello_ms_ = now;
  }
  for (const std::string& identity : ledger_.TakeDead(now)) {
    LogWarn("fetcher silent for 3 heartbeats, counted dead (identity " +
            std::to_string(identity.size()) + " bytes)");
    for (const Lease& l : leases_.TakeFetcher(identity)) Requeue(l, "fetcher dead");
  }
  for (Lease& l : leases_.TakeExpired(now)) {
    if (l.done_at_ms >= 0 && !l.status_checked && sync_[l.slice.series].ready) {
      // Ask before fetching again: the notice, not the result, may be what was lost.
      if (!sync_[l.slice.series].want_status) {
        LogInfo("no DURABLE after JOB_DONE (e.g. key=" + universe_.Key(l.slice) +
                "); asking the persister for the statuses of " +
                universe_.SeriesName(l.slice.series));
      }
      AskStatusAgain(l.slice.series);
      l.status_checked = true;
      l.done_at_ms = now;
      leases_.Add(std::move(l));
      continue;
    }
    Requeue(l, l.done_at_ms >= 0 ? "no DURABLE after JOB_DONE" : "lease timed out");
  }
  if (config_.resync_ms > 0) {
    for (uint32_t s = 0; s < sync_.size(); ++s) {
      const SeriesSync& sync = sync_[s];
      if (sync.ready && !sync.want_status && now - sync.synced_at >= config_.resync_ms) {
        LogDebug("asking the statuses of " + universe_.SeriesName(s) + " again (--resync-ms)");
        AskStatusAgain(s);
      }
    }
  }
  // After the expiries and resyncs above, which may want statuses asked.
  int in_flight = 0;
  for (const SeriesSync& sync : sync_) in_flight += sync.want_status && !sync.request_ids.empty();
  for (uint32_t s = 0; s < sync_.size(); ++s) {
    SeriesSync& sync = sync_[s];
    if (!sync.want_status) continue;
    if (sync.request_ids.empty()) {
      // A pass to start (or start again): within the window.
      if (in_flight >= std::max(1, config_.status_window)) continue;
      ++in_flight;
    }
    // An unanswered request's silence is counted from the later of the request and the
    // persister's last answer: one that keeps answering (in order) is working through what was
    // asked before it. A pass that failed waits its gap from the failure.
    const int64_t since = sync.request_ids.empty()
                              ? sync.requested_at
                              : std::max(sync.requested_at, last_status_reply_ms_);
    if (sync.requested_at >= 0 && now - since < StatusRetryGap(sync)) continue;
    if (sync.requested_at >= 0 && !sync.request_ids.empty()) {
      // Lost, or the persister is slow (loading a large series answers nothing meanwhile): the
      // gap doubles, as after an error, so that a slow persister does not pile up requests.
      ++sync.errors;
      ++status_restarts_;
      LogInfo("no STATUS_REPLY for " + universe_.SeriesName(s) + " yet" +
              (sync.after.empty() ? "" : " (the page after key=" + sync.after + ")") +
              "; asking the persister again, from the first page (next in " +
              FormatDuration(StatusRetryGap(sync)) + " if no answer)");
    }
    if (last_hello_ms_ != now) {
      // Subscribed before the snapshot, on the same pipe, so no notice falls between them.
      out->to_persister.push_back(wire::Hello{kSenderName});
      last_hello_ms_ = now;
    }
    StartPass(s, now, out);
  }
  for (SliceRef r : delayed_.PopDue(now)) {
    if (!universe_.Contains(r)) continue;                      // dropped (an ended series)
    if (universe_.state(r) != SliceState::kDelayed) continue;  // stale entry
    universe_.set_state(r, SliceState::kIdle);
    Enqueue(r, /*front=*/false);
  }
  if (!config_.once) {
    const bool ids = universe_.endpoint().axis() == Endpoint::Axis::kId;
    const int64_t target = config_.end_ms ? std::min(*config_.end_ms, exch_now) : exch_now;
    for (uint32_t s = 0; s < sync_.size(); ++s) {
      if (ends_[s].ended_at_ms >= 0) continue;  // delisted: no candle will come
      // An id series with --end was cut at the id of that time when it was built.
      if (ids && (config_.end_ms || newest_item_[s] < 0)) continue;
      auto [first_new, added] = universe_.ExtendTo(s, ids ? newest_item_[s] : target);
      if (added == 0) continue;
      LogDebug("range of " + universe_.SeriesName(s) + " grew by " + std::to_string(added) +
               " slices");
      if (!sync_[s].ready) continue;
      for (int64_t i = first_new; i < first_new + added; ++i) Plan({s, i});
    }
  }
  for (const std::string& identity : ledger_.DueHeartbeat(now)) {
    out->to_fetchers.emplace_back(identity, wire::Heartbeat{kSenderName});
    ledger_.OnSent(identity, now);
  }
  if (now - last_progress_ms_ >= config_.progress_ms) {
    last_progress_ms_ = now;
    for (const std::string& line : ProgressLines(now)) LogInfo(line);
  }
}

void Coordinator::Dispatch(int64_t now, Outbox* out) {
  while (!queue_.empty() && ledger_.AnyCredit()) {
    const SliceRef r = *queue_.Pop();
    if (!universe_.Contains(r)) continue;                     // dropped (an ended series)
    if (universe_.state(r) != SliceState::kQueued) continue;  // stale entry
    if (universe_.status(r) == SliceStatus::kOk) {
      universe_.set_state(r, SliceState::kIdle);
      continue;
    }
    Hand(r, now, out);
  }
  // Rechecks only once nothing else waits.
  while (queue_.empty() && !recheck_queue_.empty() && ledger_.AnyCredit()) {
    const SliceRef r = recheck_queue_.front();
    recheck_queue_.pop_front();
    recheck_wanted_.erase(r);
    if (!universe_.Contains(r) || universe_.status(r) != SliceStatus::kOk ||
        universe_.state(r) != SliceState::kIdle) {
      continue;  // no longer ok here, or scheduled otherwise meanwhile
    }
    recheck_jobs_.insert(Hand(r, now, out));
    ++rechecks_handed_;
  }
}

uint64_t Coordinator::Hand(SliceRef r, int64_t now, Outbox* out) {
  const std::string identity = *ledger_.TakeCredit();
  const uint64_t job_id = next_job_id_++;
  leases_.Add(Lease{job_id, r, identity, now, -1, {}});
  universe_.set_state(r, SliceState::kLeased);
  wire::Job job{job_id, universe_.endpoint_name(), universe_.Key(r), weight_limit_,
                weight_window_ms_};
  LogDebug("job " + std::to_string(job_id) + " to fetcher " + ledger_.fetcher_id(identity) +
           " key=" + job.key);
  if (jobs_handed_ == 0) {
    LogInfo("first job handed " + FormatDuration(now - started_ms_) +
            " after the statuses were first asked key=" + job.key);
  }
  out->to_fetchers.emplace_back(identity, std::move(job));
  ledger_.OnSent(identity, now);
  ++jobs_handed_;
  return job_id;
}

int64_t Coordinator::NextWakeMs(int64_t now) const {
  int64_t next = std::min(now + config_.heartbeat_ms, last_hello_ms_ + config_.heartbeat_ms);
  if (auto d = delayed_.NextDue()) next = std::min(next, *d);
  if (auto d = leases_.NextExpiry()) next = std::min(next, *d);
  if (auto d = ledger_.NextDeadline()) next = std::min(next, *d);
  next = std::min(next, last_progress_ms_ + config_.progress_ms);
  return std::clamp<int64_t>(next - now, 0, config_.heartbeat_ms);
}

std::optional<int> Coordinator::Finished(int64_t now) {
  if (!config_.once) return std::nullopt;
  std::vector<bool> ready(sync_.size());
  for (size_t s = 0; s < sync_.size(); ++s) ready[s] = sync_[s].ready;
  std::vector<int64_t> axis_now(sync_.size());
  for (uint32_t s = 0; s < sync_.size(); ++s) axis_now[s] = AxisNow(s, now);
  Completion c = CheckCompletion(universe_, ready, backoff_, axis_now);
  if (!c.complete) return std::nullopt;
  if (!recheck_queue_.empty() || !recheck_jobs_.empty()) return std::nullopt;
  // Notices that follow a reply on the same pipe (RECHECK) are waited for one heartbeat.
  if (last_status_reply_ms_ >= 0 && now - last_status_reply_ms_ < config_.heartbeat_ms) {
    return std::nullopt;
  }
  failed_for_good_ = std::move(c.failed_for_good);
  return failed_for_good_.empty() ? 0 : 2;
}

std::vector<std::string> Coordinator::ProgressLines(int64_t now) {
  std::vector<SeriesProgress> series(sync_.size());
  for (uint32_t s = 0; s < sync_.size(); ++s) {
    series[s] = {universe_.SeriesName(s),
                 sync_[s].ready,
                 Done(s),
                 universe_.counts(s).total(),
                 universe_.counts(s).failed,
                 static_cast<int64_t>(leases_.CountSeries(s))};
  }
  return progress_.Lines(now, series);
}

std::vector<std::string> Coordinator::SummaryLines(int64_t now) const {
  std::vector<std::string> lines;
  for (uint32_t s = 0; s < sync_.size(); ++s) {
    const SeriesCounts& c = universe_.counts(s);
    lines.push_back("summary " + universe_.SeriesName(s) + " slices=" + std::to_string(c.total()) +
                    " ok=" + std::to_string(c.ok) + " partial=" + std::to_string(c.partial) +
                    " failed=" + std::to_string(c.failed) +
                    " missing=" + std::to_string(c.pending));
  }
  lines.push_back("summary jobs handed=" + std::to_string(jobs_handed_) +
                  " re-handed=" + std::to_string(jobs_rehanded_) +
                  " durable notices=" + std::to_string(durable_notices_) +
                  " failed for good=" + std::to_string(failed_for_good_.size()) +
                  " elapsed=" + FormatDuration(now - started_ms_));
  return lines;
}

Counters Coordinator::StatsCounters() const {
  Counters c;
  SeriesCounts all;
  for (uint32_t s = 0; s < universe_.series_count(); ++s) {
    const SeriesCounts& sc = universe_.counts(s);
    all.pending += sc.pending;
    all.ok += sc.ok;
    all.partial += sc.partial;
    all.failed += sc.failed;
  }
  c["series"] = static_cast<int64_t>(universe_.series_count());
  c["slices_total"] = all.total();
  c["slices_ok"] = all.ok;
  c["slices_partial"] = all.partial;
  c["slices_failed"] = all.failed;
  c["slices_missing"] = all.pending;
  c["queued"] = static_cast<int64_t>(queue_.size());
  c["delayed"] = static_cast<int64_t>(delayed_.size());
  c["leased"] = static_cast<int64_t>(leases_.size());
  c["fetchers"] = static_cast<int64_t>(ledger_.size());
  c["jobs_handed"] = static_cast<int64_t>(jobs_handed_);
  c["jobs_rehanded"] = static_cast<int64_t>(jobs_rehanded_);
  c["durable_notices"] = static_cast<int64_t>(durable_notices_);
  c["status_pages"] = static_cast<int64_t>(status_pages_);
  c["status_restarts"] = static_cast<int64_t>(status_restarts_);
  c["slices_reopened"] = static_cast<int64_t>(slices_reopened_);
  c["rechecks_waiting"] = static_cast<int64_t>(recheck_queue_.size());
  c["rechecks_in_flight"] = static_cast<int64_t>(recheck_jobs_.size());
  c["rechecks_handed"] = static_cast<int64_t>(rechecks_handed_);
  c["failed_for_good"] = static_cast<int64_t>(failed_for_good_.size());
  return c;
}

nlohmann::json Coordinator::FetcherStats(int64_t now, int64_t wall_now) const {
  constexpr int64_t kForgetMs = 3600 * 1000;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [id, report] : fetcher_reports_) {
    if (now - report.seen_ms > kForgetMs) continue;
    out[id] = {{"seen_at", FormatIsoUtc(wall_now - (now - report.seen_ms))},
               {"seen_ago_ms", now - report.seen_ms},
               {"counters", report.counters}};
  }
  return out;
}

}  // namespace qlir::planner
