#include "tools/exchange-sim/tape.h"

#include <catch2/catch.hpp>
#include <map>

#include "common/json.h"
#include "common/time_util.h"
#include "tools/exchange-sim/config.h"

namespace qlir::sim {
namespace {

constexpr int64_t kMin = 60'000;

int64_t T(const char* iso) { return *ParseTimeUtc(iso); }

// Listed mid-minute, a gap with unaligned ends, a gap wholly inside one minute, delisted
// mid-minute.
SymbolSpec Spec(int trades_per_minute = 3) {
  SymbolSpec s;
  s.symbol = "BTCUSDT";
  s.base_asset = "BTC";
  s.quote_asset = "USDT";
  s.listing_ms = T("2020-01-01T04:00:30Z");
  s.delisting_ms = T("2020-01-03T00:00:20Z");
  s.gaps = {{T("2020-01-01T10:00:10Z"), T("2020-01-01T12:30:40Z")},
            {T("2020-01-02T01:00:10Z"), T("2020-01-02T01:00:20Z")}};
  s.base_price = 30'000'00000000;
  s.base_volume = 50'00000000;
  s.trades_per_minute = trades_per_minute;
  return s;
}

bool InGap(const SymbolSpec& s, int64_t t) {
  for (const GapWindow& g : s.gaps) {
    if (g.start_ms <= t && t < g.end_ms) return true;
  }
  return false;
}

TEST_CASE("tape invariants: contiguous ids, times, trade ids, invalidated rows") {
  for (int k : {1, 3, 7}) {
    CAPTURE(k);
    const SymbolSpec spec = Spec(k);
    const Tape tape(spec);
    REQUIRE(tape.end_id() > 0);
    REQUIRE(tape.end_id() < 3 * 1440 * (k + 1));
    std::map<int64_t, std::pair<int, int>> per_minute;  // minute -> rows, valid rows
    int64_t prev_time = INT64_MIN;
    int64_t prev_last = -1;  // l of the previous valid row
    int invalid = 0;
    Tape::Cursor c(tape, 0);
    for (int64_t id = 0; id < tape.end_id(); ++id, c.Next()) {
      REQUIRE(c.id() == id);
      const AggTrade& r = c.row();
      REQUIRE(r.id == id);
      if (id % 97 == 0 || !r.valid()) REQUIRE(tape.Row(id) == r);  // random access agrees
      REQUIRE(r.time >= prev_time);
      prev_time = r.time;
      REQUIRE(r.time >= spec.listing_ms);
      REQUIRE(r.time < *spec.delisting_ms);
      REQUIRE_FALSE(InGap(spec, r.time));
      auto& m = per_minute[r.time - r.time % kMin];
      ++m.first;
      if (r.valid()) {
        ++m.second;
        REQUIRE(r.first_trade == prev_last + 1);
        REQUIRE(r.last_trade >= r.first_trade);
        REQUIRE(r.price > 0);
        REQUIRE(r.qty > 0);
        prev_last = r.last_trade;
      } else {
        ++invalid;
        CHECK(r.price == 0);
        CHECK(r.qty == 0);
        CHECK(r.last_trade == -1);
        CHECK(r.best_match);
      }
    }
    REQUIRE(c.id() == tape.end_id());
    // Every minute with trading holds k-1..k+1 rows (k alone for k = 1), one valid at least;
    // a minute cut by the listing, a gap or the delisting holds rows too.
    for (const auto& [minute, counts] : per_minute) {
      CAPTURE(FormatIsoUtcMs(minute));
      CHECK(counts.first >= std::max(1, k - 1));
      CHECK(counts.first <= k + (k > 1 ? 1 : 0));
      CHECK(counts.second >= 1);
    }
    const int64_t minutes = static_cast<int64_t>(per_minute.size());
    CHECK(per_minute.count(T("2020-01-01T04:00:00Z")) == 1);
    CHECK(per_minute.count(T("2020-01-01T10:00:00Z")) == 1);
    CHECK(per_minute.count(T("2020-01-01T10:01:00Z")) == 0);
    CHECK(per_minute.count(T("2020-01-01T12:30:00Z")) == 1);
    CHECK(per_minute.count(T("2020-01-02T01:00:00Z")) == 1);
    CHECK(per_minute.count(T("2020-01-03T00:00:00Z")) == 1);
    // 2 days minus 4 h of listing day, minus the 149 whole gap minutes.
    CHECK(minutes == 2 * 1440 - 240 + 1 - 149);
    if (k == 1) {
      CHECK(invalid == 0);  // every row opens its minute
    } else {
      // About one in 500 ids is a candidate, less the candidates that open their minute.
      CHECK(invalid * 1500 > tape.end_id());
      CHECK(invalid * 400 < tape.end_id());
    }
  }
}

TEST_CASE("tape time to id and id to time, across a gap") {
  const SymbolSpec spec = Spec();
  const Tape tape(spec);
  CHECK(tape.CountBefore(INT64_MIN) == 0);
  CHECK(tape.CountBefore(spec.listing_ms) == 0);
  CHECK(tape.CountBefore(INT64_MAX) == tape.end_id());
  CHECK(tape.CountBefore(*spec.delisting_ms) == tape.end_id());
  CHECK(tape.CountUpTo(INT64_MAX) == tape.end_id());
  // No row inside the gap: the first at or after its start is the first after its end.
  const GapWindow gap = spec.gaps[0];
  const int64_t at_gap = tape.CountBefore(gap.start_ms);
  CHECK(tape.CountBefore(gap.end_ms) == at_gap);
  CHECK(tape.Row(at_gap).time >= gap.end_ms);
  CHECK(tape.Row(at_gap - 1).time < gap.start_ms);
  // CountBefore(t) is the first id with time >= t, for times all over the tape.
  for (int64_t t = spec.listing_ms - 5 * kMin; t < *spec.delisting_ms + kMin; t += 7'919) {
    const int64_t id = tape.CountBefore(t);
    CAPTURE(FormatIsoUtcMs(t), id);
    if (id > 0) REQUIRE(tape.Row(id - 1).time < t);
    if (id < tape.end_id()) REQUIRE(tape.Row(id).time >= t);
    // Exact times of rows.
    if (id < tape.end_id()) {
      const AggTrade r = tape.Row(id);
      REQUIRE(tape.CountBefore(r.time) <= id);
      REQUIRE(tape.CountUpTo(r.time) > id);
    }
  }
}

TEST_CASE("a symbol listed since 2017 answers any id and any time without a scan") {
  // BTCUSDT of the default set with its four gaps: ids of 2026 are ~ 14 M (3 a minute).
  const SymbolSpec btc = DefaultSymbols()[0];
  const Tape tape(btc);
  const int64_t now = T("2026-11-30T00:00:00Z");
  const int64_t newest = tape.CountUpTo(now) - 1;
  CHECK(newest > 12'000'000);
  const AggTrade last = tape.Row(newest);
  CHECK(last.time <= now);
  CHECK(last.time > now - kMin);
  CHECK(tape.CountBefore(last.time + 1) == newest + 1);
  // The 2018 gap of a day and a half: nothing inside, ids run on.
  const int64_t a = tape.CountBefore(T("2018-02-08T00:29:00Z"));
  CHECK(tape.CountBefore(T("2018-02-09T10:00:00Z")) == a);
  CHECK(tape.Row(a - 1).time < T("2018-02-08T00:29:00Z"));
  CHECK(tape.Row(a).time >= T("2018-02-09T10:00:00Z"));
}

TEST_CASE("aggTrades windows: fromId, times, neither, limit and now") {
  const SymbolSpec spec = Spec();
  const Tape tape(spec);
  const int64_t now = T("2020-01-02T12:00:00Z");
  const int64_t newest = tape.CountUpTo(now);
  auto sel = [&](std::optional<int64_t> from, std::optional<int64_t> start,
                 std::optional<int64_t> end, int limit) {
    AggTradesWindow w;
    w.from_id = from;
    w.start_ms = start;
    w.end_ms = end;
    w.limit = limit;
    const IdRange r = SelectAggTradeIds(tape, w, now);
    return std::pair<int64_t, int64_t>(r.first, r.last);
  };
  using P = std::pair<int64_t, int64_t>;
  CHECK(sel(0, {}, {}, 1000) == P(0, 1000));
  CHECK(sel(1000, {}, {}, 1000) == P(1000, 2000));
  CHECK(sel(newest - 10, {}, {}, 1000) == P(newest - 10, newest));  // the open tail
  CHECK(sel(newest + 5, {}, {}, 1000) == P(newest, newest));        // nothing yet
  CHECK(sel({}, {}, {}, 500) == P(newest - 500, newest));           // the most recent
  const int64_t t0 = T("2020-01-01T10:00:00Z");
  const int64_t a = tape.CountBefore(t0);
  CHECK(sel({}, t0, {}, 3) == P(a, a + 3));  // start alone
  // Both: the oldest inside, ending at the last row with T <= end.
  const int64_t end = tape.Row(a + 1).time;
  CHECK(sel({}, t0, end, 1000) == P(a, a + 2));
  CHECK(sel({}, {}, end, 2) == P(0, 2));
  const int64_t b = tape.CountBefore(T("2020-01-01T10:01:00Z"));  // after the 10:00 rows
  CHECK(b >= a + 2);
  CHECK(sel({}, T("2020-01-01T10:01:00Z"), T("2020-01-01T12:00:00Z"), 1000) == P(b, b));
  CHECK(sel({}, T("2020-01-05T00:00:00Z"), {}, 10) == P(newest, newest));  // after now

  const nlohmann::json j = nlohmann::json::parse(*AggTradesJson(spec, 0, {}, {}, 3, now));
  REQUIRE(j.size() == 3);
  for (const auto& row : j) {
    REQUIRE(row.size() == 8);
    CHECK(row["p"].get<std::string>().size() - row["p"].get<std::string>().find('.') == 9);
    CHECK(row["q"].is_string());
    CHECK(row["m"].is_boolean());
    CHECK(row["M"] == true);
  }
  CHECK(j[0]["a"] == 0);
  CHECK_FALSE(AggTradesJson(spec, 0, 1, {}, 3, now).ok());
  CHECK_FALSE(AggTradesJson(spec, 0, {}, {}, 1001, now).ok());
  CHECK(*AggTradesJson(spec, {}, 0, spec.listing_ms - 1, 10, now) == "[]");
}

// Aggregates served trades (parsed JSON) the way a reconciler does.
struct Sums {
  std::string open, high, low, close;
  int64_t volume = 0, trades = 0, count = 0;
};

int64_t Units(const std::string& text) { return *ParseDecimal8(text); }

std::string Dec(int64_t units) {
  std::string s;
  AppendDecimal8(units, &s);
  return s;
}

// rows ascend by T.
Sums Aggregate(const nlohmann::json& rows, int64_t open, int64_t end) {
  Sums s;
  int64_t hi = -1;
  int64_t lo = INT64_MAX;
  auto at = [&](size_t i) { return rows[i]["T"].get<int64_t>(); };
  size_t a = 0;
  size_t b = rows.size();
  while (a < b) {  // the first row with T >= open
    const size_t mid = (a + b) / 2;
    if (at(mid) < open) {
      a = mid + 1;
    } else {
      b = mid;
    }
  }
  for (size_t i = a; i < rows.size() && at(i) < end; ++i) {
    const auto& r = rows[i];
    if (r["f"].get<int64_t>() < 0) continue;
    const int64_t p = Units(r["p"]);
    const int64_t q = Units(r["q"]);
    if (s.count++ == 0) s.open = r["p"];
    s.close = r["p"];
    hi = std::max(hi, p);
    lo = std::min(lo, p);
    s.volume += q;
    s.trades += r["l"].get<int64_t>() - r["f"].get<int64_t>() + 1;
  }
  if (s.count > 0) {
    s.high = Dec(hi);
    s.low = Dec(lo);
  }
  return s;
}

void CheckCandle(const nlohmann::json& k, const Sums& s) {
  CAPTURE(k.dump());
  if (s.count == 0) {
    CHECK(k[8] == 0);
    CHECK(k[5] == "0.00000000");
    CHECK(k[1] == k[4]);
    CHECK(k[2] == k[4]);
    CHECK(k[3] == k[4]);
    return;
  }
  CHECK(k[1] == s.open);
  CHECK(k[2] == s.high);
  CHECK(k[3] == s.low);
  CHECK(k[4] == s.close);
  CHECK(Units(k[5]) == s.volume);
  CHECK(k[8].get<int64_t>() == s.trades);
  CHECK(Units(k[9]) <= s.volume);
}

TEST_CASE("candles of every interval agree with the trades") {
  const SymbolSpec spec = Spec();
  const Tape tape(spec);
  const int64_t now = T("2020-01-02T12:00:30.500Z");
  // All trades of the first day and a half (the tape is small here).
  const int64_t day0 = T("2020-01-01T00:00:00Z");
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t from = 0; from < tape.CountUpTo(now); from += 1000) {
    for (auto& r : nlohmann::json::parse(*AggTradesJson(spec, from, {}, {}, 1000, now))) {
      rows.push_back(std::move(r));
    }
  }
  REQUIRE(rows.size() == static_cast<size_t>(tape.CountUpTo(now)));
  // A minute with an invalidated row must be among those checked.
  int64_t invalid_minute = -1;
  for (const auto& r : rows) {
    if (r["f"] == -1) {
      invalid_minute = r["T"].get<int64_t>() / kMin * kMin;
      break;
    }
  }
  REQUIRE(invalid_minute > 0);

