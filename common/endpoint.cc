#include "common/endpoint.h"

#include <string>

#include "common/aggtrades/endpoint.h"
#include "common/funding/endpoint.h"
#include "common/json.h"
#include "common/klines/endpoint.h"

namespace qlir {

SliceKey Endpoint::GridSlice(std::string_view symbol, std::string_view interval, int64_t index,
                             int limit) const {
  const int64_t span = SliceSpanMs(interval, limit);
  return SliceKey{std::string(symbol), std::string(interval), index * span, (index + 1) * span - 1,
                  limit};
}

int64_t Endpoint::GridIndex(std::string_view interval, int64_t t_ms, int limit) const {
  return t_ms / SliceSpanMs(interval, limit);
}

bool Endpoint::IsGridSlice(const SliceKey& key) const {
  if (!ValidateInterval(key.interval).ok() || key.limit < 1 || key.limit > default_limit()) {
    return false;
  }
  const int64_t span = SliceSpanMs(key.interval, key.limit);
  return key.start_ms >= 0 && key.start_ms % span == 0 && key.end_ms == key.start_ms + span - 1;
}

Result<PayloadSummary> SummarizeObjectRows(std::string_view raw, std::string_view field) {
  nlohmann::json j = nlohmann::json::parse(raw.begin(), raw.end(), nullptr, false);
  if (j.is_discarded()) return Status::Error("data is not valid JSON");
  if (!j.is_array()) return Status::Error("data is not a JSON array");
  PayloadSummary d;
  d.n_items = static_cast<int64_t>(j.size());
  auto value = [&](const nlohmann::json& row) -> int64_t {
    if (!row.is_object()) return -1;
    auto it = row.find(field);
    return it != row.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
  };
  if (!j.empty()) {
    d.first_ts = value(j.front());
    d.last_ts = value(j.back());
  }
  return d;
}

// The registry: one line per endpoint.
const std::vector<const Endpoint*>& AllEndpoints() {
  static const std::vector<const Endpoint*> kAll = {
      &klines::TheKlinesEndpoint(),
      &funding::TheFundingEndpoint(),
      &aggtrades::TheAggTradesEndpoint(),
  };
  return kAll;
}

const Endpoint* FindEndpoint(std::string_view name) {
  for (const Endpoint* e : AllEndpoints()) {
    if (e->name() == name) return e;
  }
  return nullptr;
}

std::string UnknownEndpointMessage(std::string_view name) {
  std::string known;
  for (const Endpoint* e : AllEndpoints()) {
    if (!known.empty()) known += ", ";
    known += e->name();
  }
  return "unknown endpoint '" + std::string(name) + "' (known: " + known + ")";
}

}  // namespace qlir
