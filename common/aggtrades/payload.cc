// The aggTrades body is read as SAX events into one small state machine (RowReader), which holds
// every rule of payload.h. The events come from one of two readers:
//  - a scanner of the exact shape the exchange sends (single-letter keys, integers without
//    fraction or exponent, strings of digits, '-' and '.', true/false, JSON whitespace): one
//    pass over the bytes, about five times faster than nlohmann's SAX parser on a 1000-row page;
//  - nlohmann's SAX parser (the project's JSON parser, common/json.h), whenever the scanner meets
//    anything else (an unknown field, an escape, a fraction, a syntax error...). It then reads
//    the body again from the start, so every JSON rule and every syntax error is the library's.
// The scanner accepts a strict subset of JSON and feeds the same events nlohmann would, so the
// two give the same verdict (payload_test.cc compares them on mutated bodies).
#include "common/aggtrades/payload.h"

#include <charconv>
#include <limits>
#include <optional>
#include <string>

#include "common/json.h"
#include "common/json_syntax.h"

namespace qlir::aggtrades {
namespace {

// The sign of a plain decimal: -1, 0 or 1 ("-0.00" is 0).
int Sign(std::string_view d) {
  const bool nonzero = d.find_first_of("123456789") != std::string_view::npos;
  if (!nonzero) return 0;
  return !d.empty() && d.front() == '-' ? -1 : 1;
}

enum Field { kId, kPrice, kQty, kFirst, kLast, kTime, kMaker, kBestMatch, kFields, kOther };
constexpr const char* kFieldNames[kFields] = {"a", "p", "q", "f", "l", "T", "m", "M"};

Field FieldOf(std::string_view k) {
  if (k.size() != 1) return kOther;
  switch (k[0]) {
    case 'a':
      return kId;
    case 'p':
      return kPrice;
    case 'q':
      return kQty;
    case 'f':
      return kFirst;
    case 'l':
      return kLast;
    case 'T':
      return kTime;
    case 'm':
      return kMaker;
    case 'M':
      return kBestMatch;
    default:
      return kOther;
  }
}

// The SAX handler (nlohmann::json_sax's member set, called by the parser). Returning false stops
// the parse; `error` then says why.
class RowReader {
 public:
  using json = nlohmann::json;
  RowReader(const SliceKey& key, std::vector<AggTrade>* rows) : key_(key), rows_(rows) {}

  std::string error;
  PayloadSummary summary;

  bool null() { return Scalar("null"); }
  bool boolean(bool v) {
    if (skip_ > 0 || depth_ != 2 || field_ == kOther) return Scalar("a boolean");
    if (field_ != kMaker && field_ != kBestMatch) return WrongType();
    (field_ == kMaker ? row_.buyer_maker : row_.best_price_match) = v;
    return true;
  }
  bool number_integer(json::number_integer_t v) { return Integer(v); }
  bool number_unsigned(json::number_unsigned_t v) {
    if (v > static_cast<json::number_unsigned_t>(std::numeric_limits<int64_t>::max())) {
      if (skip_ > 0 || depth_ != 2 || field_ == kOther) return Scalar("a number");
      if (field_ == kPrice || field_ == kQty || field_ == kMaker || field_ == kBestMatch) {
        return WrongType();
      }
      return Fail("field " + FieldName() + ": " + std::to_string(v) +
                  " does not fit a 64-bit integer");
    }
    return Integer(static_cast<int64_t>(v));
  }
  bool number_float(json::number_float_t, const json::string_t&) { return Scalar("a fraction"); }
  bool string(json::string_t& v) {
    if (skip_ > 0 || depth_ != 2 || field_ == kOther) return Scalar("a string");
    if (field_ != kPrice && field_ != kQty) return WrongType();
    if (!IsPlainDecimal(v)) return Fail(FieldName() + ": '" + v + "' is not a plain decimal");
    if (rows_) (field_ == kPrice ? row_.price : row_.quantity) = v;
    return true;
  }
  bool binary(json::binary_t&) { return Scalar("binary"); }
  bool start_object(std::size_t) {
    if (skip_ > 0 || (depth_ == 2 && field_ == kOther)) return Open();
    if (depth_ == 1) {
      if (summary.n_items >= key_.limit) {
        return Fail("more rows than the limit " + std::to_string(key_.limit));
      }
      depth_ = 2;
      seen_ = 0;
      row_.price.clear();
      row_.quantity.clear();
      return true;
    }
    if (depth_ == 0) return Fail("not a JSON array");
    return WrongType();
  }
  bool key(json::string_t& k) {
    if (skip_ > 0) return true;
    field_ = FieldOf(k);
    if (field_ == kOther) return true;
    if (seen_ & (1u << field_)) return Fail("field " + FieldName() + " given twice");
    seen_ |= 1u << field_;
    return true;
  }
  bool end_object() {
    if (skip_ > 0) return Close();
    depth_ = 1;
    return EndRow();
  }
  bool start_array(std::size_t) {
    if (skip_ > 0 || (depth_ == 2 && field_ == kOther)) return Open();
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    if (depth_ == 1) return Fail("not an object");
    return WrongType();
  }
  bool end_array() {
    if (skip_ > 0) return Close();
    depth_ = 0;  // the top array (rows are objects)
    return true;
  }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception&) {
    error = "not JSON: syntax error at byte " + std::to_string(position > 0 ? position - 1 : 0);
    if (!last_token.empty() && last_token.size() <= 40) error += " near '" + last_token + "'";
    if (summary.n_items > 0 || depth_ == 2)
      error += " (row " + std::to_string(summary.n_items) + ")";
    return false;
  }

