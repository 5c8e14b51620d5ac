#include "common/slice_key.h"

#include <charconv>

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

bool ParseCanonicalInt(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Result<SliceKey> ParseSliceKey(std::string_view key, const SliceKeyRules& rules) {
  auto bad = [&](std::string_view why) {
    return Status::Error("malformed composite key '" + std::string(key) + "': " + std::string(why));
  };
  const std::string expected = "expected " + std::string(rules.shape);
  // The symbol may not contain ':', so split on the last three colons.
  const size_t c3 = key.rfind(':');
  if (c3 == std::string_view::npos || c3 == 0) return bad(expected);
  const size_t c2 = key.rfind(':', c3 - 1);
  if (c2 == std::string_view::npos || c2 == 0) return bad(expected);
  const size_t c1 = key.rfind(':', c2 - 1);
  if (c1 == std::string_view::npos) return bad(expected);
  SliceKey k;
  k.symbol = std::string(key.substr(0, c1));
  k.interval = std::string(key.substr(c1 + 1, c2 - c1 - 1));
  const std::string_view range = key.substr(c2 + 1, c3 - c2 - 1);
  const std::string_view limit = key.substr(c3 + 1);
  if (rules.check_series) {
    if (Status s = rules.check_series(k.symbol, k.interval); !s.ok()) return bad(s.message());
  }
  if (k.symbol.empty()) return bad("empty symbol");
  if (k.symbol.find(':') != std::string::npos) return bad("the symbol contains ':'");
  if (k.interval.empty()) return bad("empty interval");
  const size_t dash = range.find('-');
  if (dash == std::string_view::npos) return bad("expected start-end");
  int64_t lim = 0;
  if (!ParseCanonicalInt(range.substr(0, dash), &k.start_ms)) return bad("bad start");
  if (!ParseCanonicalInt(range.substr(dash + 1), &k.end_ms)) return bad("bad end");
  if (!ParseCanonicalInt(limit, &lim)) return bad("bad limit");
  if (lim < 1 || lim > rules.max_limit) {
    return bad("limit must be 1.." + std::to_string(rules.max_limit));
  }
  if (k.start_ms > k.end_ms) return bad("start after end");
  k.limit = static_cast<int>(lim);
  return k;
}

}  // namespace qlir
