// Test seam: an HttpClient answering from a script of URL -> response (docs/conventions.md,
// "Seams"). Unscripted URLs get HTTP 404. Thread-safe, so a planner thread may use it.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/http_client.h"

namespace qlir::planner {

class FakeHttpClient : public HttpClient {
 public:
  void Set(const std::string& url, int status, std::string body, int64_t date_ms = -1) {
    std::lock_guard<std::mutex> lock(mu_);
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.date_ms = date_ms;
    script_[url] = r;
  }
  void SetTransportError(const std::string& url, std::string error) {
    std::lock_guard<std::mutex> lock(mu_);
    HttpResponse r;
    r.error = std::move(error);
    script_[url] = r;
  }
  HttpResponse Get(const std::string& url) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(url);
    auto it = script_.find(url);
    if (it != script_.end()) return it->second;
    HttpResponse r;
    r.status = 404;
    r.body = "not scripted";
    return r;
  }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  // The three requests a planner makes at start, for `symbols` listed and candles from `first`.
  void ScriptExchange(const std::string& base, const std::vector<std::string>& symbols,
                      int64_t server_time, int64_t first_candle,
                      const std::vector<std::string>& intervals = {"1m"}) {
    std::string info = R"({"timezone":"UTC","symbols":[)";
    for (size_t i = 0; i < symbols.size(); ++i) {
      info +=
          (i ? "," : "") + std::string(R"({"symbol":")") + symbols[i] + R"(","status":"TRADING"})";
    }
    info += "]}";
    Set(base + "/api/v3/exchangeInfo", 200, info);
    Set(base + "/api/v3/time", 200, R"({"serverTime":)" + std::to_string(server_time) + "}");
    for (const std::string& s : symbols) {
      for (const std::string& i : intervals) {
        Set(base + "/api/v3/klines?symbol=" + s + "&interval=" + i + "&startTime=0&limit=1", 200,
            "[[" + std::to_string(first_candle) +
                R"(,"1.0","1.0","1.0","1.0","0",1,"0",0,"0","0","0"]])");
      }
    }
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, HttpResponse> script_;
  std::vector<std::string> requests_;
};

}  // namespace qlir::planner
