// The planner process around the Coordinator: asks the exchange which symbols exist, its clock
// and the listing starts (exchange_info.h), builds the universe, binds the jobs ROUTER, connects
// the control DEALER to the persister, and moves messages between the sockets and the
// Coordinator. Socket code only; the decisions are in coordinator.h. Protocol: docs/protocol.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/status.h"
#include "planner/options.h"
#include "planner/universe.h"

namespace qlir::planner {

// What the planner learned of one series before planning it: its first candle (nullopt: none
// yet), and for a symbol that is not trading (delisted: status BREAK) its last candle.
// What the start-up learned of a series, on its endpoint's axis (Endpoint::Axis): times for
// klines and fundingRate, item ids for aggTrades.
struct SeriesEdges {
  std::string symbol;
  std::string interval;
  std::optional<int64_t> first;  // the first item (listing)
  // A delisted symbol's last item; on the id axis always the newest id (the series' "now").
  std::optional<int64_t> last;
  bool delisted = false;
  bool skip = false;  // the exchange refused the listing request for good (logged)
  // Id axis only: --start and --end as ids (the first item at or after --start, nullopt when
  // there is none yet; the last item at or before --end).
  std::optional<int64_t> start_at;
  std::optional<int64_t> end_at;
};

// The universe of the series: from the first candle (--start listing), or from o.start_ms
// clamped to the first candle (logged once per series), to min(o.end_ms, exchange_now), or to
// the last candle of a delisted symbol. A series with no candle yet starts at now; one with
// nothing in the range is skipped with a warning. Errors name the series.
Result<Universe> BuildUniverse(const Options& o, const std::vector<SeriesEdges>& series,
                               int64_t exchange_now);

// Runs the planner. Its sockets are up from the start; the start-up requests (exchangeInfo,
// time, each series' first candle) go through ExchangeClient, off the socket thread, retrying
// transient failures for ever (with --once: for --give-up-after-ms). Returns the exit code of
// common/exit_codes.h:
//   0  --once with every slice done, or stopped by SIGTERM/SIGINT while running for ever;
//   2  --once done with slices failed for good (each logged, key included), or unknown symbols
//      skipped (each logged);
//   3  stopped (SIGTERM/SIGINT, `stop_fd`, the signalfd of common/signals.h, readable) before a
//   --once run was complete; 64 bad usage: an unknown endpoint, no known symbol, --start after the
//   exchange's now; 69 a socket that cannot be bound or connected, a request the exchange refuses
//   for good
//      (a 4xx other than 408/429/418, e.g. a wrong --base-url), nothing to fetch in the range;
//   75 --once and the exchange still failing after --give-up-after-ms.
// An error Status only for an unexpected ZeroMQ failure (exit 1).
Result<int> RunPlanner(const Options& o, HttpClient& http, Clock& clock, int stop_fd);

}  // namespace qlir::planner
