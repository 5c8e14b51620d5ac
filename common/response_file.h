// Raw response files, responses/<slice_id>.json (docs/on-disk-format.md, "Response files"):
//   {"meta":{"url":"...","slice":"<composite key>","fetched_at":"<ISO UTC>"},"data":<raw body>}
// `data` is the exchange's bytes verbatim: numbers and strings are never re-formatted.
// `fetched_at` is the exchange's clock at fetch time (its Date header or /api/v3/time), so a
// reader can tell whether the slice's window had closed when it was fetched.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace qlir {

struct ResponseMeta {
  std::string url;
  std::string slice;       // composite key
  std::string fetched_at;  // ISO-8601 UTC, second precision
};

struct ResponseFile {
  ResponseMeta meta;
  std::string data;  // the raw JSON bytes of `data`, verbatim
  // False only when the bytes of `data` could not be located in the file (its key written with
  // escapes): `data` is then the parsed value re-serialised, the same JSON value but not the
  // stored bytes, so no digest of it may be trusted or recorded.
  bool verbatim = true;
};

// `raw_data` must already be valid JSON (the fetcher validated it).
std::string EncodeResponseFile(const ResponseMeta& meta, std::string_view raw_data);

// Parses and checks the whole file (valid JSON, meta fields are strings, data present).
// `origin` names the file in errors.
Result<ResponseFile> DecodeResponseFile(std::string_view text, std::string_view origin);

}  // namespace qlir
