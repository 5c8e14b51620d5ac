#include "common/manifest.h"

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include "common/body_digest.h"
#include "common/json.h"

namespace qlir {

std::string_view SliceStatusName(SliceStatus s) {
  switch (s) {
    case SliceStatus::kPending:
      return "pending";
    case SliceStatus::kOk:
      return "ok";
    case SliceStatus::kFailed:
      return "failed";
    case SliceStatus::kPartial:
      return "partial";
  }
  return "pending";
}

Result<SliceStatus> ParseSliceStatus(std::string_view s) {
  if (s == "pending") return SliceStatus::kPending;
  if (s == "ok") return SliceStatus::kOk;
  if (s == "failed") return SliceStatus::kFailed;
  if (s == "partial") return SliceStatus::kPartial;
  return Status::Corruption("unknown slice status '" + std::string(s) + "'");
}

ManifestSummary Manifest::Summary() const {
  ManifestSummary s;
  s.total_slices = static_cast<int64_t>(slices.size());
  for (const auto& [k, e] : slices) {
    if (e.status == SliceStatus::kOk) ++s.ok_slices;
    if (e.status == SliceStatus::kFailed) ++s.failed_slices;
  }
  s.last_evaluated_at = last_evaluated_at;
  return s;
}

namespace {

// Printable ASCII without '"' and '\\' is written verbatim; anything else goes through the same
// nlohmann dump common uses, so escapes and the replacement of invalid UTF-8 match exactly.
void AppendJsonString(std::string* out, std::string_view s) {
  bool plain = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->push_back('"');
    out->append(s);
    out->push_back('"');
    return;
  }
  out->append(nlohmann::ordered_json(std::string(s))
                  .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, p);
}

template <typename T>
void AppendOptInt(std::string* out, const std::optional<T>& v) {
  if (v) {
    AppendInt(out, *v);
  } else {
    out->append("null");
  }
}

void AppendOptString(std::string* out, const std::optional<std::string>& v) {
  if (v) {
    AppendJsonString(out, *v);
  } else {
    out->append("null");
  }
}

}  // namespace

std::string SerializeManifest(const Manifest& m) {
  const ManifestSummary s = m.Summary();
  std::string out;
  out.reserve(512 + m.slices.size() * 400);
  out.append("{\n  \"version\": ");
  AppendInt(&out, m.version);
  out.append(",\n  \"endpoint\": ");
  AppendJsonString(&out, m.endpoint);
  out.append(",\n  \"symbol\": ");
  AppendJsonString(&out, m.symbol);
  out.append(",\n  \"interval\": ");
  AppendJsonString(&out, m.interval);
  out.append(",\n  \"limit\": ");
  AppendInt(&out, m.limit);
  out.append(",\n  \"summary\": {\n    \"total_slices\": ");
  AppendInt(&out, s.total_slices);
  out.append(",\n    \"ok_slices\": ");
  AppendInt(&out, s.ok_slices);
  out.append(",\n    \"failed_slices\": ");
  AppendInt(&out, s.failed_slices);
  out.append(",\n    \"last_evaluated_at\": ");
  AppendJsonString(&out, s.last_evaluated_at);
  out.append("\n  },\n  \"slices\": ");
  if (m.slices.empty()) {
    out.append("{}");
  } else {
    out.append("{");
    bool first = true;
    for (const auto& [key, e] : m.slices) {
      out.append(first ? "\n    " : ",\n    ");
      first = false;
      AppendJsonString(&out, key);
      out.append(": {\n      \"slice_id\": ");
      AppendJsonString(&out, e.slice_id);
      out.append(",\n      \"relative_path\": ");
      AppendJsonString(&out, e.relative_path);
      out.append(",\n      \"status\": \"");
      out.append(SliceStatusName(e.status));
      out.append("\",\n      \"http_status\": ");
      AppendOptInt(&out, e.http_status);
      out.append(",\n      \"n_items\": ");
      AppendInt(&out, e.n_items);
      out.append(",\n      \"first_ts\": ");
      AppendOptInt(&out, e.first_ts);
      out.append(",\n      \"last_ts\": ");
      AppendOptInt(&out, e.last_ts);
      out.append(",\n      \"requested_at\": ");
      AppendOptString(&out, e.requested_at);
      out.append(",\n      \"completed_at\": ");
      AppendOptString(&out, e.completed_at);
      out.append(",\n      \"error\": ");
      AppendOptString(&out, e.error);
      if (e.digest) {
        out.append(",\n      \"digest\": ");
        AppendJsonString(&out, *e.digest);
      }
      if (e.holes_confirmed_at) {
        out.append(",\n      \"holes_confirmed_at\": ");
        AppendJsonString(&out, *e.holes_confirmed_at);
      }
      out.append("\n    }");
    }
    out.append("\n  }");
  }
  out.append("\n}\n");
  return out;
}

