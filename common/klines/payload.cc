// A small strict scanner for the klines body: it accepts exactly the JSON shape the exchange
// sends (payload.h) and reads nothing else, so it is cheap on large bodies and never throws.
#include "common/klines/payload.h"

#include <charconv>
#include <string>

#include "common/json.h"
#include "common/klines/interval.h"

namespace qlir::klines {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ >= s_.size(); }

  void SkipSpace() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos_;
    }
  }

  // Skips space, then consumes `c` if it is next.
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // A JSON integer: -?(0|[1-9][0-9]*), not followed by a fraction or exponent, fitting int64.
  bool ReadInteger(int64_t* out) {
    SkipSpace();
    const size_t begin = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    const size_t digits = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    if (pos_ == digits) return false;
    if (pos_ - digits > 1 && s_[digits] == '0') return false;
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) return false;
    auto [p, ec] = std::from_chars(s_.data() + begin, s_.data() + pos_, *out);
    return ec == std::errc() && p == s_.data() + pos_;
  }

  // A JSON string whose content is a plain decimal: -?[0-9]+(\.[0-9]+)?. No escapes. `text`,
  // when given, receives the decimal (without quotes).
  bool ReadDecimalString(std::string_view* text = nullptr) {
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    ++pos_;
    const size_t begin = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    size_t digits = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    if (pos_ == digits) return false;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      digits = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ == digits) return false;
    }
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    if (text) *text = s_.substr(begin, pos_ - begin);
    ++pos_;
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

constexpr int kFields = 12;

bool IsIntegerField(int i) { return i == 0 || i == 6 || i == 8; }

}  // namespace

Result<PayloadSummary> ValidateKlinesPayload(std::string_view body, const KlineSliceKey& key) {
  Scanner sc(body);
  PayloadSummary summary;
  auto fail = [&](int64_t row, const std::string& what) {
    std::string m =
        "klines body for " + key.composite_key() + " (" + std::to_string(body.size()) + " bytes): ";
    if (row >= 0) m += "row " + std::to_string(row) + ": ";
    m += what + " at byte " + std::to_string(sc.pos());
    return Status::Error(std::move(m));
  };

  // A body cut off in transit almost never ends in ']': reject it without scanning it all.
  std::string_view trimmed = body;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t' ||
                              trimmed.back() == '\n' || trimmed.back() == '\r')) {
    trimmed.remove_suffix(1);
  }
  if (trimmed.empty() || trimmed.back() != ']') {
    return fail(-1, "not a JSON array (no closing ']'; truncated?)");
  }
  if (!sc.Consume('[')) return fail(-1, "expected a JSON array");
  if (!sc.Consume(']')) {
    int64_t prev_open = 0;
    for (int64_t row = 0;; ++row) {
      if (row >= key.limit) {
        return fail(row, "more rows than the limit " + std::to_string(key.limit));
      }
      if (!sc.Consume('[')) return fail(row, "expected a 12-field array");
      int64_t open_time = 0;
      for (int f = 0; f < kFields; ++f) {
        if (f > 0 && !sc.Consume(',')) {
          return fail(row, "expected 12 fields, found " + std::to_string(f));
        }
        if (IsIntegerField(f)) {
          int64_t v = 0;
          if (!sc.ReadInteger(&v))
            return fail(row, "field " + std::to_string(f) + ": expected an integer");
          if (f == 0) open_time = v;
          if (f == 8 && v < 0) return fail(row, "field 8: negative number of trades");
        } else if (!sc.ReadDecimalString()) {
          return fail(row, "field " + std::to_string(f) + ": expected a decimal string");
        }
      }
      if (!sc.Consume(']')) return fail(row, "expected ']' after 12 fields");
      if (open_time < key.start_ms || open_time > key.end_ms) {
        return fail(row, "open time " + std::to_string(open_time) + " outside the window [" +
                             std::to_string(key.start_ms) + ", " + std::to_string(key.end_ms) +
                             "]");
      }
      if (row > 0 && open_time <= prev_open) {
        return fail(row, "open time " + std::to_string(open_time) + " not after the previous one " +
                             std::to_string(prev_open));
      }
      if (row == 0) summary.first_ts = open_time;
      summary.last_ts = open_time;
      prev_open = open_time;
      summary.n_items = row + 1;
      if (sc.Consume(']')) break;
      if (!sc.Consume(',')) return fail(row, "expected ',' or ']' after a row");
    }
  }
  sc.SkipSpace();
  if (!sc.AtEnd()) return fail(-1, "unexpected data after the array");
  return summary;
}

