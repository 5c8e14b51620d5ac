#include "common/hex_digest.h"

#include <blake2.h>

#include <cstdint>

namespace qlir {

std::string Blake2bHex(std::string_view bytes, size_t digest_bytes) {
  uint8_t digest[BLAKE2B_OUTBYTES];
  blake2b(digest, bytes.data(), nullptr, digest_bytes, bytes.size(), 0);
  static const char* hex = "0123456789abcdef";
  std::string out(2 * digest_bytes, '0');
  for (size_t i = 0; i < digest_bytes; ++i) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  return out;
}

bool IsLowerHex(std::string_view s, size_t chars) {
  if (s.size() != chars) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace qlir
