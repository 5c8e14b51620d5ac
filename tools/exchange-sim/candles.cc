#include "tools/exchange-sim/candles.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/klines/interval.h"
#include "tools/exchange-sim/mix.h"

namespace qlir::sim {
namespace {

// 128-bit intermediates keep price x volume products exact; __extension__ silences -Wpedantic.
__extension__ typedef __int128 Int128;

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kWeekMs = 7 * kDayMs;
// 1970-01-01 was a Thursday; weekly candles open on Mondays, the first one 1970-01-05.
constexpr int64_t kWeekOffsetMs = 4 * kDayMs;
// Bounds applied to request times before any arithmetic, so nothing overflows. Far beyond any
// real clock (year ~128 000) and far below INT64_MAX.
constexpr int64_t kFarMs = 4'000'000'000'000'000;
constexpr int64_t kPpm = 1'000'000;
constexpr int64_t kUnits = 100'000'000;  // 1e8: units per whole asset

uint64_t Hash(uint64_t a, uint64_t b) { return SplitMix64(SplitMix64(a) ^ b); }

uint64_t SymbolSeed(std::string_view symbol) { return SplitMix64(Fnv1a(symbol)); }

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t GridOffset(int64_t interval_ms) { return interval_ms == kWeekMs ? kWeekOffsetMs : 0; }

int64_t ClampToInt64(Int128 v) {
  if (v > INT64_MAX) return INT64_MAX;
  if (v < INT64_MIN) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// a * b / c truncated toward zero, saturating. 64-bit whenever possible (for a, b >= 0 via
// a = q*c + r: a*b/c = q*b + r*b/c exactly), since 128-bit division is a slow library call.
int64_t MulDiv(int64_t a, int64_t b, int64_t c) {
  int64_t p;
  if (!__builtin_mul_overflow(a, b, &p)) return p / c;
  if (a >= 0 && b >= 0) {
    int64_t hi;
    int64_t lo;
    if (!__builtin_mul_overflow(a / c, b, &hi) && !__builtin_mul_overflow(a % c, b, &lo) &&
        !__builtin_add_overflow(hi, lo / c, &p)) {
      return p;
    }
  }
  return ClampToInt64(static_cast<Int128>(a) * b / c);
}

// A triangle wave in [-kPpm, kPpm] with the given period (at most ~2e12 ms, so the product
// below stays within 64 bits).
int64_t Triangle(int64_t t, int64_t period) {
  const int64_t phase = ((t % period) + period) % period;
  const int64_t x = phase * 4 * kPpm / period;
  if (x < kPpm) return x;
  if (x < 3 * kPpm) return 2 * kPpm - x;
  return x - 4 * kPpm;
}

// The traded price at instant t: a slow and a faster wave (+-30 %, +-3 %) and +-0.2 % noise.
int64_t PriceAt(uint64_t seed, int64_t base_price, int64_t t) {
  constexpr int64_t kSlow = 37 * kDayMs;
  constexpr int64_t kFast = 31 * 3'600'000 + 17'000;
  const int64_t slow = Triangle(t + static_cast<int64_t>(seed % kSlow), kSlow);
  const int64_t fast = Triangle(t + static_cast<int64_t>((seed >> 21) % kFast), kFast);
  const int64_t noise = static_cast<int64_t>(Hash(seed, static_cast<uint64_t>(t)) % 4001) - 2000;
  const int64_t ppm = slow * 3 / 10 + fast * 3 / 100 + noise;  // within +-332 000
  return std::max<int64_t>(1, base_price + MulDiv(base_price, ppm, kPpm));
}

const GapWindow* GapHolding(const SymbolSpec& spec, int64_t interval_ms, int64_t open_ms) {
  for (const GapWindow& g : spec.gaps) {
    if (g.start_ms <= open_ms && open_ms + interval_ms <= g.end_ms) return &g;
  }
  return nullptr;
}

// open_price: PriceAt(seed, base, open_ms) if the caller has it (the previous candle's close),
// else -1.
Candle MakeCandleSeeded(const SymbolSpec& spec, uint64_t seed, int64_t iv, int64_t open_ms,
                        int64_t now_ms, int64_t open_price = -1) {
  const uint64_t h = Hash(Hash(seed, static_cast<uint64_t>(iv)), static_cast<uint64_t>(open_ms));
  const bool is_open = open_ms + iv > now_ms;
  const int64_t elapsed = is_open ? now_ms - open_ms + 1 : iv;  // 1..iv
  auto part = [&](int64_t full) { return is_open ? MulDiv(full, elapsed, iv) : full; };

  Candle c;
  c.open_time = open_ms;
  c.close_time = open_ms + iv - 1;
  c.open = open_price >= 0 ? open_price : PriceAt(seed, spec.base_price, open_ms);
  c.close = PriceAt(seed, spec.base_price, is_open ? now_ms : open_ms + iv);
  const int64_t top = std::max(c.open, c.close);
  const int64_t bottom = std::min(c.open, c.close);
  c.high = top + part(MulDiv(top, static_cast<int64_t>(h % 3001), kPpm));
  c.low = std::max<int64_t>(
      std::min<int64_t>(1, bottom),
      bottom - part(MulDiv(bottom, static_cast<int64_t>((h >> 12) % 3001), kPpm)));

  const int64_t volume_ppm = 500'000 + static_cast<int64_t>((h >> 24) % 1'000'001);
  const int64_t full_volume = MulDiv(MulDiv(spec.base_volume, volume_ppm, kPpm), iv, 60'000);
  c.volume = part(full_volume);
  const int64_t average = c.open / 2 + c.close / 2 + (c.open % 2 + c.close % 2) / 2;
  c.quote_volume = MulDiv(average, c.volume, kUnits);
  const int64_t trades_per_s = 1 + static_cast<int64_t>((h >> 44) % 20);
  c.trades = part((iv / 1000 + 1) * trades_per_s);
  const int64_t taker_ppm = 300'000 + static_cast<int64_t>((h >> 8) % 400'001);
  c.taker_buy_base = MulDiv(c.volume, taker_ppm, kPpm);
  c.taker_buy_quote = MulDiv(c.quote_volume, taker_ppm, kPpm);
  return c;
}

}  // namespace

int64_t AlignDown(int64_t t_ms, int64_t interval_ms) {
  const int64_t off = GridOffset(interval_ms);
  return FloorDiv(t_ms - off, interval_ms) * interval_ms + off;
}

int64_t AlignUp(int64_t t_ms, int64_t interval_ms) {
  const int64_t d = AlignDown(t_ms, interval_ms);
  return d == t_ms ? d : d + interval_ms;
}

bool CandleExists(const SymbolSpec& spec, int64_t interval_ms, int64_t open_ms) {
  if (open_ms + interval_ms <= spec.listing_ms) return false;
  if (spec.delisting_ms && open_ms >= *spec.delisting_ms) return false;
  return GapHolding(spec, interval_ms, open_ms) == nullptr;
}

Candle MakeCandle(const SymbolSpec& spec, int64_t interval_ms, int64_t open_ms, int64_t now_ms) {
  return MakeCandleSeeded(spec, SymbolSeed(spec.symbol), interval_ms, open_ms, now_ms);
}

std::vector<int64_t> SelectOpenTimes(const SymbolSpec& spec, const KlinesWindow& window,
                                     int64_t now_ms) {
  const int64_t iv = window.interval_ms;
  std::vector<int64_t> out;
  if (window.limit <= 0 || iv <= 0) return out;
  const int64_t lowest = AlignDown(std::clamp(spec.listing_ms, -kFarMs, kFarMs), iv);
  int64_t newest = std::min(now_ms, window.end_ms ? *window.end_ms : kFarMs);
  newest = AlignDown(std::clamp(newest, -kFarMs, kFarMs), iv);
  if (spec.delisting_ms) {
    newest = std::min(newest, AlignDown(std::clamp(*spec.delisting_ms, -kFarMs, kFarMs) - 1, iv));
  }
  const size_t limit = static_cast<size_t>(window.limit);
  out.reserve(std::min<size_t>(limit, 1024));
  if (window.start_ms) {
    int64_t t = std::max(AlignUp(std::clamp(*window.start_ms, -kFarMs, kFarMs), iv), lowest);
    while (t <= newest && out.size() < limit) {
      if (const GapWindow* g = GapHolding(spec, iv, t)) {
        t = AlignUp(g->end_ms - iv + 1, iv);  // first candle not wholly inside this gap
        continue;
      }
      out.push_back(t);
      t += iv;
    }
  } else {
    int64_t t = newest;
    while (t >= lowest && out.size() < limit) {
      if (const GapWindow* g = GapHolding(spec, iv, t)) {
        t = AlignDown(g->start_ms - 1, iv);  // last candle opening before this gap
        continue;
      }
      out.push_back(t);
      t -= iv;
    }
    std::reverse(out.begin(), out.end());
  }
  return out;
}

namespace {

constexpr char kTwoDigits[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Writers into a caller's buffer: one std::string append per candle instead of ~30, and digits
// two at a time (std::to_chars was a quarter of the serving profile).
char* WriteUint(char* p, uint64_t v) {
  char tmp[20];
  char* const end = tmp + sizeof tmp;
  char* b = end;
  while (v >= 100) {
    b -= 2;
    std::memcpy(b, kTwoDigits + (v % 100) * 2, 2);
    v /= 100;
  }
  if (v >= 10) {
    b -= 2;
    std::memcpy(b, kTwoDigits + v * 2, 2);
  } else {
    *--b = static_cast<char>('0' + v);
  }
  std::memcpy(p, b, static_cast<size_t>(end - b));
  return p + (end - b);
}

char* WriteInt(char* p, int64_t v) {
  if (v >= 0) return WriteUint(p, static_cast<uint64_t>(v));
  *p++ = '-';
  return WriteUint(p, 0 - static_cast<uint64_t>(v));
}

char* WriteDecimal8(char* p, int64_t units) {
  if (units < 0) {
    *p++ = '-';
    units = -units;  // units > INT64_MIN: every caller passes prices or volumes
  }
  p = WriteInt(p, units / kUnits);
  *p++ = '.';
  uint32_t f = static_cast<uint32_t>(units % kUnits);
  for (int i = 6; i >= 0; i -= 2) {
    std::memcpy(p + i, kTwoDigits + (f % 100) * 2, 2);
    f /= 100;
  }
  return p + 8;
}

char* WriteQuoted(char* p, int64_t units) {
  *p++ = '"';
  p = WriteDecimal8(p, units);
  *p++ = '"';
  return p;
}

}  // namespace

void AppendDecimal8(int64_t units, std::string* out) {
  char buf[32];
  out->append(buf, WriteDecimal8(buf, units));
}

void AppendCandleJson(const Candle& c, std::string* out) {
  // 12 fields: at most 2 * 20 digits for the times, 20 for trades, 8 decimals of <= 30 chars.
  char buf[400];
  char* p = buf;
  *p++ = '[';
  p = WriteInt(p, c.open_time);
  for (int64_t v : {c.open, c.high, c.low, c.close, c.volume}) {
    *p++ = ',';
    p = WriteQuoted(p, v);
  }
  *p++ = ',';
  p = WriteInt(p, c.close_time);
  *p++ = ',';
  p = WriteQuoted(p, c.quote_volume);
  *p++ = ',';
  p = WriteInt(p, c.trades);
  *p++ = ',';
  p = WriteQuoted(p, c.taker_buy_base);
  *p++ = ',';
  p = WriteQuoted(p, c.taker_buy_quote);
  for (char ch : {',', '"', '0', '"', ']'}) *p++ = ch;
  out->append(buf, p);
}

void AppendKlinesJson(const SymbolSpec& spec, const KlinesWindow& window, int64_t now_ms,
                      std::string* out) {
  const std::vector<int64_t> opens = SelectOpenTimes(spec, window, now_ms);
  const uint64_t seed = SymbolSeed(spec.symbol);
  out->reserve(out->size() + 2 + opens.size() * 200);
  out->push_back('[');
  int64_t next_open = INT64_MIN;  // open time whose price `carried` is
  int64_t carried = -1;
  for (size_t i = 0; i < opens.size(); ++i) {
    if (i > 0) out->push_back(',');
    const Candle c = MakeCandleSeeded(spec, seed, window.interval_ms, opens[i], now_ms,
                                      opens[i] == next_open ? carried : -1);
    // A closed candle's close is the price at the next open time: reuse it there.
    next_open = opens[i] + window.interval_ms;
    carried = c.close;
    AppendCandleJson(c, out);
  }
  out->push_back(']');
}

Result<std::string> KlinesJson(const SymbolSpec& spec, std::string_view interval,
                               std::optional<int64_t> start_ms, std::optional<int64_t> end_ms,
                               int limit, int64_t now_ms) {
  Result<int64_t> iv = klines::IntervalToMs(interval);
  if (!iv.ok()) return iv.status();
  if (limit < 1 || limit > 1000) {
    return Status::Error("limit " + std::to_string(limit) + " is outside 1..1000");
  }
  KlinesWindow w;
  w.interval_ms = *iv;
  w.start_ms = start_ms;
  w.end_ms = end_ms;
  w.limit = limit;
  std::string out;
  AppendKlinesJson(spec, w, now_ms, &out);
  return out;
}

}  // namespace qlir::sim
