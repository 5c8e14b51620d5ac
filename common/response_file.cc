#include "common/response_file.h"

#include <nlohmann/json.hpp>

namespace qlir {

using nlohmann::ordered_json;

namespace {
std::string MetaJson(const ResponseMeta& meta) {
  ordered_json m;
  m["url"] = meta.url;
  m["slice"] = meta.slice;
  m["fetched_at"] = meta.fetched_at;
  return m.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}
}  // namespace

std::string EncodeResponseFile(const ResponseMeta& meta, std::string_view raw_data) {
  std::string out;
  std::string m = MetaJson(meta);
  out.reserve(raw_data.size() + m.size() + 24);
  out += "{\"meta\":";
  out += m;
  out += ",\"data\":";
  out += raw_data;
  out += "}\n";
  return out;
}

Result<ResponseFile> DecodeResponseFile(std::string_view text, std::string_view origin) {
  const std::string where(origin);
  ordered_json j = ordered_json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return Status::Corruption(where + ": response file is not valid JSON");
  if (!j.is_object()) return Status::Corruption(where + ": response file is not a JSON object");
  auto meta = j.find("meta");
  auto data = j.find("data");
  if (meta == j.end() || !meta->is_object())
    return Status::Corruption(where + ": no 'meta' object");
  if (data == j.end()) return Status::Corruption(where + ": no 'data'");
  ResponseFile f;
  for (auto [name, field] : {std::pair{"url", &f.meta.url}, std::pair{"slice", &f.meta.slice},
                             std::pair{"fetched_at", &f.meta.fetched_at}}) {
    auto it = meta->find(name);
    if (it == meta->end() || !it->is_string()) {
      return Status::Corruption(where + ": meta." + name + " missing or not a string");
    }
    *field = it->get<std::string>();
  }
  // Recover the verbatim bytes when the file has the framing EncodeResponseFile writes;
  // otherwise fall back to the parsed value (still the same JSON value).
  const std::string prefix = "{\"meta\":" + MetaJson(f.meta) + ",\"data\":";
  std::string_view body = text;
  while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.remove_suffix(1);
  if (body.starts_with(prefix) && body.ends_with('}')) {
    f.data = std::string(body.substr(prefix.size(), body.size() - prefix.size() - 1));
  } else {
    f.data = data->dump();
  }
  return f;
}

}  // namespace qlir