 private:
  bool Fail(const std::string& what) {
    error = "row " + std::to_string(summary.n_items) + ": " + what;
    return false;
  }
  std::string FieldName() const { return field_ < kFields ? kFieldNames[field_] : "?"; }
  bool WrongType() {
    static const char* kWant[kFields] = {"an integer", "a decimal string", "a decimal string",
                                         "an integer", "an integer",       "an integer",
                                         "a boolean",  "a boolean"};
    return Fail("field " + FieldName() + ": expected " + kWant[field_]);
  }
  // A value other than a known field's: fine inside an ignored field, else wrong.
  bool Scalar(const char* what) {
    if (skip_ > 0 || (depth_ == 2 && field_ == kOther)) return true;
    if (depth_ == 0) return Fail("not a JSON array");
    if (depth_ == 1) return Fail(std::string("not an object but ") + what);
    return WrongType();
  }
  bool Open() {
    ++skip_;
    return true;
  }
  bool Close() {
    --skip_;
    return true;
  }
  bool Integer(int64_t v) {
    if (skip_ > 0 || depth_ != 2 || field_ == kOther) return Scalar("a number");
    switch (field_) {
      case kId:
        row_.id = v;
        return true;
      case kFirst:
        row_.first_trade = v;
        return true;
      case kLast:
        row_.last_trade = v;
        return true;
      case kTime:
        row_.time_ms = v;
        return true;
      default:
        return WrongType();
    }
  }
  bool EndRow() {
    constexpr unsigned kAll = (1u << kFields) - 1;
    if (seen_ != kAll) {
      for (int f = 0; f < kFields; ++f) {
        if (!(seen_ & (1u << f))) return Fail(std::string("no field ") + kFieldNames[f]);
      }
    }
    const int64_t a = row_.id;
    auto id = [&] { return "id " + std::to_string(a); };
    if (a < key_.start_ms || a > key_.end_ms) {
      return Fail(id() + " outside the window [" + std::to_string(key_.start_ms) + ", " +
                  std::to_string(key_.end_ms) + "]");
    }
    if (summary.n_items > 0 && a != summary.last_ts + 1) {
      return Fail(id() + " after id " + std::to_string(summary.last_ts) +
                  ": ids must be contiguous and ascending");
    }
    if (row_.time_ms < 0) return Fail(id() + ": negative T " + std::to_string(row_.time_ms));
    const bool invalidated = row_.first_trade == -1 && row_.last_trade == -1;
    if (!invalidated && (row_.first_trade < 0 || row_.last_trade < 0)) {
      return Fail(id() + ": f " + std::to_string(row_.first_trade) + " and l " +
                  std::to_string(row_.last_trade) +
                  " (trade ids are >= 0, or both -1 on an invalidated row)");
    }
    if (summary.n_items == 0) summary.first_ts = a;
    summary.last_ts = a;
    ++summary.n_items;
    if (rows_) rows_->push_back(row_);
    return true;
  }

  const SliceKey& key_;
  std::vector<AggTrade>* rows_;
  AggTrade row_;
  int depth_ = 0;  // 0 outside, 1 in the top array, 2 in a row
  int skip_ = 0;   // nesting inside an ignored field's value
  Field field_ = kOther;
  unsigned seen_ = 0;
};

// The fast reader: the shape the exchange sends, and nothing else.
class ShapeScanner {
 public:
  // Read whole; refused by the reader (its error says why); not the shape.
  enum Outcome { kRead, kRefused, kNotShape };
  ShapeScanner(std::string_view s, RowReader* reader) : s_(s), r_(reader) {}

