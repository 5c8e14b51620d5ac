#include "common/slice_id.h"

#include "common/hex_digest.h"

namespace qlir {

std::string SliceId(std::string_view composite_key) { return Blake2bHex(composite_key, 16); }

bool IsSliceId(std::string_view s) { return IsLowerHex(s, kSliceIdHexChars); }

}  // namespace qlir
