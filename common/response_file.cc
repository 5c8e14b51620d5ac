#include "common/response_file.h"

#include <map>
#include <optional>

#include "common/json.h"
#include "common/json_syntax.h"

namespace qlir {

using nlohmann::ordered_json;

namespace {

// The members of the top-level object of a text that is valid JSON (checked before), as the
// bytes of each value, by key as written; a repeated key keeps the last, as the parser does.
// nullopt when the top level is not an object or a key is written with escapes (its name would
// need decoding: the caller then parses the document).
std::optional<std::map<std::string_view, std::string_view>> TopLevelMembers(std::string_view text) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
      ++i;
    }
  };
  auto skip_string = [&] {  // at the opening quote; stops after the closing one
    for (++i; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\') ++i;
    }
    ++i;
  };
  auto skip_value = [&] {
    int depth = 0;
    do {
      const char c = text[i];
      if (c == '"') {
        skip_string();
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++i;
      if (depth == 0 && c != '{' && c != '[' && c != '}' && c != ']') {
        // A scalar: runs up to the next delimiter.
        while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' &&
               text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
          ++i;
        }
      }
    } while (depth > 0 && i < text.size());
  };
  std::map<std::string_view, std::string_view> members;
  if (text.starts_with("\xEF\xBB\xBF")) i = 3;  // a byte-order mark, as the parser allows
  skip_space();
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  ++i;
  while (true) {
    skip_space();
    if (i >= text.size() || text[i] != '"') return members;  // '}': the end
    const size_t key_begin = i;
    skip_string();
    const std::string_view key = text.substr(key_begin + 1, i - key_begin - 2);
    if (key.find('\\') != std::string_view::npos) return std::nullopt;
    skip_space();
    ++i;  // ':'
    skip_space();
    const size_t value_begin = i;
    skip_value();
    members[key] = text.substr(value_begin, i - value_begin);
    skip_space();
    if (i >= text.size() || text[i] != ',') return members;
    ++i;
  }
}

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
  // A syntax-only pass over the whole file (common/json_syntax.h), then only `meta` is parsed
  // into a document: a response file is ~170 kB, and a document of it costs milliseconds.
  if (!IsValidJson(text)) return Status::Corruption(where + ": response file is not valid JSON");
  auto members = TopLevelMembers(text);
  ordered_json whole;  // the document, only when a key needs decoding
  std::optional<std::string_view> data_bytes;
  ordered_json meta;
  if (members) {
    auto m = members->find("meta");
    auto d = members->find("data");
    if (m != members->end()) {
      meta = ordered_json::parse(m->second.begin(), m->second.end(), nullptr, false);
    }
    if (d != members->end()) data_bytes = d->second;
  } else {
    whole = ordered_json::parse(text.begin(), text.end(), nullptr, false);
    if (whole.is_discarded())
      return Status::Corruption(where + ": response file is not valid JSON");
    if (!whole.is_object()) {
      return Status::Corruption(where + ": response file is not a JSON object");
    }
    if (auto m = whole.find("meta"); m != whole.end()) meta = *m;
  }
  if (!meta.is_object()) return Status::Corruption(where + ": no 'meta' object");
  if (members ? !data_bytes : !whole.contains("data")) {
    return Status::Corruption(where + ": no 'data'");
  }
  ResponseFile f;
  for (auto [name, field] : {std::pair{"url", &f.meta.url}, std::pair{"slice", &f.meta.slice},
                             std::pair{"fetched_at", &f.meta.fetched_at}}) {
    auto it = meta.find(name);
    if (it == meta.end() || !it->is_string()) {
      return Status::Corruption(where + ": meta." + name + " missing or not a string");
    }
    *field = it->get<std::string>();
  }
  if (data_bytes) {
    f.data = std::string(*data_bytes);  // verbatim
  } else {
    // A key written with escapes: the parsed value, the same JSON value but other bytes.
    f.data = whole["data"].dump();
    f.verbatim = false;
  }
  return f;
}

}  // namespace qlir
