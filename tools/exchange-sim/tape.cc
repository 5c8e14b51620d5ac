#include "tools/exchange-sim/tape.h"

#include <algorithm>
#include <cstring>

#include "tools/exchange-sim/digits.h"
#include "tools/exchange-sim/mix.h"

namespace qlir::sim {
namespace {

// Names unlike candles.cc's: the library compiles in unity batches.
constexpr int64_t kMinute = 60'000;
constexpr int64_t kTapeDayMs = 86'400'000;
// Bounds applied to times before any arithmetic, as in candles.cc.
constexpr int64_t kTapeFarMs = 4'000'000'000'000'000;
constexpr int64_t kTapePpm = 1'000'000;
constexpr int64_t kInvalidBlock = 500;  // one candidate invalidated row per block of ids

// Salts keep the hashed bits of each purpose independent.
constexpr uint64_t kRowsSalt = 0x7e3a1f52c0d94b61ULL;    // e(n): rows per minute
constexpr uint64_t kTradesSalt = 0x2b9d04e6a1c37f85ULL;  // e'(a): underlying trades per row
constexpr uint64_t kBlockSalt = 0x91c4e8f0367ad25bULL;   // invalidated position per block
constexpr uint64_t kRowSalt = 0x4f6a2d1be8397c05ULL;     // time and side of a row
constexpr uint64_t kQtySalt = 0xd3a85c1e07b2f946ULL;     // w(a): quantities

int64_t FloorMinute(int64_t t) { return FloorDiv(t, kMinute) * kMinute; }
int64_t CeilMinute(int64_t t) {
  const int64_t d = FloorMinute(t);
  return d == t ? d : d + kMinute;
}

// A triangle wave in [-kTapePpm, kTapePpm] with the given period (at most ~2e12 ms, so the product
// below stays within 64 bits).
int64_t Triangle(int64_t t, int64_t period) {
  const int64_t phase = ((t % period) + period) % period;
  const int64_t x = phase * 4 * kTapePpm / period;
  if (x < kTapePpm) return x;
  if (x < 3 * kTapePpm) return 2 * kTapePpm - x;
  return x - 4 * kTapePpm;
}

constexpr int64_t kSlowMs = 37 * kTapeDayMs;
constexpr int64_t kFastMs = 31 * 3'600'000 + 17'000;
constexpr int64_t kNoisePpm = 200;
// How far the integer waves may stray from straight lines between turning points (truncations
// of under 3 ppm, turning points off by a ms), with room to spare.
constexpr int64_t kRoundingPpm = 8;
// Ranges up to Tape::kFullRows rows are summarized by reading every whole row, up to kScanRows
// by reading every price, longer ones by reading the prices near the waves' turning points.
constexpr int64_t kScanRows = 64;

// The two waves of the price at instant t (+-30 % over 37 days, +-3 % over 31 h), in ppm.
int64_t WaveAt(uint64_t seed, int64_t t) {
  const int64_t slow = Triangle(t + static_cast<int64_t>(seed % kSlowMs), kSlowMs);
  const int64_t fast = Triangle(t + static_cast<int64_t>((seed >> 21) % kFastMs), kFastMs);
  return slow * 3 / 10 + fast * 3 / 100;  // within +-330 000
}

int64_t NoiseAt(uint64_t seed, int64_t t) {
  return static_cast<int64_t>(Hash(seed, static_cast<uint64_t>(t)) % (2 * kNoisePpm + 1)) -
         kNoisePpm;
}

// Non-decreasing in ppm.
int64_t PriceFromPpm(int64_t base_price, int64_t ppm) {
  return std::max<int64_t>(1, base_price + MulDiv(base_price, ppm, kTapePpm));
}

// The traded price at instant t: the waves and +-0.02 % noise.
int64_t PriceAt(uint64_t seed, int64_t base_price, int64_t t) {
  return PriceFromPpm(base_price, WaveAt(seed, t) + NoiseAt(seed, t));
}

int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

uint64_t SymbolSeed(const std::string& symbol) { return SplitMix64(Fnv1a(symbol)); }

}  // namespace

int64_t TapePriceAt(const SymbolSpec& spec, int64_t t_ms) {
  return PriceAt(SymbolSeed(spec.symbol), spec.base_price, t_ms);
}

Tape::Tape(const SymbolSpec& spec) : spec_(spec), seed_(SymbolSeed(spec.symbol)) {
  k_ = std::max(1, spec.trades_per_minute);
  mean_qty_ = std::max<int64_t>(1, spec.base_volume / k_);
  const int64_t listing = std::clamp(spec.listing_ms, -kTapeFarMs, kTapeFarMs);
  first_minute_ = FloorMinute(listing);
  // Everything without trading, as one sorted list of disjoint, non-touching spans: before the
  // listing, the gaps, from the delisting on.
  std::vector<GapWindow> blocked;
  blocked.push_back({-kTapeFarMs - kMinute, listing});
  for (const GapWindow& g : spec.gaps) {
    const int64_t a = std::clamp(g.start_ms, -kTapeFarMs, kTapeFarMs);
    const int64_t b = std::clamp(g.end_ms, -kTapeFarMs, kTapeFarMs);
    if (a < b) blocked.push_back({a, b});
  }
  if (spec.delisting_ms)
    blocked.push_back({std::clamp(*spec.delisting_ms, -kTapeFarMs, kTapeFarMs), kTapeFarMs});
  std::sort(blocked.begin(), blocked.end(),
            [](const GapWindow& x, const GapWindow& y) { return x.start_ms < y.start_ms; });
  spec_.gaps.clear();
  for (const GapWindow& g : blocked) {
    if (!spec_.gaps.empty() && g.start_ms <= spec_.gaps.back().end_ms) {
      spec_.gaps.back().end_ms = std::max(spec_.gaps.back().end_ms, g.end_ms);
    } else {
      spec_.gaps.push_back(g);
    }
  }
  end_minute_ = FloorMinute(kTapeFarMs);
  for (const GapWindow& g : spec_.gaps) {
    const int64_t a = std::max(CeilMinute(g.start_ms), first_minute_);
    const int64_t b = std::min(FloorMinute(g.end_ms), end_minute_);
    if (a < b) gap_minutes_.push_back({a, b});
  }
  end_id_ = R(MinutesBefore(end_minute_));
}

int64_t Tape::R(int64_t n) const {
  if (k_ < 2 || n <= 0) return k_ * n;
  return k_ * n + static_cast<int64_t>(Hash(seed_ ^ kRowsSalt, static_cast<uint64_t>(n)) & 1);
}

int64_t Tape::MinuteOfId(int64_t id) const {
  const int64_t n = id / k_;
  return R(n) > id ? n - 1 : n;
}

int64_t Tape::MinuteStart(int64_t n) const {
  int64_t m = first_minute_ + n * kMinute;
  for (const Span& w : gap_minutes_) {
    if (w.start > m) break;
    m += w.end - w.start;
  }
  return m;
}

int64_t Tape::MinutesBefore(int64_t m) const {
  m = std::clamp(m, first_minute_, end_minute_);
  int64_t minutes = (m - first_minute_) / kMinute;
  for (const Span& w : gap_minutes_) {
    if (w.start >= m) break;
    minutes -= (std::min(w.end, m) - w.start) / kMinute;
  }
  return minutes;
}

bool Tape::IsTradingMinute(int64_t m) const {
  if (m < first_minute_ || m >= end_minute_) return false;
  for (const Span& w : gap_minutes_) {
    if (w.start > m) break;
    if (m < w.end) return false;
  }
  return true;
}

Tape::Span Tape::FreeSpan(int64_t m) const {
  Span best{m, m};
  int64_t cur = m;
  const int64_t hi = m + kMinute;
  auto consider = [&](int64_t a, int64_t b) {
    if (b - a > best.end - best.start) best = {a, b};
  };
  for (const GapWindow& g : spec_.gaps) {
    if (g.end_ms <= cur) continue;
    if (g.start_ms >= hi) break;
    consider(cur, g.start_ms);
    cur = g.end_ms;
    if (cur >= hi) break;
  }
  if (cur < hi) consider(cur, hi);
  return best;
}

int64_t Tape::TradeIdStart(int64_t id) const {
  if (id <= 0) return 0;
  return 2 * id + static_cast<int64_t>(Hash(seed_ ^ kTradesSalt, static_cast<uint64_t>(id)) & 1);
}

int64_t Tape::VolumeOffset(int64_t id) const {
  if (id <= 0) return 0;
  return static_cast<int64_t>(Hash(seed_ ^ kQtySalt, static_cast<uint64_t>(id)) %
                              static_cast<uint64_t>(mean_qty_));
}

int64_t Tape::VolumeBetween(int64_t a, int64_t b) const {
  int64_t whole;
  if (__builtin_mul_overflow(b - a, mean_qty_, &whole)) return INT64_MAX;
  return SaturatingAdd(whole, VolumeOffset(b) - VolumeOffset(a));
}

int64_t Tape::WavePpm(int64_t t) const { return WaveAt(seed_, t); }

bool Tape::Invalidated(int64_t id) const {
  if (id <= 0) return false;
  const uint64_t pos = Hash(seed_ ^ kBlockSalt, static_cast<uint64_t>(id / kInvalidBlock)) %
                       static_cast<uint64_t>(kInvalidBlock);
  if (static_cast<uint64_t>(id % kInvalidBlock) != pos) return false;
  return R(MinuteOfId(id)) != id;  // the first row of a minute stays valid
}

int64_t Tape::NextValid(int64_t id) const {
  int64_t x = id + 1;
  while (x < end_id_ && Invalidated(x)) ++x;
  return x;
}

int64_t Tape::FirstValidAtOrAfter(int64_t id) const {
  return id < end_id_ && Invalidated(id) ? NextValid(id) : id;
}

void Tape::MakeRow(int64_t id, Span span, int64_t first, int64_t end, bool invalid,
                   bool next_invalid, AggTrade* row, bool prices_only, Carry* carry) const {
  const int64_t r = id - first;
  const int64_t c = end - first;
  const int64_t len = span.end - span.start;
  const int64_t s0 = span.start + len * r / c;
  const int64_t s1 = span.start + len * (r + 1) / c;
  const uint64_t h = Hash(seed_ ^ kRowSalt, static_cast<uint64_t>(id));
  row->id = id;
  row->time = s0 + (s1 > s0 ? static_cast<int64_t>(h % static_cast<uint64_t>(s1 - s0)) : 0);
  row->buyer_maker = (h >> 63) != 0;
  row->best_match = true;
  if (invalid) {
    row->price = 0;
    row->qty = 0;
    row->first_trade = -1;
    row->last_trade = -1;
    return;
  }
  row->price = PriceAt(seed_, spec_.base_price, row->time);
  if (prices_only) {
    row->first_trade = 0;
    return;
  }
  const int64_t next = next_invalid ? NextValid(id) : id + 1;
  // F and w of id were computed for the previous valid row's end when a cursor reads on.
  const bool known = carry != nullptr && carry->id == id;
  const int64_t f = known ? carry->f : TradeIdStart(id);
  const int64_t w = known ? carry->w : VolumeOffset(id);
  const int64_t next_f = TradeIdStart(next);
  const int64_t next_w = VolumeOffset(next);
  int64_t whole;
  row->qty = __builtin_mul_overflow(next - id, mean_qty_, &whole)
                 ? INT64_MAX
                 : SaturatingAdd(whole, next_w - w);  // VolumeBetween(id, next)
  row->first_trade = f;
  row->last_trade = next_f - 1;
  if (carry != nullptr) *carry = {next, next_f, next_w};
}

int64_t Tape::CountBefore(int64_t t_ms) const {
  const int64_t t = std::clamp(t_ms, -kTapeFarMs, kTapeFarMs);
  const int64_t m = FloorMinute(t);
  if (m < first_minute_) return 0;
  if (m >= end_minute_) return end_id_;
  const int64_t n = MinutesBefore(m);
  const int64_t first = R(n);
  if (!IsTradingMinute(m) || t == m) return first;
  const int64_t end = R(n + 1);
  const Span span = FreeSpan(m);
  // Times ascend within the minute: the first row at or after t, by bisection.
  int64_t lo = first;
  int64_t hi = end;
  AggTrade row;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    MakeRow(mid, span, first, end, true, false, &row);  // only the time is read
    if (row.time < t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

int64_t Tape::CountUpTo(int64_t now_ms) const {
  return now_ms >= kTapeFarMs ? end_id_ : CountBefore(now_ms + 1);
}

AggTrade Tape::Row(int64_t id) const {
  const int64_t n = MinuteOfId(id);
  const int64_t m = MinuteStart(n);
  AggTrade row;
  MakeRow(id, FreeSpan(m), R(n), R(n + 1), Invalidated(id), Invalidated(id + 1), &row);
  return row;
}

int64_t Tape::PriceBefore(int64_t id) const {
  int64_t x = std::min(id, end_id_) - 1;
  while (x >= 0 && Invalidated(x)) --x;
  if (x >= 0) return Row(x).price;
  if (end_id_ > 0) return Row(0).price;  // row 0 opens its minute: always valid
  return TapePriceAt(spec_, spec_.listing_ms);
}

Tape::Summary Tape::ScanRows(Cursor* c, int64_t last) {
  Summary s;
  for (; c->id() < last; c->Next()) {
    const AggTrade& t = c->row();
    if (!t.valid()) continue;
    if (!s.has_trades) {
      s.has_trades = true;
      s.open = s.high = s.low = t.price;
    }
    s.high = std::max(s.high, t.price);
    s.low = std::min(s.low, t.price);
    s.close = t.price;
    s.volume = SaturatingAdd(s.volume, t.qty);
    s.trades += t.last_trade - t.first_trade + 1;
  }
  return s;
}

Tape::Summary Tape::SummarizeByScan(int64_t first, int64_t last) const {
  if (first >= last) return Summary();
  Cursor c(*this, first);
  return ScanRows(&c, last);
}

Tape::Summary Tape::Summarize(int64_t first, int64_t last) const {
  if (last - first <= kFullRows) return SummarizeByScan(first, last);
  Summary s;
  const int64_t a = FirstValidAtOrAfter(first);
  if (a >= last) return s;
  // Sums telescope: the valid rows of [first, last) own trades and volume from a's start to the
  // start of the first valid row at or after last.
  const int64_t b = FirstValidAtOrAfter(last);
  s.has_trades = true;
  const AggTrade a_row = PriceRow(a);
  int64_t z = last - 1;
  while (Invalidated(z)) --z;  // stops at a at the latest
  const AggTrade z_row = PriceRow(z);
  s.open = a_row.price;
  s.close = z_row.price;
  s.volume = VolumeBetween(a, b);
  s.trades = TradeIdStart(b) - TradeIdStart(a);
  if (last - first <= kScanRows) {
    s.high = s.low = s.open;
    for (Cursor c(*this, first, true); c.id() < last; c.Next()) {
      if (!c.row().valid()) continue;
      s.high = std::max(s.high, c.row().price);
      s.low = std::min(s.low, c.row().price);
    }
  } else {
    s.high = Extreme(first, last, a_row, z_row, true);
    s.low = Extreme(first, last, a_row, z_row, false);
  }
  return s;
}

AggTrade Tape::PriceRow(int64_t id) const {
  const int64_t n = MinuteOfId(id);
  const int64_t m = MinuteStart(n);
  AggTrade row;
  MakeRow(id, FreeSpan(m), R(n), R(n + 1), Invalidated(id), false, &row, true);
  return row;
}

int64_t Tape::Extreme(int64_t first, int64_t last, const AggTrade& a, const AggTrade& z,
                      bool want_high) const {
  // Works on the "goodness" g = ppm for the high, -ppm for the low.
  const int64_t sign = want_high ? 1 : -1;
  const int64_t ta = a.time;  // rows of the range outside [a, z] are invalidated
  const int64_t tb = z.time;
  // The wave is piecewise linear on [ta, tb], straight between the ends and the turning points
  // of the two triangles (a quarter and three quarters into each period).
  std::vector<int64_t> points = {ta, tb};
  for (const auto& [off, period] :
       {std::pair<int64_t, int64_t>(static_cast<int64_t>(seed_ % kSlowMs), kSlowMs),
        std::pair<int64_t, int64_t>(static_cast<int64_t>((seed_ >> 21) % kFastMs), kFastMs)}) {
    const int64_t half = period / 2;
    for (int64_t t = ta + FloorMod(period / 4 - off - ta, half); t < tb; t += half) {
      if (t > ta) points.push_back(t);
    }
  }
  std::sort(points.begin(), points.end());
  std::vector<int64_t> g(points.size());
  size_t best = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    g[i] = sign * WavePpm(points[i]);
    if (g[i] > g[best]) best = i;
  }
  // A goodness some row really has: the ends', or the best of the rows next to the wave's best
  // point when that lies inside.
  auto goodness = [&](int64_t t) { return sign * (WavePpm(t) + NoiseAt(seed_, t)); };
  int64_t bound = std::max(goodness(ta), goodness(tb));
  if (points[best] != ta && points[best] != tb) {
    const int64_t c = std::clamp(CountBefore(points[best]), first, last - 1);
    for (Cursor cur(*this, std::max(first, c - 2), true); cur.id() < std::min(last, c + 2);
         cur.Next()) {
      if (cur.row().valid()) bound = std::max(bound, goodness(cur.row().time));
    }
  }
  // A row at least as good as `bound` has a wave goodness of at least bound - noise. Where the
  // straight segments reach that threshold (less a slack for the integer waves, which stray a
  // few ppm from straight lines) is where such rows can be.
  const int64_t thresh = bound - kNoisePpm - 2 * kRoundingPpm;
  std::vector<std::pair<int64_t, int64_t>> ranges;  // id ranges to read
  auto add = [&](int64_t lo, int64_t hi) {
    const int64_t x = std::max(first, CountBefore(std::max(ta, lo - 1000)));
    const int64_t y = std::min(last, CountUpTo(std::min(tb, hi + 1000)));
    if (x < y) ranges.push_back({x, y});
  };
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    const int64_t t0 = points[i];
    const int64_t t1 = points[i + 1];
    const int64_t g0 = g[i];
    const int64_t g1 = g[i + 1];
    if (g0 < thresh && g1 < thresh) continue;
    if (g0 >= thresh && g1 >= thresh) {
      add(t0, t1);
    } else if (g0 >= thresh) {  // falling below thresh inside the segment
      add(t0, t0 + (g0 - thresh) * (t1 - t0) / (g0 - g1));
    } else {
      add(t1 - (g1 - thresh) * (t1 - t0) / (g1 - g0), t1);
    }
  }
  std::sort(ranges.begin(), ranges.end());
  bool found = false;
  int64_t result = 0;
  int64_t done = first;  // ids below are read
  for (const auto& [x0, y] : ranges) {
    const int64_t x = std::max(x0, done);
    if (x >= y) continue;
    for (Cursor cur(*this, x, true); cur.id() < y; cur.Next()) {
      const AggTrade& r = cur.row();
      if (!r.valid()) continue;
      if (!found || (want_high ? r.price > result : r.price < result)) result = r.price;
      found = true;
    }
    done = y;
  }
  if (!found) {  // not expected: `bound` came from a row inside a range
    const Summary all = SummarizeByScan(first, last);
    return want_high ? all.high : all.low;
  }
  return result;
}

Tape::Cursor::Cursor(const Tape& tape, int64_t id, bool prices_only)
    : tape_(tape), id_(id), prices_only_(prices_only) {
  if (id_ >= tape_.end_id_) return;
  n_ = tape_.MinuteOfId(id_);
  minute_ms_ = tape_.MinuteStart(n_);
  EnterMinute();
  next_invalid_ = tape_.Invalidated(id_);
  Load();
}

void Tape::Cursor::EnterMinute() {
  first_id_ = tape_.R(n_);
  end_minute_ = tape_.R(n_ + 1);
  const Span s = tape_.FreeSpan(minute_ms_);
  lo_ = s.start;
  hi_ = s.end;
}

void Tape::Cursor::Load() {
  // next_invalid_ holds Invalidated(id_) here: computed once per id, as the previous row's
  // successor.
  const bool invalid = next_invalid_;
  next_invalid_ = tape_.Invalidated(id_ + 1);
  tape_.MakeRow(id_, {lo_, hi_}, first_id_, end_minute_, invalid, next_invalid_, &row_,
                prices_only_, &carry_);
}

void Tape::Cursor::Next() {
  ++id_;
  if (id_ >= tape_.end_id_) return;
  if (id_ >= end_minute_) {
    ++n_;
    int64_t m = minute_ms_ + kMinute;
    for (const Span& w : tape_.gap_minutes_) {
      if (w.start > m) break;
      if (m < w.end) m = w.end;
    }
    minute_ms_ = m;
    EnterMinute();
  }
  Load();
}

IdRange SelectAggTradeIds(const Tape& tape, const AggTradesWindow& window, int64_t now_ms) {
  const int64_t limit_id = tape.CountUpTo(now_ms);
  const int64_t limit = std::max(0, window.limit);
  IdRange r;
  if (window.from_id) {
    r.first = std::clamp<int64_t>(*window.from_id, 0, limit_id);
    r.last = std::min(limit_id, r.first + limit);
  } else if (window.start_ms || window.end_ms) {
    const int64_t bound =
        window.end_ms ? std::min(limit_id, tape.CountUpTo(*window.end_ms)) : limit_id;
    r.first = window.start_ms ? std::min(bound, tape.CountBefore(*window.start_ms)) : 0;
    r.last = std::min(bound, r.first + limit);
  } else {
    r.last = limit_id;
    r.first = std::max<int64_t>(0, limit_id - limit);
  }
  return r;
}

void AppendAggTradeJson(const AggTrade& t, std::string* out) {
  char buf[256];  // 4 integers of <= 20 digits, 2 decimals of <= 30 chars, keys and booleans
  char* p = buf;
  auto lit = [&p](const char* s) {
    const size_t n = std::strlen(s);
    std::memcpy(p, s, n);
    p += n;
  };
  lit("{\"a\":");
  p = WriteInt(p, t.id);
  lit(",\"p\":");
  p = WriteQuoted(p, t.price);
  lit(",\"q\":");
  p = WriteQuoted(p, t.qty);
  lit(",\"f\":");
  p = WriteInt(p, t.first_trade);
  lit(",\"l\":");
  p = WriteInt(p, t.last_trade);
  lit(",\"T\":");
  p = WriteInt(p, t.time);
  lit(t.buyer_maker ? ",\"m\":true" : ",\"m\":false");
  lit(t.best_match ? ",\"M\":true}" : ",\"M\":false}");
  out->append(buf, p);
}

void AppendAggTradesJson(const Tape& tape, const AggTradesWindow& window, int64_t now_ms,
                         std::string* out) {
  const IdRange r = SelectAggTradeIds(tape, window, now_ms);
  out->reserve(out->size() + 2 + static_cast<size_t>(r.last - r.first) * 110);
  out->push_back('[');
  if (r.first < r.last) {
    for (Tape::Cursor c(tape, r.first); c.id() < r.last; c.Next()) {
      if (c.id() > r.first) out->push_back(',');
      AppendAggTradeJson(c.row(), out);
    }
  }
  out->push_back(']');
}

Result<std::string> AggTradesJson(const SymbolSpec& spec, std::optional<int64_t> from_id,
                                  std::optional<int64_t> start_ms, std::optional<int64_t> end_ms,
                                  int limit, int64_t now_ms) {
  if (limit < 1 || limit > 1000) {
    return Status::Error("limit " + std::to_string(limit) + " is outside 1..1000");
  }
  if (from_id && (start_ms || end_ms)) {
    return Status::Error("fromId cannot be combined with startTime or endTime");
  }
  AggTradesWindow w;
  w.from_id = from_id;
  w.start_ms = start_ms;
  w.end_ms = end_ms;
  w.limit = limit;
  std::string out;
  AppendAggTradesJson(Tape(spec), w, now_ms, &out);
  return out;
}

}  // namespace qlir::sim
