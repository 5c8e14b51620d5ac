#include "tools/exchange-sim/candles.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/klines/interval.h"
#include "tools/exchange-sim/digits.h"
#include "tools/exchange-sim/mix.h"
#include "tools/exchange-sim/tape.h"

namespace qlir::sim {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kWeekMs = 7 * kDayMs;
// 1970-01-01 was a Thursday; weekly candles open on Mondays, the first one 1970-01-05.
constexpr int64_t kWeekOffsetMs = 4 * kDayMs;
// Bounds applied to request times before any arithmetic, so nothing overflows. Far beyond any
// real clock (year ~128 000) and far below INT64_MAX.
constexpr int64_t kFarMs = 4'000'000'000'000'000;
constexpr int64_t kUnits = 100'000'000;  // 1e8: units per whole asset

int64_t GridOffset(int64_t interval_ms) { return interval_ms == kWeekMs ? kWeekOffsetMs : 0; }

const GapWindow* GapHolding(const SymbolSpec& spec, int64_t interval_ms, int64_t open_ms) {
  for (const GapWindow& g : spec.gaps) {
    if (g.start_ms <= open_ms && open_ms + interval_ms <= g.end_ms) return &g;
  }
  return nullptr;
}

// The candle [open, open + iv) over the tape's rows [first, last) (those with time in the span,
// up to now). *last_price: the price of the last trade before first; updated.
// *cursor: a cursor kept across consecutive candles (reading a short candle's rows from where
// the previous one stopped costs less than a lookup).
Candle Aggregate(const Tape& tape, uint64_t seed, int64_t first, int64_t last, int64_t iv,
                 int64_t open_ms, int64_t* last_price, std::optional<Tape::Cursor>* cursor) {
  Candle c;
  c.open_time = open_ms;
  c.close_time = open_ms + iv - 1;
  Tape::Summary s;
  if (last - first <= Tape::kFullRows) {
    if (!*cursor || (*cursor)->id() != first) cursor->emplace(tape, first);
    s = Tape::ScanRows(&**cursor, last);
  } else {
    s = tape.Summarize(first, last);
  }
  if (!s.has_trades) {
    c.open = c.high = c.low = c.close = *last_price;
    return c;
  }
  c.open = s.open;
  c.high = s.high;
  c.low = s.low;
  c.close = s.close;
  c.volume = s.volume;
  c.trades = s.trades;
  *last_price = s.close;
  // Not sums over the trades (those would need every row of a long span): the volume at the
  // mean of open and close, and a taker share of 30 to 70 % hashed from the candle.
  const int64_t mean = c.open / 2 + c.close / 2 + (c.open % 2 + c.close % 2) / 2;
  c.quote_volume = MulDiv(mean, c.volume, kUnits);
  const uint64_t h = Hash(Hash(seed, static_cast<uint64_t>(iv)), static_cast<uint64_t>(open_ms));
  const int64_t taker_ppm = 300'000 + static_cast<int64_t>(h % 400'001);
  c.taker_buy_base = MulDiv(c.volume, taker_ppm, 1'000'000);
  c.taker_buy_quote = MulDiv(c.quote_volume, taker_ppm, 1'000'000);
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
  const Tape tape(spec);
  const int64_t limit_id = tape.CountUpTo(now_ms);
  const int64_t first = std::min(limit_id, tape.CountBefore(open_ms));
  const int64_t last = std::min(limit_id, tape.CountBefore(open_ms + interval_ms));
  int64_t last_price = tape.PriceBefore(first);
  std::optional<Tape::Cursor> cursor;
  return Aggregate(tape, Fnv1a(spec.symbol), first, last, interval_ms, open_ms, &last_price,
                   &cursor);
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
  out->reserve(out->size() + 2 + opens.size() * 200);
  out->push_back('[');
  if (!opens.empty()) {
    const Tape tape(spec);
    const uint64_t seed = Fnv1a(spec.symbol);
    const int64_t iv = window.interval_ms;
    const int64_t limit_id = tape.CountUpTo(now_ms);
    int64_t first = std::min(limit_id, tape.CountBefore(opens.front()));
    int64_t last_price = tape.PriceBefore(first);
    std::optional<Tape::Cursor> cursor;
    for (size_t i = 0; i < opens.size(); ++i) {
      if (i > 0) {
        out->push_back(',');
        // The trades of a candle start where those of the previous one end, unless a gap lies
        // between them.
        if (opens[i] != opens[i - 1] + iv) {
          first = std::min(limit_id, tape.CountBefore(opens[i]));
        }
      }
      const int64_t last = std::min(limit_id, tape.CountBefore(opens[i] + iv));
      AppendCandleJson(Aggregate(tape, seed, first, last, iv, opens[i], &last_price, &cursor), out);
      first = last;
    }
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
