#include "common/slice_id.h"

#include <blake2.h>

#include <cstdint>

namespace qlir {

std::string SliceId(std::string_view composite_key) {
  uint8_t digest[16];
  blake2b(digest, composite_key.data(), nullptr, sizeof digest, composite_key.size(), 0);
  static const char* hex = "0123456789abcdef";
  std::string out(2 * sizeof digest, '0');
  for (size_t i = 0; i < sizeof digest; ++i) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  return out;
}

bool IsSliceId(std::string_view s) {
  if (s.size() != kSliceIdHexChars) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace qlir
