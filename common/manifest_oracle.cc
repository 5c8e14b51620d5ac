#include "common/manifest_oracle.h"

#include "common/body_digest.h"
#include "common/json.h"

namespace qlir {

using nlohmann::json;

namespace {

struct SchemaError {
  std::string what;
};

const json& Field(const json& obj, const char* name, const std::string& where) {
  auto it = obj.find(name);
  if (it == obj.end()) throw SchemaError{where + ": missing field '" + name + "'"};
  return *it;
}

std::string Str(const json& obj, const char* name, const std::string& where) {
  const json& v = Field(obj, name, where);
  if (!v.is_string()) throw SchemaError{where + ": field '" + name + "' must be a string"};
  return v.get<std::string>();
}

int64_t Int(const json& obj, const char* name, const std::string& where) {
  const json& v = Field(obj, name, where);
  if (!v.is_number_integer())
    throw SchemaError{where + ": field '" + name + "' must be an integer"};
  return v.get<int64_t>();
}

template <typename T>
std::optional<T> Opt(const json& obj, const char* name, const std::string& where) {
  const json& v = Field(obj, name, where);
  if (v.is_null()) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string())
      throw SchemaError{where + ": field '" + name + "' must be a string or null"};
  } else {
    if (!v.is_number_integer()) {
      throw SchemaError{where + ": field '" + name + "' must be an integer or null"};
    }
  }
  return v.get<T>();
}

}  // namespace

Result<Manifest> OracleParseManifest(std::string_view text, std::string_view origin) {
  const std::string where(origin);
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption(where + ": not valid JSON");
  try {
    if (!j.is_object()) throw SchemaError{where + ": top level must be an object"};
    Manifest m;
    m.version = static_cast<int>(Int(j, "version", where));
    if (m.version != 1)
      throw SchemaError{where + ": unsupported version " + std::to_string(m.version)};
    m.endpoint = Str(j, "endpoint", where);
    m.symbol = Str(j, "symbol", where);
    m.interval = Str(j, "interval", where);
    m.limit = static_cast<int>(Int(j, "limit", where));
    const json& summary = Field(j, "summary", where);
    if (!summary.is_object()) throw SchemaError{where + ": 'summary' must be an object"};
    Int(summary, "total_slices", where + " summary");
    Int(summary, "ok_slices", where + " summary");
    Int(summary, "failed_slices", where + " summary");
    m.last_evaluated_at = Str(summary, "last_evaluated_at", where + " summary");
    const json& slices = Field(j, "slices", where);
    if (!slices.is_object()) throw SchemaError{where + ": 'slices' must be an object"};
    for (const auto& [key, v] : slices.items()) {
      const std::string w = where + " slice '" + key + "'";
      if (!v.is_object()) throw SchemaError{w + ": must be an object"};
      ManifestEntry e;
      e.slice_id = Str(v, "slice_id", w);
      e.relative_path = Str(v, "relative_path", w);
      auto st = ParseSliceStatus(Str(v, "status", w));
      if (!st) throw SchemaError{w + ": " + st.error()};
      e.status = *st;
      auto hs = Opt<int64_t>(v, "http_status", w);
      if (hs) e.http_status = static_cast<int>(*hs);
      e.n_items = Int(v, "n_items", w);
      e.first_ts = Opt<int64_t>(v, "first_ts", w);
      e.last_ts = Opt<int64_t>(v, "last_ts", w);
      e.requested_at = Opt<std::string>(v, "requested_at", w);
      e.completed_at = Opt<std::string>(v, "completed_at", w);
      e.error = Opt<std::string>(v, "error", w);
      if (v.contains("digest")) {
        e.digest = Opt<std::string>(v, "digest", w);
        if (e.digest && !IsBodyDigest(*e.digest)) {
          throw SchemaError{w + ": field 'digest' must be 64 lowercase hex characters"};
        }
      }
      if (v.contains("holes_confirmed_at")) {
        e.holes_confirmed_at = Opt<std::string>(v, "holes_confirmed_at", w);
      }
      m.slices.emplace(key, std::move(e));
    }
    return m;
  } catch (const SchemaError& e) {
    return Status::Corruption(e.what);
  } catch (const std::exception& e) {
    return Status::Corruption(where + ": " + e.what());
  }
}

std::string OracleSerializeManifest(const Manifest& m) {
  // ordered_json keeps the documented field order (docs/on-disk-format.md), which makes the file
  // easy to read.
  using ojson = nlohmann::ordered_json;
  const ManifestSummary s = m.Summary();
  ojson j;
  j["version"] = m.version;
  j["endpoint"] = m.endpoint;
  j["symbol"] = m.symbol;
  j["interval"] = m.interval;
  j["limit"] = m.limit;
  j["summary"] = {{"total_slices", s.total_slices},
                  {"ok_slices", s.ok_slices},
                  {"failed_slices", s.failed_slices},
                  {"last_evaluated_at", s.last_evaluated_at}};
  ojson slices = ojson::object();
  for (const auto& [key, e] : m.slices) {
    ojson v;
    v["slice_id"] = e.slice_id;
    v["relative_path"] = e.relative_path;
    v["status"] = std::string(SliceStatusName(e.status));
    v["http_status"] = e.http_status ? ojson(*e.http_status) : ojson(nullptr);
    v["n_items"] = e.n_items;
    v["first_ts"] = e.first_ts ? ojson(*e.first_ts) : ojson(nullptr);
    v["last_ts"] = e.last_ts ? ojson(*e.last_ts) : ojson(nullptr);
    v["requested_at"] = e.requested_at ? ojson(*e.requested_at) : ojson(nullptr);
    v["completed_at"] = e.completed_at ? ojson(*e.completed_at) : ojson(nullptr);
    v["error"] = e.error ? ojson(*e.error) : ojson(nullptr);
    if (e.digest) v["digest"] = *e.digest;
    if (e.holes_confirmed_at) v["holes_confirmed_at"] = *e.holes_confirmed_at;
    slices[key] = std::move(v);
  }
  j["slices"] = std::move(slices);
  // Replace invalid UTF-8 (an error text from a peer) rather than throw.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace qlir
