// The digest of a stored exchange response (docs/on-disk-format.md, "manifest.json", field
// `digest`): BLAKE2b with a 32-byte digest (BLAKE2b-256), unkeyed, over the bytes of the
// response file's `data` exactly as they are stored (the exchange's body, verbatim), written as
// 64 lowercase hex characters (libb2, as common/slice_id.h). The persister records it for every
// stored (ok or partial) slice; `qlir-status verify` recomputes it to prove the bytes unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qlir {

inline constexpr size_t kBodyDigestHexChars = 64;

std::string BodyDigest(std::string_view body);

// True for exactly 64 lowercase hex characters.
bool IsBodyDigest(std::string_view s);

}  // namespace qlir
