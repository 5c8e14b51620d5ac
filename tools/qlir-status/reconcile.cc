#include "tools/qlir-status/reconcile.h"

#include <algorithm>
#include <limits>
#include <map>
#include <sstream>

#include "common/aggtrades/payload.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/exit_codes.h"
#include "common/holes.h"
#include "common/json.h"
#include "common/klines/interval.h"
#include "common/manifest.h"
#include "common/time_util.h"
#include "tools/qlir-status/manifest_reader.h"
#include "tools/qlir-status/series_scan.h"

namespace qlir::status_tool {

namespace fs = std::filesystem;

namespace {

__extension__ using UInt128 = unsigned __int128;
constexpr int kScaleDigits = 18;
constexpr UInt128 kScale = static_cast<UInt128>(1000000000000000000ULL);  // 10^18

constexpr std::string_view kKlines = "klines";
constexpr std::string_view kAggTrades = "aggTrades";
constexpr std::string_view kIdSeries = "id";

// One stored candle: its values as stored (for the report) and scaled (for the comparison).
struct Candle {
  std::string open, high, low, close, volume;
  Int128 o = 0, h = 0, l = 0, c = 0, v = 0;
  int64_t count = 0;
};

// What the valid trades of one candle give.
struct Bucket {
  Int128 open = 0, close = 0, high = 0, low = 0, volume = 0;
  int64_t count = 0;   // underlying trades: sum of l - f + 1
  int64_t trades = 0;  // valid aggregate trades
};

// A stored (ok or partial) entry of a manifest, with its parsed key.
struct StoredEntry {
  SliceKey key;
  const ManifestEntry* entry = nullptr;
};

std::vector<StoredEntry> StoredEntries(const Endpoint& endpoint, const Manifest& m) {
  std::vector<StoredEntry> out;
  for (const auto& [text, e] : m.slices) {
    if (e.status != SliceStatus::kOk && e.status != SliceStatus::kPartial) continue;
    auto key = endpoint.ParseKey(text);
    if (!key || key->symbol != m.symbol || key->interval != m.interval) continue;
    out.push_back({*key, &e});
  }
  std::sort(out.begin(), out.end(), [](const StoredEntry& a, const StoredEntry& b) {
    return a.key.start_ms < b.key.start_ms;
  });
  return out;
}

int64_t FloorTo(int64_t t, int64_t step) {
  int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}
int64_t CeilTo(int64_t t, int64_t step) {
  const int64_t f = FloorTo(t, step);
  return f == t ? t : f + step;
}

// The open times, as stored, and values of a klines response's rows.
Result<std::vector<std::pair<int64_t, Candle>>> ParseCandles(const std::string& data) {
  nlohmann::json j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded()) return Status::Error("klines data is not JSON");
  if (!j.is_array()) return Status::Error("klines data is not a JSON array");
  std::vector<std::pair<int64_t, Candle>> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& r = j[i];
    auto bad = [&](const std::string& what) {
      return Status::Error("klines row " + std::to_string(i) + ": " + what);
    };
    if (!r.is_array() || r.size() < 9) return bad("not a klines row");
    if (!r[0].is_number_integer() || !r[8].is_number_integer()) return bad("no open time or count");
    Candle c;
    std::string* text[5] = {&c.open, &c.high, &c.low, &c.close, &c.volume};
    Int128* value[5] = {&c.o, &c.h, &c.l, &c.c, &c.v};
    for (int f = 0; f < 5; ++f) {
      if (!r[f + 1].is_string()) return bad("field " + std::to_string(f + 1) + " not a string");
      *text[f] = r[f + 1].get<std::string>();
      if (!ParseScaledDecimal(*text[f], value[f])) {
        return bad("field " + std::to_string(f + 1) + " '" + *text[f] + "' is not a decimal");
      }
    }
    c.count = r[8].get<int64_t>();
    out.emplace_back(r[0].get<int64_t>(), std::move(c));
  }
  return out;
}

// A trade run: stored ids without a gap. Candles it covers are those with a valid trade of the
// run before them and one after them (or, from the symbol's first trade, everything before).
struct IdRun {
  bool from_listing = false;
  bool has_valid = false;
  int64_t first_t = 0;
  int64_t last_t = 0;
  int64_t last_id = -1;
};

// The candles (as time ranges) of `run` that every trade of is stored.
std::optional<TimeRange> RunCover(const IdRun& run, int64_t interval_ms) {
  if (!run.has_valid) return std::nullopt;
  const int64_t lo = run.from_listing ? 0 : CeilTo(run.first_t + 1, interval_ms);
  const int64_t hi = FloorTo(run.last_t - interval_ms, interval_ms);
  if (lo > hi) return std::nullopt;
  return TimeRange{lo, hi + interval_ms - 1, 1};
}

