// Symbol validation. A symbol becomes a folder name under the data root, so anything that could
// escape it or cannot be a symbol is rejected. Non-ASCII (UTF-8) symbols are allowed: the exchange
// has listed some (docs/exchange-rules.md, "Non-ASCII symbols").
#pragma once

#include <string_view>

#include "common/status.h"

namespace qlir {

inline constexpr size_t kMaxSymbolBytes = 40;

// Ok, or an error naming the symbol and the rule it breaks.
Status ValidateSymbol(std::string_view symbol);

}  // namespace qlir