  Outcome Run() {
    Space();
    if (!Eat('[')) return kNotShape;
    if (!r_->start_array(0)) return kRefused;
    Space();
    if (!Eat(']')) {
      while (true) {
        if (Outcome o = Row(); o != kRead) return o;
        Space();
        if (Eat(',')) {
          Space();
          continue;
        }
        if (Eat(']')) break;
        return kNotShape;
      }
    }
    if (!r_->end_array()) return kRefused;
    Space();
    return pos_ == s_.size() ? kRead : kNotShape;
  }

 private:
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void Space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  Outcome Row() {
    if (!Eat('{')) return kNotShape;
    if (!r_->start_object(0)) return kRefused;
    Space();
    if (!Eat('}')) {
      while (true) {
        if (pos_ + 3 > s_.size() || s_[pos_] != '"' || s_[pos_ + 2] != '"') return kNotShape;
        const char k = s_[pos_ + 1];
        if (FieldOf(std::string_view(&k, 1)) == kOther) return kNotShape;
        key_.assign(1, k);
        pos_ += 3;
        Space();
        if (!Eat(':')) return kNotShape;
        Space();
        if (!r_->key(key_)) return kRefused;
        Outcome o = kNotShape;
        switch (k) {
          case 'p':
          case 'q':
            o = String();
            break;
          case 'm':
          case 'M':
            o = Boolean();
            break;
          default:
            o = Integer();
        }
        if (o != kRead) return o;
        Space();
        if (Eat(',')) {
          Space();
          continue;
        }
        if (Eat('}')) break;
        return kNotShape;
      }
    }
    return r_->end_object() ? kRead : kRefused;
  }
  // -?(0|[1-9][0-9]*), not followed by a fraction or exponent, fitting the type nlohmann gives
  // it (int64 when negative, uint64 otherwise).
  Outcome Integer() {
    const size_t begin = pos_;
    const bool negative = Eat('-');
    const size_t digits = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    if (pos_ == digits || (pos_ - digits > 1 && s_[digits] == '0')) return kNotShape;
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
      return kNotShape;
    }
    const char* first = s_.data() + (negative ? begin : digits);
    const char* last = s_.data() + pos_;
    if (negative) {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(first, last, v);
      if (ec != std::errc() || p != last) return kNotShape;
      return r_->number_integer(v) ? kRead : kRefused;
    }
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || p != last) return kNotShape;
    return r_->number_unsigned(v) ? kRead : kRefused;
  }
  // A string of digits, '-' and '.' (what decimals are made of; the reader judges the rest).
  Outcome String() {
    if (!Eat('"')) return kNotShape;
    const size_t begin = pos_;
    while (pos_ < s_.size() &&
           ((s_[pos_] >= '0' && s_[pos_] <= '9') || s_[pos_] == '.' || s_[pos_] == '-')) {
      ++pos_;
    }
    if (!Eat('"')) return kNotShape;
    value_.assign(s_.data() + begin, pos_ - 1 - begin);
    return r_->string(value_) ? kRead : kRefused;
  }
  Outcome Boolean() {
    if (s_.substr(pos_, 4) == "true") {
      pos_ += 4;
      return r_->boolean(true) ? kRead : kRefused;
    }
    if (s_.substr(pos_, 5) == "false") {
      pos_ += 5;
      return r_->boolean(false) ? kRead : kRefused;
    }
    return kNotShape;
  }

  std::string_view s_;
  RowReader* r_;
  size_t pos_ = 0;
  std::string key_;
  std::string value_;
};