namespace {

// The magnitude of a plain decimal: its integer digits without leading zeros, and its fraction
// digits without trailing zeros.
struct DecimalParts {
  bool negative = false;
  std::string_view integer;
  std::string_view fraction;
  bool IsZero() const { return integer.empty() && fraction.empty(); }
};

DecimalParts SplitDecimal(std::string_view d) {
  DecimalParts p;
  if (!d.empty() && d.front() == '-') {
    p.negative = true;
    d.remove_prefix(1);
  }
  const size_t dot = d.find('.');
  p.integer = d.substr(0, dot);
  p.fraction = dot == std::string_view::npos ? std::string_view() : d.substr(dot + 1);
  while (!p.integer.empty() && p.integer.front() == '0') p.integer.remove_prefix(1);
  while (!p.fraction.empty() && p.fraction.back() == '0') p.fraction.remove_suffix(1);
  if (p.IsZero()) p.negative = false;
  return p;
}

int CompareMagnitude(const DecimalParts& a, const DecimalParts& b) {
  if (a.integer.size() != b.integer.size()) return a.integer.size() < b.integer.size() ? -1 : 1;
  if (int c = a.integer.compare(b.integer); c != 0) return c < 0 ? -1 : 1;
  if (int c = a.fraction.compare(b.fraction); c != 0) return c < 0 ? -1 : 1;
  return 0;
}

// Open times of `interval_ms` candles lie on multiples of it from the epoch, except weekly ones,
// which open on Mondays (the epoch was a Thursday; the first Monday is 4 days later).
bool OnGrid(int64_t open_ms, int64_t interval_ms) {
  constexpr int64_t kWeekMs = 7 * 86400000LL;
  const int64_t origin = interval_ms == kWeekMs ? 4 * 86400000LL : 0;
  int64_t r = (open_ms - origin) % interval_ms;
  if (r < 0) r += interval_ms;
  return r == 0;
}

}  // namespace

int CompareDecimal(std::string_view a, std::string_view b) {
  const DecimalParts pa = SplitDecimal(a);
  const DecimalParts pb = SplitDecimal(b);
  if (pa.negative != pb.negative) return pa.negative ? -1 : 1;
  const int c = CompareMagnitude(pa, pb);
  return pa.negative ? -c : c;
}

PayloadAudit AuditKlinesPayload(std::string_view body, const KlineSliceKey& key) {
  PayloadAudit audit;
  // Shape, window, order and limit: the fetcher's own rules, so both agree on them.
  auto valid = ValidateKlinesPayload(body, key);
  if (!valid) {
    audit.bad = valid.error();
    return audit;
  }
  audit.summary = *valid;
  auto interval = IntervalToMs(key.interval);
  const int64_t interval_ms = interval.ok() ? *interval : 0;
  // Second pass over a body known to be well formed: the values of each row.
  Scanner sc(body);
  sc.Consume('[');
  if (sc.Consume(']')) return audit;
  static const char* kNames[kFields] = {"open time",
                                        "open",
                                        "high",
                                        "low",
                                        "close",
                                        "volume",
                                        "close time",
                                        "quote volume",
                                        "trade count",
                                        "taker buy base volume",
                                        "taker buy quote volume",
                                        "unused"};
  for (int64_t row = 0;; ++row) {
    sc.Consume('[');
    int64_t ints[kFields] = {};
    std::string_view dec[kFields];
    for (int f = 0; f < kFields; ++f) {
      if (f > 0) sc.Consume(',');
      if (IsIntegerField(f)) {
        sc.ReadInteger(&ints[f]);
      } else {
        sc.ReadDecimalString(&dec[f]);
      }
    }
    sc.Consume(']');
    const int64_t open_time = ints[0];
    auto bad = [&](const std::string& what) {
      audit.bad = "klines body for " + key.composite_key() + ": row " + std::to_string(row) +
                  " (open time " + std::to_string(open_time) + "): " + what;
    };
    auto field = [&](int f) { return std::string(kNames[f]) + " " + std::string(dec[f]); };
    if (CompareDecimal(dec[3], dec[2]) > 0) {
      bad("low above high: " + field(3) + ", " + field(2));
    } else if (CompareDecimal(dec[3], dec[1]) > 0 || CompareDecimal(dec[1], dec[2]) > 0) {
      bad("open outside [low, high]: " + field(1) + ", " + field(3) + ", " + field(2));
    } else if (CompareDecimal(dec[3], dec[4]) > 0 || CompareDecimal(dec[4], dec[2]) > 0) {
      bad("close outside [low, high]: " + field(4) + ", " + field(3) + ", " + field(2));
    } else {
      for (int f : {5, 7, 9, 10}) {
        if (CompareDecimal(dec[f], "0") < 0) {
          bad("negative " + field(f));
          break;
        }
      }
    }
    if (!audit.bad.empty()) return audit;
    // ValidateKlinesPayload refused negative trade counts already.
    if (interval_ms > 0) {
      std::string irregular;
      if (!OnGrid(open_time, interval_ms)) {
        irregular = "open time off the " + key.interval + " grid";
      } else if (ints[6] != open_time + interval_ms - 1) {
        irregular = "close time " + std::to_string(ints[6]) + ", not open time + " + key.interval +
                    " - 1 = " + std::to_string(open_time + interval_ms - 1);
      }
      if (!irregular.empty() && audit.irregular_rows++ == 0) {
        audit.irregular = "row " + std::to_string(row) + " (open time " +
                          std::to_string(open_time) + "): " + irregular;
      }
    }
    if (sc.Consume(']')) break;
    sc.Consume(',');
  }
  return audit;
}

Result<PayloadSummary> SummarizeKlinesData(std::string_view raw_data) {
  nlohmann::json j = nlohmann::json::parse(raw_data.begin(), raw_data.end(), nullptr, false);
  if (j.is_discarded()) return Status::Error("data is not valid JSON");
  if (!j.is_array()) return Status::Error("data is not a JSON array");
  PayloadSummary d;
  d.n_items = static_cast<int64_t>(j.size());
  auto open_time = [](const nlohmann::json& row) -> int64_t {
    if (row.is_array() && !row.empty() && row[0].is_number_integer()) return row[0].get<int64_t>();
    return -1;
  };
  if (!j.empty()) {
    d.first_ts = open_time(j.front());
    d.last_ts = open_time(j.back());
  }
  return d;
}

}  // namespace qlir::klines
