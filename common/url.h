// Pieces of the URLs the endpoints build (common/endpoint.h).
#pragma once

#include <string>
#include <string_view>

namespace qlir {

// RFC 3986 percent-encoding: the unreserved characters (A-Z a-z 0-9 - _ . ~) are kept, every
// other byte (reserved, space, control, each byte of a non-ASCII character) becomes %XX with
// upper-case hex digits.
std::string PercentEncode(std::string_view s);

}  // namespace qlir
