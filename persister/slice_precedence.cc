#include "persister/slice_precedence.h"

namespace qlir::persister {

bool Supersedes(SliceStatus incoming, std::optional<SliceStatus> existing) {
  if (!existing) return true;
  switch (*existing) {
    case SliceStatus::kPending:
    case SliceStatus::kFailed:
      return true;
    case SliceStatus::kPartial:
      return incoming == SliceStatus::kOk || incoming == SliceStatus::kPartial;
    case SliceStatus::kOk:
      return false;
  }
  return false;
}

}  // namespace qlir::persister
