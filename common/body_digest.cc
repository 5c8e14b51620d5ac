#include "common/body_digest.h"

#include "common/hex_digest.h"

namespace qlir {

std::string BodyDigest(std::string_view body) { return Blake2bHex(body, 32); }

bool IsBodyDigest(std::string_view s) { return IsLowerHex(s, kBodyDigestHexChars); }

}  // namespace qlir
