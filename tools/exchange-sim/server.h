// SimServer: the exchange simulator's HTTP/1.1 server (cpp-httplib). Serves /api/v3/ping,
// /api/v3/time, /api/v3/exchangeInfo, /api/v3/klines and /api/v3/aggTrades as the exchange does
// (api.h) and the USD-M futures paths of funding.h, applies the per-IP limits (rate_limiter.h)
// and injected faults (faults.h), and offers the control endpoints under /sim/ (README.md). Every
// request reads the clock once; that instant is what /api/v3/time, the Date header, the open candle
// and the rate-limit window use.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "tools/exchange-sim/config.h"

namespace qlir::sim {

class SimServer {
 public:
  // `clock` must outlive the server.
  SimServer(SimConfig config, const Clock* clock);
  ~SimServer();  // Stop()s
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Binds config.host:config.port (port 0: a free port) and serves on background threads.
  // Returns the bound port, or an error naming the address.
  Result<int> Start();
  // Stops accepting, wakes hanging requests, closes open connections and joins all threads.
  // Idempotent; safe to call from any thread but a request handler.
  void Stop();

  int port() const;
  const std::string& host() const;

  // Thread-safe access to the live fault settings (also POST /sim/faults).
  FaultConfig faults() const;
  Status SetFaults(const FaultConfig& faults);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qlir::sim