// The parts of time in both merged, ascending lists.
std::vector<TimeRange> Intersect(const std::vector<TimeRange>& a, const std::vector<TimeRange>& b) {
  std::vector<TimeRange> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const int64_t lo = std::max(a[i].start_ms, b[j].start_ms);
    const int64_t hi = std::min(a[i].end_ms, b[j].end_ms);
    if (lo <= hi) out.push_back({lo, hi, 1});
    (a[i].end_ms < b[j].end_ms ? i : j)++;
  }
  return out;
}

bool Covered(const std::vector<TimeRange>& ranges, int64_t open_ms, int64_t interval_ms) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), open_ms,
                             [](int64_t t, const TimeRange& r) { return t < r.start_ms; });
  if (it == ranges.begin()) return false;
  --it;
  return open_ms + interval_ms - 1 <= it->end_ms;
}

struct SymbolSeries {
  std::optional<SeriesLocation> klines;
  std::optional<SeriesLocation> trades;
};

// Reads a symbol's two series in time order, one klines slice at a time: the trades are read
// (in id order, their times ascending) until one lies past the slice's window, the window's
// candles are compared, and its trade buckets dropped. Memory holds one klines slice's candles,
// one aggTrades slice and the buckets of at most the trades read ahead.
class SymbolReconciler {
 public:
  SymbolReconciler(const SymbolSeries& series, int64_t interval_ms, const ReconcileOptions& o,
                   SymbolReconcile* s, std::vector<Disagreement>* disagreements)
      : series_(series), interval_ms_(interval_ms), s_(*s), out_(*disagreements) {
    first_open_ = o.start_ms ? CeilTo(*o.start_ms, interval_ms) : 0;
    last_open_ =
        o.end_ms ? FloorTo(*o.end_ms, interval_ms) : std::numeric_limits<int64_t>::max() / 2;
  }

  void Run(const Manifest& klines, const Manifest& trades) {
    trade_entries_ = StoredEntries(*FindEndpoint(kAggTrades), trades);
    for (const StoredEntry& se : StoredEntries(*FindEndpoint(kKlines), klines)) Window(se);
    // The trades after the last candle: read for the summary only.
    bucketing_ = false;
    while (next_trade_ < trade_entries_.size()) ReadTradeSlice();
    s_.compared = MergeWindows(std::move(compared_));
  }

 private:
  bool Wanted(int64_t open) const { return open >= first_open_ && open <= last_open_; }

