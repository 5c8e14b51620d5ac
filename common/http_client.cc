// CurlHttpClient: the libcurl implementation of HttpClient (http_client.h). One easy handle per
// client, reused for every request so that the connection stays alive between requests.
#include "common/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string_view>

namespace qlir {
namespace {

// Bodies larger than this are cut off and reported as a transport error: a klines body of
// 1000 rows is ~200 KB, so anything this big is not an answer we can use.
constexpr size_t kMaxBodyBytes = 64 * 1024 * 1024;

void GlobalInitOnce() {
  static std::once_flag once;
  // curl_global_init is not thread-safe; every client goes through here before curl_easy_init.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Transfer {
  HttpResponse* response = nullptr;
  bool body_too_large = false;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->response->body.size() + n > kMaxBodyBytes) {
    t->body_too_large = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  t->response->body.append(data, n);
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  // A new status line (a 100 Continue before the real answer) starts a fresh header set.
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(Trim(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  t->response->headers[name] = std::string(Trim(line.substr(colon + 1)));
  return n;
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(const HttpOptions& options) : options_(options) {
    GlobalInitOnce();
    curl_ = curl_easy_init();
  }
  ~CurlHttpClient() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  HttpResponse Get(const std::string& url) override {
    HttpResponse response;
    if (curl_ == nullptr) {
      response.error = "curl_easy_init failed";
      return response;
    }
    Transfer transfer{&response, false};
    char error_buffer[CURL_ERROR_SIZE] = {0};
    // The handle keeps its connection cache across requests; the options are set afresh so a
    // previous request leaves nothing behind.
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // required with threads and timeouts
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, kUserAgent);
    curl_easy_setopt(curl_, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl can decode
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout_ms));
    curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &WriteHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &transfer);

    const CURLcode rc = curl_easy_perform(curl_);
    if (rc != CURLE_OK) {
      // Whatever arrived is not a whole answer: report a transport error, status 0.
      response.status = 0;
      response.body.clear();
      if (transfer.body_too_large) {
        response.error = "response body larger than " + std::to_string(kMaxBodyBytes) + " bytes";
      } else {
        response.error = std::string(curl_easy_strerror(rc));
        if (error_buffer[0] != '\0') response.error += ": " + std::string(error_buffer);
      }
      return response;
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    if (auto it = response.headers.find("date"); it != response.headers.end()) {
      const time_t t = curl_getdate(it->second.c_str(), nullptr);
      if (t >= 0) response.date_ms = static_cast<int64_t>(t) * 1000;
    }
    return response;
  }

 private:
  const HttpOptions options_;
  CURL* curl_ = nullptr;
};

}  // namespace

std::unique_ptr<HttpClient> MakeCurlHttpClient(const HttpOptions& options) {
  return std::make_unique<CurlHttpClient>(options);
}

}  // namespace qlir
