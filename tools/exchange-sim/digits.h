// Number writers into a caller's buffer for the simulator's JSON bodies (klines, aggTrades):
// integers and 8-decimal amounts, digits two at a time. Each returns one past the last char.
#pragma once

#include <cstdint>
#include <cstring>

namespace qlir::sim {

inline constexpr char kTwoDigits[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// One std::string append per candle instead of ~30, and digits two at a time (std::to_chars was
// a quarter of the serving profile).
inline char* WriteUint(char* p, uint64_t v) {
  char tmp[20];
  char* const end = tmp + sizeof tmp;
  char* b = end;
  while (v >= 100) {
    b -= 2;
    std::memcpy(b, kTwoDigits + (v % 100) * 2, 2);
    v /= 100;
  }
  if (v >= 10) {
    b -= 2;
    std::memcpy(b, kTwoDigits + v * 2, 2);
  } else {
    *--b = static_cast<char>('0' + v);
  }
  std::memcpy(p, b, static_cast<size_t>(end - b));
  return p + (end - b);
}

inline char* WriteInt(char* p, int64_t v) {
  if (v >= 0) return WriteUint(p, static_cast<uint64_t>(v));
  *p++ = '-';
  return WriteUint(p, 0 - static_cast<uint64_t>(v));
}

// Units of 1e-8 with 8 fraction digits, as the exchange prints prices: "0.01634790".
inline char* WriteDecimal8(char* p, int64_t units) {
  constexpr int64_t kUnits = 100'000'000;
  if (units < 0) {
    *p++ = '-';
    units = -units;  // units > INT64_MIN: every caller passes prices or volumes
  }
  p = WriteInt(p, units / kUnits);
  *p++ = '.';
  uint32_t f = static_cast<uint32_t>(units % kUnits);
  for (int i = 6; i >= 0; i -= 2) {
    std::memcpy(p + i, kTwoDigits + (f % 100) * 2, 2);
    f /= 100;
  }
  return p + 8;
}

// WriteDecimal8 in double quotes.
inline char* WriteQuoted(char* p, int64_t units) {
  *p++ = '"';
  p = WriteDecimal8(p, units);
  *p++ = '"';
  return p;
}

}  // namespace qlir::sim