  void Window(const StoredEntry& se) {
    auto data = ReadStoredData(series_.klines->dir, *se.entry);
    auto rows =
        data ? ParseCandles(*data) : Result<std::vector<std::pair<int64_t, Candle>>>(data.status());
    if (!rows) {
      s_.unreadable.push_back("klines " + se.key.composite_key() + ": " + rows.error());
      return;
    }
    ++s_.klines_slices;
    int64_t last_stored = -1;
    for (const auto& row : *rows) last_stored = std::max(last_stored, row.first);
    TimeRange cover{se.key.start_ms, se.key.end_ms, 1};
    // The last candle of a partial slice may have been open when it was fetched.
    if (se.entry->status != SliceStatus::kOk) cover.end_ms = last_stored - 1;
    // Every trade up to the window's end, and one after it when there is one.
    while (next_trade_ < trade_entries_.size() && !(has_valid_ && newest_t_ > se.key.end_ms)) {
      ReadTradeSlice();
    }
    std::vector<TimeRange> trades_cover = run_covers_;
    if (auto c = RunCover(run_, interval_ms_)) trades_cover.push_back(*c);
    std::vector<TimeRange> here;
    if (cover.start_ms <= cover.end_ms) {
      here = Intersect(Intersect({cover}, MergeWindows(std::move(trades_cover))),
                       {{first_open_, last_open_ + interval_ms_ - 1, 1}});
    }
    compared_.insert(compared_.end(), here.begin(), here.end());

    // The window's candles and buckets, in time order.
    std::sort(rows->begin(), rows->end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    auto ci = rows->begin();
    auto bi = buckets_.lower_bound(se.key.start_ms);
    const auto bend = buckets_.upper_bound(se.key.end_ms);
    while (ci != rows->end() || bi != bend) {
      const int64_t open = bi == bend                                   ? ci->first
                           : ci == rows->end() || bi->first < ci->first ? bi->first
                                                                        : ci->first;
      const Candle* c = ci != rows->end() && ci->first == open ? &ci->second : nullptr;
      const Bucket* b = bi != bend && bi->first == open ? &bi->second : nullptr;
      if (c) ++ci;
      if (b) ++bi;
      if (Wanted(open) && Covered(here, open, interval_ms_)) Compare(open, c, b);
    }
    buckets_.erase(buckets_.begin(), bend);
  }

  void Compare(int64_t open, const Candle* c, const Bucket* b) {
    ++s_.candles_compared;
    const size_t before = out_.size();
    auto report = [&](const std::string& field, std::string candle, std::string trades) {
      out_.push_back({s_.symbol, open, field, std::move(candle), std::move(trades)});
    };
    if (!c) {
      report("candle", "none",
             std::to_string(b->count) + " trades, volume " + FormatScaledDecimal(b->volume));
    } else {
      const Bucket none;
      const Bucket& t = b ? *b : none;
      if (c->count != t.count) report("trades", std::to_string(c->count), std::to_string(t.count));
      if (c->v != t.volume) report("volume", c->volume, FormatScaledDecimal(t.volume));
      if (b) {
        if (c->o != t.open) report("open", c->open, FormatScaledDecimal(t.open));
        if (c->h != t.high) report("high", c->high, FormatScaledDecimal(t.high));
        if (c->l != t.low) report("low", c->low, FormatScaledDecimal(t.low));
        if (c->c != t.close) report("close", c->close, FormatScaledDecimal(t.close));
      }
    }
    ++(out_.size() == before ? s_.agreeing : s_.disagreeing);
  }

  void ReadTradeSlice() {
    const StoredEntry& se = trade_entries_[next_trade_++];
    auto data = ReadStoredData(series_.trades->dir, *se.entry);
    auto rows = data ? aggtrades::ParseAggTradesPayload(*data, se.key)
                     : Result<std::vector<aggtrades::AggTrade>>(data.status());
    // Prices and quantities scaled first, so that a slice is used whole or not at all.
    std::vector<std::pair<Int128, Int128>> values;
    if (rows) {
      values.reserve(rows->size());
      for (const aggtrades::AggTrade& t : *rows) {
        Int128 p = 0, q = 0;
        if (!t.invalidated() &&
            (!ParseScaledDecimal(t.price, &p) || !ParseScaledDecimal(t.quantity, &q))) {
          rows = Status::Error("id " + std::to_string(t.id) + ": price " + t.price +
                               " or quantity " + t.quantity + " has more than 18 decimals");
          break;
        }
        values.emplace_back(p, q);
      }
    }
    if (!rows) {
      s_.unreadable.push_back("aggTrades " + se.key.composite_key() + ": " + rows.error());
      return;
    }
    ++s_.trade_slices;
    if (rows->empty()) return;
    s_.trades_read += static_cast<int64_t>(rows->size());
    if (s_.first_id < 0) s_.first_id = rows->front().id;
    s_.last_id = rows->back().id;
    if (!(run_.last_id >= 0 && rows->front().id == run_.last_id + 1)) {
      if (auto c = RunCover(run_, interval_ms_)) run_covers_.push_back(*c);
      run_ = IdRun{};
      // Rows starting above their window's start, or at id 0: nothing before them exists.
      run_.from_listing = rows->front().id == 0 || rows->front().id > se.key.start_ms;
    }
    for (size_t i = 0; i < rows->size(); ++i) {
      const aggtrades::AggTrade& t = (*rows)[i];
      run_.last_id = t.id;
      if (t.invalidated()) {
        ++s_.invalidated;
        continue;
      }
      if (!run_.has_valid) run_.first_t = t.time_ms;
      run_.has_valid = true;
      run_.last_t = t.time_ms;
      has_valid_ = true;
      newest_t_ = std::max(newest_t_, t.time_ms);
      const int64_t open = FloorTo(t.time_ms, interval_ms_);
      if (!bucketing_ || !Wanted(open)) continue;
      const auto [p, q] = values[i];
      Bucket& b = buckets_[open];
      if (b.trades == 0) {
        b.open = b.high = b.low = p;
      } else {
        b.high = std::max(b.high, p);
        b.low = std::min(b.low, p);
      }
      b.close = p;
      b.volume += q;
      b.count += t.last_trade - t.first_trade + 1;
      ++b.trades;
    }
  }

  const SymbolSeries& series_;
  const int64_t interval_ms_;
  SymbolReconcile& s_;
  std::vector<Disagreement>& out_;
  int64_t first_open_ = 0;
  int64_t last_open_ = 0;
  std::vector<StoredEntry> trade_entries_;
  size_t next_trade_ = 0;
  bool bucketing_ = true;
  bool has_valid_ = false;
  int64_t newest_t_ = 0;
  IdRun run_;
  std::vector<TimeRange> run_covers_;  // of the runs before run_
  std::map<int64_t, Bucket> buckets_;  // trades read, by candle, not yet compared
  std::vector<TimeRange> compared_;
};

SymbolReconcile ReconcileSymbol(ManifestReader& reader, const std::string& symbol,
                                const SymbolSeries& series, int64_t interval_ms,
                                const ReconcileOptions& o,
                                std::vector<Disagreement>* disagreements) {
  SymbolReconcile s;
  s.symbol = symbol;
  if (!series.klines || !series.trades) {
    s.error = !series.klines ? "no klines/" + symbol + "/" + o.interval + " series stored"
                             : "no aggTrades/" + symbol + "/id series stored";
    return s;
  }
  auto km = reader.Read(*series.klines);
  if (!km) {
    s.error = km.error();
    return s;
  }
  auto tm = reader.Read(*series.trades);
  if (!tm) {
    s.error = tm.error();
    return s;
  }
  SymbolReconciler(series, interval_ms, o, &s, disagreements).Run(*km, *tm);
  return s;
}

}  // namespace