  for (const char* interval : {"1s", "1m", "5m", "1h", "1d"}) {
    CAPTURE(interval);
    const int64_t iv = interval[1] == 's'   ? 1000
                       : interval[1] == 'm' ? (interval[0] - '0') * kMin
                       : interval[1] == 'h' ? 60 * kMin
                                            : 1440 * kMin;
    std::vector<int64_t> starts = {day0,
                                   spec.gaps[0].start_ms - 3 * kMin,
                                   spec.gaps[0].end_ms - 2 * kMin,
                                   invalid_minute - 2 * kMin,
                                   spec.gaps[1].start_ms - 30'000,
                                   now - 100 * iv};
    for (int64_t start : starts) {
      // From the candle holding `start`.
      const nlohmann::json candles =
          nlohmann::json::parse(*KlinesJson(spec, interval, AlignDown(start, iv), {}, 100, now));
      REQUIRE_FALSE(candles.empty());
      for (const auto& k : candles) {
        const int64_t open = k[0].get<int64_t>();
        CheckCandle(k, Aggregate(rows, open, open + iv));
      }
    }
  }
  // The minute with the invalidated row, and the minutes cut by the gaps, have trades.
  for (int64_t minute : {invalid_minute, T("2020-01-01T10:00:00Z"), T("2020-01-01T12:30:00Z"),
                         T("2020-01-02T01:00:00Z")}) {
    const nlohmann::json k = nlohmann::json::parse(*KlinesJson(spec, "1m", minute, minute, 1, now));
    REQUIRE(k.size() == 1);
    CHECK(k[0][8].get<int64_t>() > 0);
  }
  // The open candle holds the trades up to now only.
  const nlohmann::json open = nlohmann::json::parse(*KlinesJson(spec, "1m", {}, {}, 1, now));
  CheckCandle(open[0], Aggregate(rows, now - 30'500, now + 1));
}

TEST_CASE("long ranges are summarized from a few rows exactly as from all of them") {
  // Ranges up to weeks, over the default BTCUSDT (gaps of hours and of a day and a half) and a
  // symbol with other waves, from a few hundred rows up.
  for (const SymbolSpec& spec : {DefaultSymbols()[0], DefaultSymbols()[4]}) {
    CAPTURE(spec.symbol);
    const Tape tape(spec);
    const int64_t t0 = T("2019-07-06T00:00:00Z");
    int checked = 0;
    for (int64_t span_min : {200, 600, 1440, 4320, 10080, 30000}) {
      for (int64_t start = t0; start < t0 + 600LL * 86'400'000;
           start += 7 * 86'400'000 + 4'321'000) {
        const int64_t first = tape.CountBefore(start);
        const int64_t last = tape.CountBefore(start + span_min * kMin + 17'000);
        const Tape::Summary fast = tape.Summarize(first, last);
        const Tape::Summary slow = tape.SummarizeByScan(first, last);
        CAPTURE(FormatIsoUtcMs(start), span_min);
        REQUIRE(fast.has_trades == slow.has_trades);
        REQUIRE(fast.open == slow.open);
        REQUIRE(fast.close == slow.close);
        REQUIRE(fast.high == slow.high);
        REQUIRE(fast.low == slow.low);
        REQUIRE(fast.volume == slow.volume);
        REQUIRE(fast.trades == slow.trades);
        ++checked;
        if (span_min >= 10080) start += 60LL * 86'400'000;  // fewer of the long ones
      }
    }
    CHECK(checked > 200);
  }
}

TEST_CASE("tape of an awkward spec: overlapping and touching gaps, a gap at the listing") {
  SymbolSpec s = Spec(4);
  s.listing_ms = T("2020-01-01T03:59:59.990Z");
  s.delisting_ms = T("2020-01-01T13:00:00Z");
  s.gaps = {{T("2020-01-01T04:00:00Z"), T("2020-01-01T04:00:30Z")},  // just after the listing
            {T("2020-01-01T10:20:00Z"), T("2020-01-01T11:00:00.500Z")},
            {T("2020-01-01T10:00:10Z"), T("2020-01-01T10:30:00Z")},  // overlaps the one above
            {T("2020-01-01T12:00:00Z"), T("2020-01-01T12:00:30Z")},
            {T("2020-01-01T12:00:30Z"), T("2020-01-01T12:01:30Z")}};  // touches the one above
  const Tape tape(s);
  std::map<int64_t, int> valid_per_minute;
  int64_t prev_time = INT64_MIN;
  int64_t prev_last = -1;
  for (Tape::Cursor c(tape, 0); c.id() < tape.end_id(); c.Next()) {
    const AggTrade& r = c.row();
    CAPTURE(r.id, FormatIsoUtcMs(r.time));
    REQUIRE(r.time >= prev_time);
    prev_time = r.time;
    REQUIRE(r.time >= s.listing_ms);
    REQUIRE(r.time < *s.delisting_ms);
    REQUIRE_FALSE(InGap(s, r.time));
    if (r.valid()) {
      REQUIRE(r.first_trade == prev_last + 1);
      prev_last = r.last_trade;
      ++valid_per_minute[r.time - r.time % kMin];
    }
  }
  CHECK(valid_per_minute.count(T("2020-01-01T03:59:00Z")) == 1);  // 10 ms of trading
  CHECK(valid_per_minute.count(T("2020-01-01T04:00:00Z")) == 1);
  CHECK(valid_per_minute.count(T("2020-01-01T10:00:00Z")) == 1);
  CHECK(valid_per_minute.count(T("2020-01-01T10:01:00Z")) == 0);
  CHECK(valid_per_minute.count(T("2020-01-01T11:00:00Z")) == 1);
  CHECK(valid_per_minute.count(T("2020-01-01T12:00:00Z")) == 0);  // wholly inside the two
  CHECK(valid_per_minute.count(T("2020-01-01T12:01:00Z")) == 1);
  // 1m candles agree with the tape's minutes: those with trades have them, the rest none.
  const int64_t now = T("2020-01-02T00:00:00Z");
  const nlohmann::json candles =
      nlohmann::json::parse(*KlinesJson(s, "1m", s.listing_ms - kMin, {}, 1000, now));
  int with_trades = 0;
  for (const auto& k : candles) {
    const bool has = valid_per_minute.count(k[0].get<int64_t>()) == 1;
    CHECK((k[8].get<int64_t>() > 0) == has);
    with_trades += has ? 1 : 0;
  }
  CHECK(with_trades == static_cast<int>(valid_per_minute.size()));
}

}  // namespace
}  // namespace qlir::sim
