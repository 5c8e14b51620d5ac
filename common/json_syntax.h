// A strict JSON syntax check (RFC 8259) that builds nothing: for the persister, which must not
// store a body that is not JSON, and receives ~170 kB klines bodies at hundreds per second.
// nlohmann::json::accept did the same at about 1.3 ms per body, two thirds of the persister's
// CPU (perf, bench/run throughput, issue #8); this check is a single pass over the bytes.
//
// Accepts exactly what nlohmann::json::accept accepts (json_syntax_test.cc compares them on
// truncations, mutations and random bytes): one value with optional whitespace around it,
// strings of well-formed UTF-8 without control characters, escapes \" \\ \/ \b \f \n \r \t and
// \uXXXX with surrogates paired, numbers -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? that
// fit a double (1e999 is refused, as nlohmann refuses it), and a leading UTF-8 byte-order mark.
#pragma once

#include <string_view>

namespace qlir {

bool IsValidJson(std::string_view text);

// True when `s` is a plain decimal as the exchange writes prices, quantities and rates in its
// JSON strings: -?[0-9]+(\.[0-9]+)? (no exponent, no '+', no bare '.').
bool IsPlainDecimal(std::string_view s);

}  // namespace qlir
