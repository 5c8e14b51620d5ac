// Fault injection for the exchange simulator: which request fails how, reproducibly.
//
// A decision is a pure function of (seed, request key, attempt number): the request key is the
// endpoint plus its query text, and the attempt number counts earlier requests with the same key
// since the last reset. So a run with the same seed and the same requests sees the same faults,
// whatever order concurrent fetchers' requests arrive in. See README.md for the fault kinds.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qlir::sim {

enum class FaultKind {
  kNone,
  kServerError,  // 502 or 503 with an HTML body, as a CDN in front of the exchange sends
  kTimeout,      // 504 with {"code":-1007,...}
  kTruncated,    // full Content-Length declared, connection closed after part of the body
  kMalformed,    // status 200, body that is not valid JSON
  kHtml,         // status 200, an HTML page
  kReset,        // TCP reset, no response at all
  kHang,         // no response for hang_ms, then the connection is closed
};

// "server_error", "timeout", "truncated", "malformed", "html", "reset", "hang" ("none").
std::string_view FaultName(FaultKind kind);

// Endpoint names that faults may apply to.
inline constexpr std::string_view kEndpointNames[] = {"ping",   "time",      "exchangeInfo",
                                                      "klines", "aggTrades", "fundingRate"};

struct FaultConfig {
  // Probability of each kind per request on a faulty endpoint; their sum must be <= 1.
  double server_error = 0;
  double timeout = 0;
  double truncated = 0;
  double malformed = 0;
  double html = 0;
  double reset = 0;
  double hang = 0;
  int64_t latency_ms = 0;  // added to every request on a faulty endpoint
  int64_t jitter_ms = 0;   // plus a uniform 0..jitter_ms
  int64_t hang_ms = 30'000;
  // The status of kServerError: 0 picks 502 or 503 per request; 500..599 always that one
  // (503 for every request is a maintenance window).
  int server_error_status = 0;
  std::set<std::string> endpoints = {"klines"};
  uint64_t seed = 1;

  // Ok, or which value is out of range.
  Status Validate() const;
};

struct FaultDecision {
  FaultKind kind = FaultKind::kNone;
  int64_t latency_ms = 0;
  int server_error_status = 502;  // for kServerError: 502 or 503
};

FaultDecision DecideFault(const FaultConfig& config, std::string_view request_key,
                          uint64_t attempt);

// Applies a JSON object of FaultConfig fields (same names as the members; "endpoints" an array
// of endpoint names) on top of *config. All or nothing: on error *config is unchanged.
Status ApplyFaultsJson(std::string_view json, FaultConfig* config);
std::string FaultsToJson(const FaultConfig& config);

// A body that is never valid JSON, made from a real one (kMalformed).
std::string MalformBody(std::string_view body);
// The pages served for kServerError and kHtml.
std::string ErrorPageHtml(int status);
std::string MaintenancePageHtml();

}  // namespace qlir::sim
