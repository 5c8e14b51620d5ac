#include "common/body_digest.h"

#include <blake2.h>

#include <cstdint>

namespace qlir {

std::string BodyDigest(std::string_view body) {
  uint8_t digest[32];
  blake2b(digest, body.data(), nullptr, sizeof digest, body.size(), 0);
  static const char* hex = "0123456789abcdef";
  std::string out(2 * sizeof digest, '0');
  for (size_t i = 0; i < sizeof digest; ++i) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  return out;
}

bool IsBodyDigest(std::string_view s) {
  if (s.size() != kBodyDigestHexChars) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace qlir
