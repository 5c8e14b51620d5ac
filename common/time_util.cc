#include "common/time_util.h"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace qlir {
namespace {

// Days from civil, Howard Hinnant's algorithm via std::chrono.
int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days(year{y} / month{m} / day{d}).time_since_epoch().count();
}

bool ReadInt(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  std::from_chars(s.data() + pos, s.data() + pos + n, *out);
  return true;
}

}  // namespace

int64_t WallClockMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t MonotonicMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string FormatIsoUtc(int64_t ms) {
  using namespace std::chrono;
  const sys_days day{days{(ms >= 0 ? ms : ms - 86399999) / 86400000}};
  const year_month_day ymd{day};
  int64_t rem = ms - day.time_since_epoch().count() * 86400000LL;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(rem / 3600000), static_cast<int>(rem / 60000 % 60),
                static_cast<int>(rem / 1000 % 60));
  return buf;
}

std::string FormatIsoUtcMs(int64_t ms) {
  std::string s = FormatIsoUtc(ms);
  char buf[8];
  std::snprintf(buf, sizeof buf, ".%03dZ", static_cast<int>(((ms % 1000) + 1000) % 1000));
  s.pop_back();
  return s + buf;
}

Result<int64_t> ParseTimeUtc(std::string_view t) {
  auto bad = [&] {
    return Status::Error("cannot read time '" + std::string(t) +
                         "' (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z] in UTC, or ms)");
  };
  if (!t.empty() && t.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size()) return bad();
    return v;
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, frac = 0;
  if (t.size() < 10 || !ReadInt(t, 0, 4, &y) || t[4] != '-' || !ReadInt(t, 5, 2, &mo) ||
      t[7] != '-' || !ReadInt(t, 8, 2, &d)) {
    return bad();
  }
  size_t pos = 10;
  if (pos < t.size() && (t[pos] == 'T' || t[pos] == ' ')) {
    if (!ReadInt(t, pos + 1, 2, &h) || pos + 3 >= t.size() || t[pos + 3] != ':' ||
        !ReadInt(t, pos + 4, 2, &mi)) {
      return bad();
    }
    pos += 6;
    if (pos < t.size() && t[pos] == ':') {
      if (!ReadInt(t, pos + 1, 2, &s)) return bad();
      pos += 3;
      if (pos < t.size() && t[pos] == '.') {
        if (!ReadInt(t, pos + 1, 3, &frac)) return bad();
        pos += 4;
      }
    }
  }
  if (pos < t.size() && t[pos] == 'Z') ++pos;
  if (pos != t.size()) return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  using namespace std::chrono;
  if (!year_month_day{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}}
           .ok()) {
    return bad();
  }
  return DaysFromCivil(y, mo, d) * 86400000LL + h * 3600000LL + mi * 60000LL + s * 1000LL + frac;
}

}  // namespace qlir
