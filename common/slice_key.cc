#include "common/slice_key.h"

#include "common/slice_id.h"

namespace qlir {

std::string SliceKey::composite_key() const {
  std::string k;
  k.reserve(symbol.size() + interval.size() + 40);
  k += symbol;
  k += ':';
  k += interval;
  k += ':';
  k += std::to_string(start_ms);
  k += '-';
  k += std::to_string(end_ms);
  k += ':';
  k += std::to_string(limit);
  return k;
}

std::string SliceKey::slice_id() const { return SliceId(composite_key()); }

}  // namespace qlir