namespace {

// SAX reader for the manifest schema. It tracks a path of object keys; depth 1 is the top level,
// depth 2 summary / slices, depth 3 one slice entry. Anything off-schema becomes an error with
// the same wording as common ParseManifest where it matters (the field and the place).
class ManifestSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  using json = nlohmann::json;
  explicit ManifestSax(std::string origin) : origin_(std::move(origin)) {}

  bool null() override { return Scalar(Value{Kind::kNull}); }
  bool boolean(bool) override { return Scalar(Value{Kind::kOther}); }
  bool number_integer(json::number_integer_t v) override {
    return Scalar(Value{Kind::kInt, static_cast<int64_t>(v)});
  }
  bool number_unsigned(json::number_unsigned_t v) override {
    if (v > static_cast<json::number_unsigned_t>(INT64_MAX)) return Scalar(Value{Kind::kOther});
    return Scalar(Value{Kind::kInt, static_cast<int64_t>(v)});
  }
  bool number_float(json::number_float_t, const json::string_t&) override {
    return Scalar(Value{Kind::kOther});
  }
  bool string(json::string_t& v) override {
    Value val{Kind::kString};
    val.s = std::move(v);
    return Scalar(std::move(val));
  }
  bool binary(json::binary_t&) override { return Scalar(Value{Kind::kOther}); }

  bool start_object(std::size_t) override { return StartContainer(/*is_object=*/true); }

  bool end_object() override {
    --depth_;
    if (skip_depth_ > 0) {
      --skip_depth_;
      return true;
    }
    if (depth_ == 2 && in_slices_) return FinishEntry();
    if (depth_ == 1 && in_summary_) {
      in_summary_ = false;
      static const char* kNames[] = {"total_slices", "ok_slices", "failed_slices",
                                     "last_evaluated_at"};
      for (int i = 0; i < 4; ++i) {
        if (!(summary_fields_ & (1u << i))) {
          return Fail(origin_ + " summary: missing field '" + kNames[i] + "'");
        }
      }
      return true;
    }
    if (depth_ == 1 && in_slices_) {
      in_slices_ = false;
      return true;
    }
    if (depth_ == 0) return FinishTop();
    return true;
  }

  bool start_array(std::size_t) override { return StartContainer(/*is_object=*/false); }

  bool end_array() override {
    --depth_;
    if (skip_depth_ > 0) --skip_depth_;
    return true;
  }

  bool key(json::string_t& k) override {
    key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    if (error_.empty()) error_ = origin_ + ": not valid JSON";
    return false;
  }

  const std::string& error() const { return error_; }
  Manifest& manifest() { return m_; }

 private:
  enum class Kind { kNull, kInt, kString, kOther };
  struct Value {
    Kind kind;
    int64_t i = 0;
    std::string s;
  };

  static bool IsSummaryField(const std::string& k) {
    return k == "total_slices" || k == "ok_slices" || k == "failed_slices" ||
           k == "last_evaluated_at";
  }
  static bool IsEntryField(const std::string& k) {
    return k == "slice_id" || k == "relative_path" || k == "status" || k == "http_status" ||
           k == "n_items" || k == "first_ts" || k == "last_ts" || k == "requested_at" ||
           k == "completed_at" || k == "error" || k == "digest" || k == "holes_confirmed_at";
  }

  // Objects and arrays: the three levels of the schema, the rest skipped as unknown fields
  // (ParseManifest ignores fields it does not know) or refused as a known field of wrong type.
  bool StartContainer(bool is_object) {
    if (skip_depth_ > 0) {
      ++skip_depth_;
      ++depth_;
      return true;
    }
    if (depth_ == 0) {
      if (!is_object) return Fail(origin_ + ": top level must be an object");
      ++depth_;
      return true;
    }
    if (depth_ == 1 && (key_ == "summary" || key_ == "slices")) {
      if (!is_object) return Fail(origin_ + ": '" + key_ + "' must be an object");
      if (key_ == "summary") {
        in_summary_ = true;
        seen_summary_ = true;
        summary_fields_ = 0;
      } else {
        in_slices_ = true;
        seen_slices_ = true;
        m_.slices.clear();  // a repeated "slices" replaces the first, as in a DOM
      }
      ++depth_;
      return true;
    }
    if (depth_ == 2 && in_slices_) {
      if (!is_object) return Fail(origin_ + " slice '" + key_ + "': must be an object");
      slice_key_ = key_;
      entry_ = ManifestEntry{};
      entry_fields_ = 0;
      ++depth_;
      return true;
    }
    const bool known = (depth_ == 1 && IsTopField(key_)) ||
                       (depth_ == 2 && in_summary_ && IsSummaryField(key_)) ||
                       (depth_ == 3 && IsEntryField(key_));
    if (known) return Fail(Where() + ": field '" + key_ + "' has the wrong type");
    skip_depth_ = 1;
    ++depth_;
    return true;
  }

