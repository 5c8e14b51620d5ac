#include "common/funding/payload.h"

#include <string>

#include "common/json.h"
#include "common/json_syntax.h"

namespace qlir::funding {
namespace {

constexpr int64_t kHourMs = 3600000;
// The exchange records events a few milliseconds after the hour; more than this is irregular.
constexpr int64_t kOnTheHourMs = 1000;

// A plain decimal below zero ("-0.00" is not).
bool IsNegative(std::string_view d) {
  return !d.empty() && d.front() == '-' && d.find_first_of("123456789") != std::string_view::npos;
}

struct Row {
  int64_t time = 0;
  std::string rate;
  std::string mark;
};

// Parses and checks the body as ValidateFundingPayload documents; `rows`, when given, receives
// every row.
Result<PayloadSummary> Check(std::string_view body, const SliceKey& key, std::vector<Row>* rows) {
  const std::string where = "fundingRate body for " + key.composite_key() + " (" +
                            std::to_string(body.size()) + " bytes)";
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return Status::Error(where + ": not JSON");
  if (!j.is_array()) return Status::Error(where + ": not a JSON array");
  if (static_cast<int64_t>(j.size()) > key.limit) {
    return Status::Error(where + ": " + std::to_string(j.size()) + " rows, more than the limit " +
                         std::to_string(key.limit));
  }
  PayloadSummary summary;
  int64_t prev = 0;
  int64_t index = 0;
  for (const auto& r : j) {
    auto bad = [&](const std::string& what) {
      return Status::Error(where + ": row " + std::to_string(index) + ": " + what);
    };
    if (!r.is_object()) return bad("not an object");
    auto field = [&](const char* name) -> const nlohmann::json* {
      auto it = r.find(name);
      return it == r.end() ? nullptr : &*it;
    };
    const nlohmann::json* symbol = field("symbol");
    const nlohmann::json* time = field("fundingTime");
    const nlohmann::json* rate = field("fundingRate");
    const nlohmann::json* mark = field("markPrice");
    if (!symbol || !symbol->is_string()) return bad("no symbol string");
    if (symbol->get_ref<const std::string&>() != key.symbol) {
      return bad("symbol " + symbol->get<std::string>() + ", not " + key.symbol);
    }
    if (!time || !time->is_number_integer()) return bad("fundingTime is not an integer");
    const int64_t t = time->get<int64_t>();
    if (!rate || !rate->is_string() || !IsPlainDecimal(rate->get_ref<const std::string&>())) {
      return bad("fundingRate is not a decimal string");
    }
    if (!mark || !mark->is_string()) return bad("no markPrice string");
    const std::string& m = mark->get_ref<const std::string&>();
    if (!m.empty() && !IsPlainDecimal(m)) return bad("markPrice '" + m + "' is not a decimal");
    if (t < key.start_ms || t > key.end_ms) {
      return bad("fundingTime " + std::to_string(t) + " outside the window [" +
                 std::to_string(key.start_ms) + ", " + std::to_string(key.end_ms) + "]");
    }
    if (index > 0 && t <= prev) {
      return bad("fundingTime " + std::to_string(t) + " not after the previous one " +
                 std::to_string(prev));
    }
    if (index == 0) summary.first_ts = t;
    summary.last_ts = t;
    prev = t;
    if (rows) rows->push_back(Row{t, rate->get<std::string>(), m});
    ++index;
  }
  summary.n_items = index;
  return summary;
}

}  // namespace

Result<PayloadSummary> ValidateFundingPayload(std::string_view body, const SliceKey& key) {
  return Check(body, key, nullptr);
}

PayloadAudit AuditFundingPayload(std::string_view body, const SliceKey& key) {
  PayloadAudit audit;
  std::vector<Row> rows;
  auto valid = Check(body, key, &rows);
  if (!valid) {
    audit.bad = valid.error();
    return audit;
  }
  audit.summary = *valid;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const std::string row =
        "row " + std::to_string(i) + " (fundingTime " + std::to_string(r.time) + ")";
    if (IsNegative(r.mark)) {
      audit.bad = "fundingRate body for " + key.composite_key() + ": " + row +
                  ": negative markPrice " + r.mark;
      return audit;
    }
    const int64_t past_hour = r.time % kHourMs;
    if (past_hour > kOnTheHourMs && audit.irregular_rows++ == 0) {
      audit.irregular = row + ": " + std::to_string(past_hour) + " ms after the hour";
    }
  }
  return audit;
}

Result<PayloadSummary> SummarizeFundingData(std::string_view raw_data) {
  return SummarizeObjectRows(raw_data, "fundingTime");
}

}  // namespace qlir::funding