Result<PayloadSummary> Check(std::string_view body, const SliceKey& key,
                             std::vector<AggTrade>* rows, bool scanner = true) {
  auto fail = [&](const std::string& what) {
    return Status::Error("aggTrades body for " + key.composite_key() + " (" +
                         std::to_string(body.size()) + " bytes): " + what);
  };
  // A body cut off in transit almost never ends in ']': refuse it without reading it all.
  std::string_view trimmed = body;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t' ||
                              trimmed.back() == '\n' || trimmed.back() == '\r')) {
    trimmed.remove_suffix(1);
  }
  if (trimmed.empty() || trimmed.back() != ']') {
    return fail("not a JSON array (no closing ']'; truncated?)");
  }
  if (rows) rows->reserve(static_cast<size_t>(key.limit));
  if (scanner) {
    RowReader fast(key, rows);
    switch (ShapeScanner(body, &fast).Run()) {
      case ShapeScanner::kRead:
        return fast.summary;
      case ShapeScanner::kRefused:
        return fail(fast.error);
      case ShapeScanner::kNotShape:
        if (rows) rows->clear();  // read again, by the library
        break;
    }
  }
  RowReader reader(key, rows);
  nlohmann::detail::parser<nlohmann::json, json_detail::PointerChars> parser(
      nlohmann::detail::input_adapter(body.data(), body.data() + body.size()), nullptr,
      /*allow_exceptions_=*/false, /*skip_comments=*/false);
  if (!parser.sax_parse(&reader, /*strict=*/true)) {
    return fail(reader.error.empty() ? "not JSON" : reader.error);
  }
  return reader.summary;
}

}  // namespace

Result<PayloadSummary> ValidateAggTradesPayload(std::string_view body, const SliceKey& key) {
  return Check(body, key, nullptr);
}

Result<PayloadSummary> ValidateAggTradesPayloadByLibrary(std::string_view body,
                                                         const SliceKey& key) {
  return Check(body, key, nullptr, /*scanner=*/false);
}

Result<std::vector<AggTrade>> ParseAggTradesPayload(std::string_view body, const SliceKey& key) {
  std::vector<AggTrade> rows;
  auto valid = Check(body, key, &rows);
  if (!valid) return valid.status();
  return rows;
}

PayloadAudit AuditAggTradesPayload(std::string_view body, const SliceKey& key) {
  PayloadAudit audit;
  std::vector<AggTrade> rows;
  auto valid = Check(body, key, &rows);
  if (!valid) {
    audit.bad = valid.error();
    return audit;
  }
  audit.summary = *valid;
  auto irregular = [&](const std::string& what) {
    if (audit.irregular_rows++ == 0) audit.irregular = what;
  };
  if (!rows.empty() && rows.front().id != key.start_ms) {
    irregular("row 0 (id " + std::to_string(rows.front().id) +
              "): the first id, not the window's " + std::to_string(key.start_ms) +
              " (no id below it: before the series' first trade?)");
  }
  const AggTrade* prev = nullptr;  // the previous valid row
  bool invalidated_between = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    const AggTrade& r = rows[i];
    const std::string row = "row " + std::to_string(i) + " (id " + std::to_string(r.id) + ")";
    auto bad = [&](const std::string& what) {
      audit.bad = "aggTrades body for " + key.composite_key() + ": " + row + ": " + what;
    };
    if (r.invalidated()) {
      if (Sign(r.price) != 0 || Sign(r.quantity) != 0) {
        bad("invalidated (f = l = -1) but p " + r.price + " and q " + r.quantity + ", not 0");
        return audit;
      }
      invalidated_between = true;
      continue;
    }
    if (Sign(r.price) <= 0) {
      bad("price p " + r.price + " not above 0");
    } else if (Sign(r.quantity) <= 0) {
      bad("quantity q " + r.quantity + " not above 0");
    } else if (r.last_trade < r.first_trade) {
      bad("last trade id l " + std::to_string(r.last_trade) + " below the first f " +
          std::to_string(r.first_trade));
    } else if (prev && r.time_ms < prev->time_ms) {
      bad("T " + std::to_string(r.time_ms) + " before the previous trade's " +
          std::to_string(prev->time_ms));
    }
    if (!audit.bad.empty()) return audit;
    if (prev && !invalidated_between && r.first_trade != prev->last_trade + 1) {
      irregular(row + ": f " + std::to_string(r.first_trade) +
                ", not the previous row's l + 1 = " + std::to_string(prev->last_trade + 1));
    }
    prev = &r;
    invalidated_between = false;
  }
  return audit;
}

Result<PayloadSummary> SummarizeAggTradesData(std::string_view raw_data) {
  return SummarizeObjectRows(raw_data, "a");
}

Result<std::optional<int64_t>> FirstAggTradeId(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return Status::Error("aggTrades: not JSON");
  if (!j.is_array()) return Status::Error("aggTrades: not an array");
  if (j.empty()) return std::optional<int64_t>();
  const auto& r = j[0];
  if (!r.is_object()) return Status::Error("aggTrades: first row is not an object");
  auto it = r.find("a");
  if (it == r.end() || !it->is_number_integer() || it->get<int64_t>() < 0) {
    return Status::Error("aggTrades: first row has no id 'a'");
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

}  // namespace qlir::aggtrades
