// Command-line flags of the fetcher binary (main.cc), parsed into FetcherOptions and the rate
// limiter's options. Kept out of main.cc so the parser is tested.
#pragma once

#include <string>
#include <vector>

#include "common/curve.h"
#include "common/http_client.h"
#include "common/status.h"
#include "fetcher/fetcher_loop.h"
#include "fetcher/rate_limiter.h"

namespace qlir::fetcher {

struct CommandLine {
  FetcherOptions fetcher;
  RateLimiterOptions rate;
  HttpOptions http;
  curve::Flags curve;           // loaded into fetcher.curve by main
  std::string rate_state_path;  // default /tmp/qlir-rate-<uid>.state
  // --funding-limit, --funding-window-ms: fundingRate's limit when it is not the exchange's 500
  // per 300000 ms (a simulator with another); stored in the shared state at start. 0: unset.
  int64_t funding_limit = 0;
  int64_t funding_window_ms = 0;
  bool verbose = false;
  bool log_json = false;
  bool help = false;
};

// Flags as --name=value or --name value. Errors name the flag and what is wrong with it.
Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args);

std::string Usage();

}  // namespace qlir::fetcher
