// Validation and audit of a GET /api/v3/aggTrades answer against the id range it was asked for
// (docs/exchange-rules.md, "Aggregate trades"). The body is stored verbatim; these only read.
// Never throw; errors name the row, field and byte offset at fault.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/endpoint.h"
#include "common/slice_key.h"
#include "common/status.h"

namespace qlir::aggtrades {

// One row of an answer: {"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,
// "T":1498793709153,"m":true,"M":true}.
struct AggTrade {
  int64_t id = 0;                 // a: the aggregate trade id
  std::string price;              // p: a plain decimal, as sent
  std::string quantity;           // q: a plain decimal, as sent
  int64_t first_trade = 0;        // f: first underlying trade id (-1 on an invalidated row)
  int64_t last_trade = 0;         // l: last underlying trade id (-1 on an invalidated row)
  int64_t time_ms = 0;            // T
  bool buyer_maker = false;       // m
  bool best_price_match = false;  // M
  // A row the exchange invalidated (spot CHANGELOG 2022-04-12: duplicates found by an audit):
  // f = l = -1, p = q = 0. It keeps its id and counts as present, but is no trade.
  bool invalidated() const { return first_trade == -1 && last_trade == -1; }
};

// Checks that `body` is what the exchange sends for `key` (ids key.start_ms..key.end_ms):
//  - a JSON array of at most key.limit objects;
//  - each with "a", "f", "l", "T" (JSON integers: no fraction or exponent), "p" and "q" (strings
//    holding a plain decimal -?digits(.digits)?) and "m", "M" (booleans), each once; other
//    fields are allowed and ignored;
//  - a >= 0, T >= 0; f and l both >= 0, or both -1 (an invalidated row);
//  - ids strictly contiguous ascending (each the previous + 1) and inside [start, end]. The
//    first id is normally `start` (fromId = start asks for ids >= start); a first id above it is
//    accepted: the exchange has no smaller id at or after `start`, which happens only below the
//    series' first trade (AuditAggTradesPayload counts it as irregular).
// An empty array is a valid answer (no trade with an id >= start yet). first_ts and last_ts of
// the summary are the first and last ids (the id axis), -1 when empty.
Result<PayloadSummary> ValidateAggTradesPayload(std::string_view body, const SliceKey& key);

// The same check with nlohmann's SAX parser alone, never the fast scanner of payload.cc: the
// reference the tests hold the scanner to.
Result<PayloadSummary> ValidateAggTradesPayloadByLibrary(std::string_view body,
                                                         const SliceKey& key);

// As ValidateAggTradesPayload, and the rows themselves (for qlir-status reconcile).
Result<std::vector<AggTrade>> ParseAggTradesPayload(std::string_view body, const SliceKey& key);

// Every row checked for sense (qlir-status verify): the rules above, and on valid rows
// p > 0, q > 0, l >= f; on invalidated rows p = q = 0; trade times T not decreasing over the
// valid rows; each valid row's f the previous valid row's l + 1 when no invalidated row lies
// between them. Across invalidated rows the underlying trade ids are not checked: which trade
// ids an invalidated duplicate covered is not known. Irregular (served, but not the rule): a
// first id above the window's start, and a break in the f/l chain between adjacent valid rows.
PayloadAudit AuditAggTradesPayload(std::string_view body, const SliceKey& key);

// A stored body without a slice (recovery of a file the manifest lacks): a JSON array; n_items is
// its length, first_ts and last_ts the "a" of its first and last rows (-1 when absent).
Result<PayloadSummary> SummarizeAggTradesData(std::string_view raw_data);

// The "a" of the first row of an answer (an edge lookup: FirstItemUrl, LastItemUrl,
// ItemAtTimeUrl); nullopt for an empty array.
Result<std::optional<int64_t>> FirstAggTradeId(std::string_view body);

}  // namespace qlir::aggtrades
