// The simulator's pseudo-randomness: every candle, funding event and fault is a pure function
// of a seed and a key, so that a run can be repeated byte for byte. The two mixers behind all
// of it, written once.
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

}  // namespace qlir::sim
