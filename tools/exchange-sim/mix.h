// The simulator's pseudo-randomness: every trade, candle, funding event and fault is a pure
// function of a seed and a key, so that a run can be repeated byte for byte. The two mixers
// behind all of it, written once, and the exact integer arithmetic the generators share.
#pragma once

#include <cstdint>
#include <string_view>

namespace qlir::sim {

// SplitMix64's output function: a bijection of 64-bit values in which every input bit changes
// about half of the output bits.
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 64-bit FNV-1a of a text (a symbol, a request key).
inline uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// a / b rounded toward minus infinity; REQUIRES b != 0.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// A hash of two values (a seed and a key).
inline uint64_t Hash(uint64_t a, uint64_t b) { return SplitMix64(SplitMix64(a) ^ b); }

// a * b / c truncated toward zero, saturating; REQUIRES c > 0. 64-bit whenever possible (for
// a, b >= 0 via a = q*c + r: a*b/c = q*b + r*b/c exactly), since 128-bit division is a slow
// library call.
inline int64_t MulDiv(int64_t a, int64_t b, int64_t c) {
  int64_t p;
  if (!__builtin_mul_overflow(a, b, &p)) return p / c;
  if (a >= 0 && b >= 0) {
    int64_t hi;
    int64_t lo;
    if (!__builtin_mul_overflow(a / c, b, &hi) && !__builtin_mul_overflow(a % c, b, &lo) &&
        !__builtin_add_overflow(hi, lo / c, &p)) {
      return p;
    }
  }
  __extension__ typedef __int128 Int128;  // __extension__ silences -Wpedantic
  const Int128 v = static_cast<Int128>(a) * b / c;
  if (v > INT64_MAX) return INT64_MAX;
  if (v < INT64_MIN) return INT64_MIN;
  return static_cast<int64_t>(v);
}

}  // namespace qlir::sim
