// Which result wins when a slice is reported again (docs/protocol.md, DURABLE):
//   ok is final: never replaced by partial or failed;
//   partial is replaced by ok or a newer partial, never by failed;
//   failed and pending are replaced by anything.
#pragma once

#include <optional>

#include "common/manifest.h"

namespace qlir::persister {

// True when `incoming` should replace `existing` (nullopt: the slice is unknown).
// An ok arriving over ok is not a replacement: the stored one is kept (idempotency).
bool Supersedes(SliceStatus incoming, std::optional<SliceStatus> existing);

}  // namespace qlir::persister
