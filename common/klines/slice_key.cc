#include "common/klines/slice_key.h"

#include <charconv>

#include "common/klines/interval.h"
#include "common/slice_id.h"
#include "common/symbol.h"

namespace qlir::klines {
namespace {

// Digits only, no sign, no leading zero (except "0" itself), fits int64.
bool ParseCanonicalInt(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<KlineSliceKey> ParseCompositeKey(std::string_view key) {
  auto bad = [&](const char* why) {
    return Status::Error("malformed composite key '" + std::string(key) + "': " + why);
  };
  // The symbol may not contain ':', so split on the last three colons.
  size_t c3 = key.rfind(':');
  if (c3 == std::string_view::npos || c3 == 0)
    return bad("expected SYMBOL:interval:start-end:limit");
  size_t c2 = key.rfind(':', c3 - 1);
  if (c2 == std::string_view::npos || c2 == 0)
    return bad("expected SYMBOL:interval:start-end:limit");
  size_t c1 = key.rfind(':', c2 - 1);
  if (c1 == std::string_view::npos) return bad("expected SYMBOL:interval:start-end:limit");
  KlineSliceKey k;
  k.symbol = std::string(key.substr(0, c1));
  k.interval = std::string(key.substr(c1 + 1, c2 - c1 - 1));
  std::string_view range = key.substr(c2 + 1, c3 - c2 - 1);
  std::string_view limit = key.substr(c3 + 1);
  if (Status s = ValidateSymbol(k.symbol); !s.ok()) return bad(s.message().c_str());
  if (!IntervalToMs(k.interval).ok()) return bad("unsupported interval");
  size_t dash = range.find('-');
  if (dash == std::string_view::npos) return bad("expected start-end");
  int64_t lim = 0;
  if (!ParseCanonicalInt(range.substr(0, dash), &k.start_ms)) return bad("bad start");
  if (!ParseCanonicalInt(range.substr(dash + 1), &k.end_ms)) return bad("bad end");
  if (!ParseCanonicalInt(limit, &lim)) return bad("bad limit");
  if (lim < 1 || lim > kDefaultLimit) return bad("limit must be 1..1000");
  if (k.start_ms > k.end_ms) return bad("start after end");
  k.limit = static_cast<int>(lim);
  return k;
}

int64_t GridIndex(int64_t t_ms, int64_t interval_ms, int limit) {
  return t_ms / (interval_ms * limit);
}

KlineSliceKey GridSlice(std::string_view symbol, std::string_view interval, int64_t interval_ms,
                        int64_t index, int limit) {
  const int64_t span = interval_ms * limit;
  return KlineSliceKey{std::string(symbol), std::string(interval), index * span,
                       (index + 1) * span - 1, limit};
}

Result<std::vector<KlineSliceKey>> GenerateKlineSlices(std::string_view symbol,
                                                       std::string_view interval, int64_t start_ms,
                                                       int64_t end_ms, int limit) {
  QLIR_RETURN_IF_ERROR(ValidateSymbol(symbol));
  auto ms = IntervalToMs(interval);
  if (!ms) return ms.status();
  if (limit < 1 || limit > kDefaultLimit) return Status::Error("limit must be 1..1000");
  if (start_ms < 0) return Status::Error("start time before the Unix epoch");
  if (start_ms > end_ms) return Status::Error("start time after end time");
  std::vector<KlineSliceKey> out;
  const int64_t first = GridIndex(start_ms, *ms, limit);
  const int64_t last = GridIndex(end_ms, *ms, limit);
  out.reserve(static_cast<size_t>(last - first + 1));
  for (int64_t k = first; k <= last; ++k) out.push_back(GridSlice(symbol, interval, *ms, k, limit));
  return out;
}

bool IsGridSlice(const KlineSliceKey& key) {
  auto ms = IntervalToMs(key.interval);
  if (!ms || key.limit < 1) return false;
  const int64_t span = *ms * key.limit;
  return key.start_ms >= 0 && key.start_ms % span == 0 && key.end_ms == key.start_ms + span - 1;
}

std::string PercentEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string BuildKlineUrl(std::string_view base_url, const KlineSliceKey& key) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  std::string url(base_url);
  url += "/api/v3/klines?symbol=";
  url += PercentEncode(key.symbol);
  url += "&interval=";
  url += key.interval;
  url += "&startTime=";
  url += std::to_string(key.start_ms);
  url += "&endTime=";
  url += std::to_string(key.end_ms);
  url += "&limit=";
  url += std::to_string(key.limit);
  return url;
}

}  // namespace qlir::klines
