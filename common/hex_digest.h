// BLAKE2b (libb2), unkeyed, written as lowercase hex: the one implementation behind the slice id
// (common/slice_id.h, 16 bytes) and the stored body's digest (common/body_digest.h, 32 bytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qlir {

// BLAKE2b of `bytes` with a digest of `digest_bytes` bytes (1 to 64), as 2 * digest_bytes
// lowercase hex characters.
std::string Blake2bHex(std::string_view bytes, size_t digest_bytes);

// True when `s` is exactly `chars` lowercase hex characters.
bool IsLowerHex(std::string_view s, size_t chars);

}  // namespace qlir
