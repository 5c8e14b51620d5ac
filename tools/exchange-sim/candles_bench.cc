// Prints how fast the simulator builds klines bodies (no HTTP): candles/s and bodies/s for a
// 1000-candle window of each of 1m, 1h and 1d; and aggTrades pages of 1000 rows, with the
// time->id lookup of a startTime query. Asserts nothing (docs/conventions.md, "Benchmarks").
#include <chrono>
#include <cstdio>
#include <tuple>

#include "tools/exchange-sim/candles.h"
#include "tools/exchange-sim/config.h"
#include "tools/exchange-sim/tape.h"

int main() {
  const qlir::sim::SymbolSpec btc = qlir::sim::DefaultSymbols()[0];
  const int kBodies = 2000;
  size_t bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kBodies; ++i) {
    const int64_t start = 1609459200000 + int64_t{i} * 60'000'000;
    bytes += qlir::sim::KlinesJson(btc, "1m", start, start + 59'999'999, 1000, 1'800'000'000'000)
                 ->size();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%d bodies of 1000 candles in %.3f s: %.0f bodies/s, %.1f M candles/s, %.0f MB/s\n",
              kBodies, s, kBodies / s, kBodies * 1000 / s / 1e6, bytes / s / 1e6);

  // Longer intervals read every trade of their span (3 a minute for BTCUSDT).
  for (const auto& [interval, iv_ms, bodies] :
       {std::tuple<const char*, int64_t, int>{"1h", 3'600'000, 20},
        std::tuple<const char*, int64_t, int>{"1d", 86'400'000, 2}}) {
    const auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < bodies; ++i) {
      const int64_t start = 1514764800000 + int64_t{i} * 1000 * iv_ms / 8;
      bytes += qlir::sim::KlinesJson(btc, interval, start, {}, 1000, 1'800'000'000'000)->size();
    }
    const double d = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    std::printf("%d bodies of 1000 %s candles in %.3f s: %.1f ms a body\n", bodies, interval, d,
                d / bodies * 1e3);
  }

  // aggTrades: fromId pages of 1000 rows spread over BTCUSDT's history, and startTime pages
  // (one time->id lookup each).
  const int kPages = 2000;
  const int64_t now = 1'800'000'000'000;
  const int64_t newest = qlir::sim::Tape(btc).CountUpTo(now);
  bytes = 0;
  const auto t2 = std::chrono::steady_clock::now();
  for (int i = 0; i < kPages; ++i) {
    const int64_t from = newest / kPages * i / 1000 * 1000;
    bytes += qlir::sim::AggTradesJson(btc, from, {}, {}, 1000, now)->size();
  }
  const double a = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
  std::printf(
      "%d aggTrades pages (fromId, 1000 rows, ids 0..%lld) in %.3f s: %.0f pages/s, "
      "%.1f M rows/s, %.0f MB/s\n",
      kPages, static_cast<long long>(newest), a, kPages / a, kPages * 1000 / a / 1e6,
      bytes / a / 1e6);
  const auto t3 = std::chrono::steady_clock::now();
  for (int i = 0; i < kPages; ++i) {
    const int64_t start = 1502942400000 + (now - 1502942400000) / kPages * i;
    bytes += qlir::sim::AggTradesJson(btc, {}, start, {}, 1000, now)->size();
  }
  const double b = std::chrono::duration<double>(std::chrono::steady_clock::now() - t3).count();
  std::printf("%d aggTrades pages (startTime, 1000 rows) in %.3f s: %.0f pages/s\n", kPages, b,
              kPages / b);
  return 0;
}
