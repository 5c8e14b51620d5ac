// Wire messages between planner, fetchers and persister: msgpack, one message per ZeroMQ frame,
// each [type, version, payload]. The protocol is described in docs/protocol.md.
// Decoding never throws: a malformed, truncated, oversized or unknown message is an error value.
#pragma once

#include <cstdint>
#include <map>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"

namespace qlir::wire {

inline constexpr uint32_t kProtocolVersion = 1;
// Largest frame any socket accepts (ZMQ_MAXMSGSIZE): a 1000-candle body is ~200 KB.
inline constexpr int64_t kMaxMessageBytes = 16 * 1024 * 1024;

enum class Type : uint32_t {
  kReady = 1,      // fetcher -> planner: I have `credits` more free transfer slots
  kHeartbeat = 2,  // any direction: I am alive
  kJob = 3,        // planner -> fetcher: fetch this slice
  kJobDone = 4,    // fetcher -> planner: finished a job (result sent to persister), one credit back
  kJobReturn = 5,  // fetcher -> planner: giving a job back unfetched (shutting down)
  kFetchResult = 6,    // fetcher -> persister: the outcome of one fetch
  kHello = 7,          // planner -> persister: subscribe me to durable notices
  kDurable = 8,        // persister -> planner: these slices are durable with this status
  kStatusRequest = 9,  // planner/tool -> persister: known statuses of one series
  kStatusReply = 10,   // persister -> planner/tool
  kMarkPending = 11,   // tool -> persister: mark these slices pending (verify --repair)
  kAck = 12,           // persister -> tool: reply to kMarkPending
  kPending = 13,       // persister -> subscribers: these slices are pending again (repair)
  kRecheck = 14,       // persister -> subscribers: fetch these ok slices with holes once more
};

struct Ready {
  std::string fetcher_id;
  uint32_t credits = 0;
  MSGPACK_DEFINE(fetcher_id, credits)
};

struct Heartbeat {
  std::string sender;
  // A fetcher's counters (jobs, retries, 429s, bytes, ...), sent every few seconds so that the
  // planner's stats file shows remote fetchers too. Empty from the planner. A HEARTBEAT from an
  // older peer without this field decodes with it empty.
  std::map<std::string, int64_t> counters;
  MSGPACK_DEFINE(sender, counters)
};

struct Job {
  uint64_t job_id = 0;
  std::string endpoint;  // "klines"
  std::string key;       // composite key
  // The exchange's request-weight limit per window as the planner learned it (exchangeInfo
  // rateLimits REQUEST_WEIGHT); the fetcher's limiter uses it. 0: not known (a JOB from an older
  // planner, which decodes with both 0).
  int64_t weight_limit = 0;
  int64_t weight_window_ms = 0;
  MSGPACK_DEFINE(job_id, endpoint, key, weight_limit, weight_window_ms)
};

// outcome values used by JobDone, FetchResult, Durable and StatusReply: SliceStatus names
// ("ok", "partial", "failed", "pending").
struct JobDone {
  uint64_t job_id = 0;
  std::string key;
  std::string outcome;
  MSGPACK_DEFINE(job_id, key, outcome)
};

struct JobReturn {
  uint64_t job_id = 0;
  std::string key;
  MSGPACK_DEFINE(job_id, key)
};

struct FetchResult {
  std::string endpoint;  // "klines"
  std::string key;       // composite key
  std::string url;
  int32_t http_status = 0;      // 0 when no HTTP answer (network error)
  int64_t requested_at_ms = 0;  // local clock
  int64_t completed_at_ms = 0;  // local clock
  int64_t server_time_ms = 0;   // the exchange's clock at completion (Date header / time)
  std::string outcome;          // "ok", "partial" or "failed"
  std::string body;             // raw body when ok/partial
  std::string error;            // error text when failed
  int64_t n_items = 0;
  int64_t first_ts = -1;  // -1: none
  int64_t last_ts = -1;
  uint32_t attempts = 0;
  MSGPACK_DEFINE(endpoint, key, url, http_status, requested_at_ms, completed_at_ms, server_time_ms,
                 outcome, body, error, n_items, first_ts, last_ts, attempts)
};

struct Hello {
  std::string sender;
  MSGPACK_DEFINE(sender)
};

struct SliceState {
  std::string key;
  std::string status;
  MSGPACK_DEFINE(key, status)
};

struct Durable {
  std::string endpoint;
  std::vector<SliceState> slices;
  MSGPACK_DEFINE(endpoint, slices)
};

// Statuses come a page at a time (docs/protocol.md, STATUS_REQUEST): the slices of the series
// in composite-key order strictly after `after` ("" = from the start), at most `max` of them
// (0 = the persister's page size). A STATUS_REQUEST from an older peer, without the two fields,
// decodes as the first page of the persister's size.
struct StatusRequest {
  uint64_t request_id = 0;
  std::string endpoint;
  std::string symbol;
  std::string interval;
  std::string after;
  uint64_t max = 0;
  MSGPACK_DEFINE(request_id, endpoint, symbol, interval, after, max)
};

struct StatusReply {
  uint64_t request_id = 0;
  std::string endpoint;
  std::string symbol;
  std::string interval;
  std::string error;               // non-empty when the persister could not answer
  std::vector<SliceState> slices;  // in key order
  // More slices follow the last one of this page: ask again with `after` = its key. A reply from
  // an older persister, without the field, decodes as the last page.
  bool more = false;
  MSGPACK_DEFINE(request_id, endpoint, symbol, interval, error, slices, more)
};

struct MarkPending {
  uint64_t request_id = 0;
  std::string endpoint;
  std::vector<std::string> keys;
  MSGPACK_DEFINE(request_id, endpoint, keys)
};

struct Ack {
  uint64_t request_id = 0;
  std::string error;  // empty on success
  uint64_t count = 0;
  MSGPACK_DEFINE(request_id, error, count)
};

// Slices the persister set pending again, by MARK_PENDING (verify --repair) or by its own recovery
// (a response file missing or damaged): a subscribed planner fetches them again. `reason` is one
// line for the log.
struct Pending {
  std::string endpoint;
  std::vector<std::string> keys;
  std::string reason;
  MSGPACK_DEFINE(endpoint, keys, reason)
};

// Stored ok slices with holes (candles missing inside their window, common/holes.h) that the
// persister wants fetched once more, to tell the exchange's own gaps from a damaged download: a
// subscribed planner hands them out as ordinary jobs, behind new work. The persister compares
// the second answer with the stored one (docs/protocol.md, RECHECK).
struct Recheck {
  std::string endpoint;
  std::vector<std::string> keys;
  MSGPACK_DEFINE(endpoint, keys)
};

using Message = std::variant<Ready, Heartbeat, Job, JobDone, JobReturn, FetchResult, Hello, Durable,
                             StatusRequest, StatusReply, MarkPending, Ack, Pending, Recheck>;

Type TypeOf(const Message& m);
std::string_view TypeName(Type t);

std::string Encode(const Message& m);
Result<Message> Decode(std::string_view bytes);

}  // namespace qlir::wire
