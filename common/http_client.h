// HttpClient: the seam between our code and libcurl (docs/conventions.md, "Seams"). The real client
// (CurlHttpClient, http_client.cc) does keep-alive, gzip, connect and total timeouts and a
// User-Agent naming the project; tests may script a fake.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace qlir {

inline constexpr const char* kUserAgent = "qlir-binance-data/1.0 (+https://github.com/qlir)";

struct HttpResponse {
  int status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string error;     // transport error text (timeout, reset, refused, ...)
  int64_t date_ms = -1;  // the Date header as ms since epoch, -1 if absent
};

struct HttpOptions {
  int64_t connect_timeout_ms = 5000;
  int64_t total_timeout_ms = 30000;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Never throws; a transport failure is status 0 with `error` set.
  virtual HttpResponse Get(const std::string& url) = 0;
};

// libcurl-backed client; one per thread (a curl easy handle is not shared).
std::unique_ptr<HttpClient> MakeCurlHttpClient(const HttpOptions& options = {});

}  // namespace qlir
