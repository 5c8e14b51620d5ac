// Prints how fast the simulator builds klines bodies (no HTTP): candles/s and bodies/s for a
// 1000-candle window. Asserts nothing (docs/conventions.md, "Benchmarks").
#include <chrono>
#include <cstdio>

#include "tools/exchange-sim/candles.h"
#include "tools/exchange-sim/config.h"

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
  return 0;
}
