// The planner process around the Coordinator: asks the exchange which symbols exist, its clock
// and the listing starts (exchange_info.h), builds the universe, binds the jobs ROUTER, connects
// the control DEALER to the persister, and moves messages between the sockets and the
// Coordinator. Socket code only; the decisions are in coordinator.h. Protocol: docs/protocol.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/status.h"
#include "common/clock.h"
#include "planner/options.h"
#include "planner/universe.h"

namespace qlir::planner {

// The universe of `symbols` x o.intervals: from o.start_ms or the listing (first candle, one
// cheap klines request per series; a series with no candle yet starts at now) to
// min(o.end_ms, exchange_now). A series whose listing comes after --end is skipped with a
// warning. Errors name the series or the URL.
Result<Universe> BuildUniverse(const Options& o, HttpClient& http,
                               const std::vector<std::string>& symbols, int64_t exchange_now);

// Runs the planner until
//   - with --once, every slice is done (completion.h): returns 0, or 2 when some slices failed
//     for good (each is logged as an error, key included);
//   - `stop_fd` (main: the signalfd of common/signals.h; -1 for none) becomes readable: 0;
//   - a fatal error: the Status (bad endpoint, exchange unreachable at start, no known symbol).
// An unknown symbol is logged as an error naming it and the others proceed.
Result<int> RunPlanner(const Options& o, HttpClient& http, Clock& clock, int stop_fd);

}  // namespace qlir::planner