bool ParseScaledDecimal(std::string_view text, Int128* out) {
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  Int128 v = 0;
  const size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (i - int_begin >= 20) return false;
    v = v * 10 + (text[i++] - '0');
  }
  if (i == int_begin) return false;
  int fraction = 0;
  if (i < text.size() && text[i] == '.') {
    const size_t frac_begin = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (fraction < kScaleDigits) {
        v = v * 10 + (text[i] - '0');
        ++fraction;
      } else if (text[i] != '0') {
        return false;
      }
      ++i;
    }
    if (i == frac_begin) return false;
  }
  if (i != text.size()) return false;
  for (; fraction < kScaleDigits; ++fraction) v *= 10;
  *out = negative ? -v : v;
  return true;
}

std::string FormatScaledDecimal(Int128 v) {
  const bool negative = v < 0;
  UInt128 u = negative ? -static_cast<UInt128>(v) : static_cast<UInt128>(v);
  UInt128 whole = u / kScale;
  UInt128 frac = u % kScale;
  std::string int_part;
  do {
    int_part.insert(int_part.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole != 0);
  std::string frac_part(kScaleDigits, '0');
  for (int k = kScaleDigits - 1; k >= 0; --k) {
    frac_part[static_cast<size_t>(k)] = static_cast<char>('0' + static_cast<int>(frac % 10));
    frac /= 10;
  }
  while (!frac_part.empty() && frac_part.back() == '0') frac_part.pop_back();
  return (negative ? "-" : "") + int_part + (frac_part.empty() ? "" : "." + frac_part);
}

int64_t ReconcileReport::candles_compared() const {
  int64_t n = 0;
  for (const SymbolReconcile& s : symbols) n += s.candles_compared;
  return n;
}

int64_t ReconcileReport::disagreeing() const {
  int64_t n = 0;
  for (const SymbolReconcile& s : symbols) n += s.disagreeing;
  return n;
}

bool ReconcileReport::HasError() const {
  return std::any_of(symbols.begin(), symbols.end(), [](const SymbolReconcile& s) {
    return !s.error.empty() || !s.unreadable.empty();
  });
}

Result<ReconcileReport> Reconcile(const fs::path& root, const ReconcileOptions& o) {
  auto interval_ms = klines::IntervalToMs(o.interval);
  if (!interval_ms) return interval_ms.status();
  if (o.interval == "1w") {
    return Status::InvalidArgument("reconcile compares candles up to 1d, not 1w");
  }
  auto reader = ManifestReader::Open(root);
  if (!reader) return reader.status();
  auto all = (*reader)->FindSeries(SeriesFilter{});
  if (!all) return all.status();
  std::map<std::string, SymbolSeries> by_symbol;
  for (const std::string& want : o.symbols) by_symbol[want];
  for (const SeriesLocation& loc : *all) {
    if (!o.symbols.empty() && !by_symbol.count(loc.symbol)) continue;
    if (loc.endpoint == kKlines && loc.interval == o.interval) by_symbol[loc.symbol].klines = loc;
    if (loc.endpoint == kAggTrades && loc.interval == kIdSeries) by_symbol[loc.symbol].trades = loc;
  }
  ReconcileReport r;
  r.data_root = root;
  r.interval = o.interval;
  for (const auto& [symbol, series] : by_symbol) {
    // Without a filter, only symbols with both series are compared.
    if (o.symbols.empty() && (!series.klines || !series.trades)) continue;
    r.symbols.push_back(
        ReconcileSymbol(**reader, symbol, series, *interval_ms, o, &r.disagreements));
  }
  return r;
}

std::string RenderReconcileText(const ReconcileReport& r) {
  std::ostringstream out;
  out << "data root: " << r.data_root.string() << "\n";
  for (const Disagreement& d : r.disagreements) {
    out << d.symbol << "  " << FormatIsoUtc(d.open_ms) << "  " << d.field << ": candle " << d.candle
        << ", trades " << d.trades << "\n";
  }
  int64_t trades = 0, invalidated = 0, agreeing = 0;
  for (const SymbolReconcile& s : r.symbols) {
    trades += s.trades_read;
    invalidated += s.invalidated;
    agreeing += s.agreeing;
    out << s.symbol << ": ";
    if (!s.error.empty()) {
      out << "ERROR " << s.error << "\n";
      continue;
    }
    out << "klines/" << r.interval << " " << s.klines_slices << " stored slices, aggTrades "
        << s.trade_slices << " stored slices";
    if (s.first_id >= 0) out << " (ids " << s.first_id << ".." << s.last_id << ")";
    out << "; ";
    if (s.compared.empty()) {
      out << "no time both cover\n";
    } else {
      out << "compared ";
      for (size_t i = 0; i < s.compared.size(); ++i) {
        out << (i ? ", " : "") << FormatWindow(s.compared[i].start_ms, s.compared[i].end_ms);
      }
      out << ": " << s.candles_compared << " candles, " << s.agreeing << " agree, " << s.disagreeing
          << " disagree\n";
    }
    for (const std::string& u : s.unreadable) out << "  ERROR unreadable " << u << "\n";
  }
  out << "reconcile: " << r.symbols.size() << (r.symbols.size() == 1 ? " symbol, " : " symbols, ")
      << r.candles_compared() << " candles compared, " << agreeing << " agree, " << r.disagreeing()
      << " disagree; " << trades << " trades read (" << invalidated << " invalidated, skipped)\n";
  return out.str();
}

std::string RenderReconcileJson(const ReconcileReport& r) {
  using ojson = nlohmann::ordered_json;
  ojson symbols = ojson::array();
  int64_t trades = 0, agreeing = 0;
  for (const SymbolReconcile& s : r.symbols) {
    trades += s.trades_read;
    agreeing += s.agreeing;
    ojson compared = ojson::array();
    for (const TimeRange& t : s.compared) {
      compared.push_back({{"start", FormatIsoUtc(t.start_ms)},
                          {"end", FormatIsoUtc(t.end_ms)},
                          {"start_ms", t.start_ms},
                          {"end_ms", t.end_ms}});
    }
    auto opt = [](int64_t v) { return v >= 0 ? ojson(v) : ojson(nullptr); };
    symbols.push_back({{"symbol", s.symbol},
                       {"error", s.error.empty() ? ojson(nullptr) : ojson(s.error)},
                       {"klines_slices", s.klines_slices},
                       {"trade_slices", s.trade_slices},
                       {"first_id", opt(s.first_id)},
                       {"last_id", opt(s.last_id)},
                       {"compared", std::move(compared)},
                       {"candles_compared", s.candles_compared},
                       {"agreeing", s.agreeing},
                       {"disagreeing", s.disagreeing},
                       {"trades_read", s.trades_read},
                       {"invalidated", s.invalidated},
                       {"unreadable", s.unreadable}});
  }
  ojson disagreements = ojson::array();
  for (const Disagreement& d : r.disagreements) {
    disagreements.push_back({{"symbol", d.symbol},
                             {"open", FormatIsoUtc(d.open_ms)},
                             {"open_ms", d.open_ms},
                             {"field", d.field},
                             {"candle", d.candle},
                             {"trades", d.trades}});
  }
  ojson j = {{"data_root", r.data_root.string()},
             {"interval", r.interval},
             {"exit_code", ReconcileExitCode(r)},
             {"candles_compared", r.candles_compared()},
             {"agreeing", agreeing},
             {"disagreeing", r.disagreeing()},
             {"trades_read", trades},
             {"symbols", std::move(symbols)},
             {"disagreements", std::move(disagreements)}};
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

int ReconcileExitCode(const ReconcileReport& r) {
  if (r.disagreeing() > 0 || r.HasError()) return kExitDoneWithFailures;
  if (r.candles_compared() == 0) return kExitCannotStart;
  return kExitDone;
}

}  // namespace qlir::status_tool
