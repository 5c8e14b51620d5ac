// slice_id: BLAKE2b with a 16-byte digest (BLAKE2b-128), unkeyed, over the UTF-8 bytes of a
// composite key, as 32 lowercase hex characters (libb2). It names the response file.
#pragma once

#include <string>
#include <string_view>

namespace qlir {

inline constexpr size_t kSliceIdHexChars = 32;

std::string SliceId(std::string_view composite_key);

// True for exactly 32 lowercase hex characters.
bool IsSliceId(std::string_view s);

}  // namespace qlir