  static bool IsTopField(const std::string& k) {
    return k == "version" || k == "endpoint" || k == "symbol" || k == "interval" || k == "limit" ||
           k == "summary" || k == "slices";
  }

  std::string Where() const {
    if (depth_ == 3) return origin_ + " slice '" + slice_key_ + "'";
    if (in_summary_) return origin_ + " summary";
    return origin_;
  }

  bool Fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return false;
  }

  bool WantInt(const Value& v, const char* name) {
    if (v.kind != Kind::kInt) return Fail(Where() + ": field '" + name + "' must be an integer");
    return true;
  }
  bool WantString(const Value& v, const char* name) {
    if (v.kind != Kind::kString) return Fail(Where() + ": field '" + name + "' must be a string");
    return true;
  }
  template <typename T>
  bool WantOpt(Value& v, const char* name, std::optional<T>* out) {
    if (v.kind == Kind::kNull) {
      out->reset();
      return true;
    }
    if constexpr (std::is_same_v<T, std::string>) {
      if (v.kind != Kind::kString) {
        return Fail(Where() + ": field '" + name + "' must be a string or null");
      }
      *out = std::move(v.s);
    } else {
      if (v.kind != Kind::kInt) {
        return Fail(Where() + ": field '" + name + "' must be an integer or null");
      }
      *out = static_cast<T>(v.i);
    }
    return true;
  }

  bool Scalar(Value v) {
    if (depth_ == 0) return Fail(origin_ + ": top level must be an object");
    if (skip_depth_ > 0) return true;
    if (depth_ == 1) return TopScalar(std::move(v));
    if (depth_ == 2 && in_summary_) return SummaryScalar(std::move(v));
    if (depth_ == 2 && in_slices_) {
      return Fail(origin_ + " slice '" + key_ + "': must be an object");
    }
    if (depth_ == 3) return EntryScalar(std::move(v));
    return true;
  }

  bool TopScalar(Value v) {
    const std::string& k = key_;
    if (k == "version") {
      if (!WantInt(v, "version")) return false;
      top_fields_ |= 1;
      m_.version = static_cast<int>(v.i);
    } else if (k == "endpoint") {
      if (!WantString(v, "endpoint")) return false;
      top_fields_ |= 2;
      m_.endpoint = std::move(v.s);
    } else if (k == "symbol") {
      if (!WantString(v, "symbol")) return false;
      top_fields_ |= 4;
      m_.symbol = std::move(v.s);
    } else if (k == "interval") {
      if (!WantString(v, "interval")) return false;
      top_fields_ |= 8;
      m_.interval = std::move(v.s);
    } else if (k == "limit") {
      if (!WantInt(v, "limit")) return false;
      top_fields_ |= 16;
      m_.limit = static_cast<int>(v.i);
    } else if (k == "summary" || k == "slices") {
      return Fail(origin_ + ": '" + k + "' must be an object");
    }
    return true;
  }

  bool SummaryScalar(Value v) {
    const std::string& k = key_;
    if (k == "total_slices" || k == "ok_slices" || k == "failed_slices") {
      if (!WantInt(v, k.c_str())) return false;
      summary_fields_ |= k == "total_slices" ? 1u : k == "ok_slices" ? 2u : 4u;
    } else if (k == "last_evaluated_at") {
      if (!WantString(v, "last_evaluated_at")) return false;
      summary_fields_ |= 8u;
      m_.last_evaluated_at = std::move(v.s);
    }
    return true;
  }

  bool EntryScalar(Value v) {
    const std::string& k = key_;
    ManifestEntry& e = entry_;
    if (k == "slice_id") {
      if (!WantString(v, "slice_id")) return false;
      e.slice_id = std::move(v.s);
      entry_fields_ |= 1u << 0;
    } else if (k == "relative_path") {
      if (!WantString(v, "relative_path")) return false;
      e.relative_path = std::move(v.s);
      entry_fields_ |= 1u << 1;
    } else if (k == "status") {
      if (!WantString(v, "status")) return false;
      auto st = ParseSliceStatus(v.s);
      if (!st) return Fail(Where() + ": " + st.error());
      e.status = *st;
      entry_fields_ |= 1u << 2;
    } else if (k == "http_status") {
      std::optional<int64_t> hs;
      if (!WantOpt(v, "http_status", &hs)) return false;
      if (hs) {
        e.http_status = static_cast<int>(*hs);
      } else {
        e.http_status.reset();
      }
      entry_fields_ |= 1u << 3;
    } else if (k == "n_items") {
      if (!WantInt(v, "n_items")) return false;
      e.n_items = v.i;
      entry_fields_ |= 1u << 4;
    } else if (k == "first_ts") {
      if (!WantOpt(v, "first_ts", &e.first_ts)) return false;
      entry_fields_ |= 1u << 5;
    } else if (k == "last_ts") {
      if (!WantOpt(v, "last_ts", &e.last_ts)) return false;
      entry_fields_ |= 1u << 6;
    } else if (k == "requested_at") {
      if (!WantOpt(v, "requested_at", &e.requested_at)) return false;
      entry_fields_ |= 1u << 7;
    } else if (k == "completed_at") {
      if (!WantOpt(v, "completed_at", &e.completed_at)) return false;
      entry_fields_ |= 1u << 8;
    } else if (k == "error") {
      if (!WantOpt(v, "error", &e.error)) return false;
      entry_fields_ |= 1u << 9;
    } else if (k == "digest") {
      // Optional (absent in manifests written before it existed); null reads as absent.
      if (!WantOpt(v, "digest", &e.digest)) return false;
      if (e.digest && !IsBodyDigest(*e.digest)) {
        return Fail(Where() + ": field 'digest' must be 64 lowercase hex characters");
      }
    } else if (k == "holes_confirmed_at") {
      // Optional, like digest; null reads as absent.
      if (!WantOpt(v, "holes_confirmed_at", &e.holes_confirmed_at)) return false;
    }
    return true;
  }

  bool FinishEntry() {
    static const char* kNames[] = {"slice_id",     "relative_path", "status",  "http_status",
                                   "n_items",      "first_ts",      "last_ts", "requested_at",
                                   "completed_at", "error"};
    for (int i = 0; i < 10; ++i) {
      if (!(entry_fields_ & (1u << i))) {
        return Fail(origin_ + " slice '" + slice_key_ + "': missing field '" + kNames[i] + "'");
      }
    }
    // Like nlohmann's object, a repeated key keeps the last value.
    m_.slices.insert_or_assign(m_.slices.end(), slice_key_, std::move(entry_));
    return true;
  }

  bool FinishTop() {
    static const char* kNames[] = {"version", "endpoint", "symbol", "interval", "limit"};
    // ParseManifest checks in this order: version (and its value), endpoint, symbol, interval,
    // limit, summary, slices.
    if (!(top_fields_ & 1)) return Fail(origin_ + ": missing field 'version'");
    if (m_.version != 1) {
      return Fail(origin_ + ": unsupported version " + std::to_string(m_.version));
    }
    for (int i = 1; i < 5; ++i) {
      if (!(top_fields_ & (1u << i))) return Fail(origin_ + ": missing field '" + kNames[i] + "'");
    }
    if (!seen_summary_) return Fail(origin_ + ": missing field 'summary'");
    if (!seen_slices_) return Fail(origin_ + ": missing field 'slices'");
    done_ = true;
    return true;
  }

  std::string origin_;
  std::string error_;
  Manifest m_;
  int depth_ = 0;
  int skip_depth_ = 0;
  std::string key_;
  std::string slice_key_;
  ManifestEntry entry_;
  uint32_t entry_fields_ = 0;
  uint32_t top_fields_ = 0;
  uint32_t summary_fields_ = 0;
  bool in_summary_ = false;
  bool in_slices_ = false;
  bool seen_summary_ = false;
  bool seen_slices_ = false;

 public:
  bool done_ = false;
};

}  // namespace

Result<Manifest> ParseManifest(std::string_view text, std::string_view origin) {
  ManifestSax sax{std::string(origin)};
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string(origin) + ": " + e.what());
  }
  if (!ok || !sax.done_) {
    if (!sax.error().empty()) return Status::Corruption(sax.error());
    return Status::Corruption(std::string(origin) + ": not valid JSON");
  }
  return std::move(sax.manifest());
}

Result<Manifest> ParseManifestFile(const std::string& path) {
  std::ifstream in;
  std::vector<char> buffer(1 << 20);
  in.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  in.open(path, std::ios::binary);
  if (!in) {
    return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  }
  ManifestSax sax{path};
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(in, &sax);
  } catch (const std::exception& e) {
    return Status::Corruption(path + ": " + e.what());
  }
  if (in.bad()) {
    return Status::IOError("cannot read " + path + ": I/O error");
  }
  if (!ok || !sax.done_) {
    if (!sax.error().empty()) return Status::Corruption(sax.error());
    return Status::Corruption(path + ": not valid JSON");
  }
  return std::move(sax.manifest());
}

}  // namespace qlir
