// A small strict scanner for the klines body: it accepts exactly the JSON shape the exchange
// sends (payload.h) and reads nothing else, so it is cheap on large bodies and never throws.
#include "common/klines/payload.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <string>

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

  // A JSON string whose content is a plain decimal: -?[0-9]+(\.[0-9]+)?. No escapes.
  bool ReadDecimalString() {
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    ++pos_;
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
