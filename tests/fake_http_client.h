// FakeHttpClient: the scripted HttpClient of every test (docs/conventions.md, "Seams"), in the
// manner of ninja's FakeCommandRunner. Two kinds of script, which can be mixed:
//   - fixed answers by URL (Set, SetTransportError): the same answer every time that exact URL
//     is asked for, e.g. an exchange's /api/v3/exchangeInfo and /api/v3/time;
//   - a queue of answers (Queue) handed out in order to every other URL, e.g. the attempts of
//     one fetch job.
// A URL with neither gets the `unscripted` answer: HTTP 404 "not scripted" unless changed with
// SetUnscripted. Every URL asked for is recorded, in order. Thread-safe: a planner or fetcher
// thread may use it while the test scripts it.
#pragma once

#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/http_client.h"

namespace qlir::testing {

// An HTTP answer; headers' names in lower case, as the real client gives them.
inline HttpResponse HttpAnswer(int status, std::string body, int64_t date_ms = -1,
                               std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.date_ms = date_ms;
  r.headers = std::move(headers);
  return r;
}

// No HTTP answer at all (timeout, reset, refused...): status 0 and the error text.
inline HttpResponse TransportError(std::string error) {
  HttpResponse r;
  r.error = std::move(error);
  return r;
}

class FakeHttpClient : public HttpClient {
 public:
  FakeHttpClient() : unscripted_(HttpAnswer(404, "not scripted")) {}

  void Set(const std::string& url, int status, std::string body, int64_t date_ms = -1) {
    Set(url, HttpAnswer(status, std::move(body), date_ms));
  }
  void Set(const std::string& url, HttpResponse answer) {
    std::lock_guard<std::mutex> lock(mu_);
    by_url_[url] = std::move(answer);
  }
  void SetTransportError(const std::string& url, std::string error) {
    Set(url, TransportError(std::move(error)));
  }

  // Answers for one URL, given once each and in order before its fixed answer (Set) or the
  // queue: e.g. an exchange failing a few times before it answers.
  void QueueFor(const std::string& url, HttpResponse answer) {
    std::lock_guard<std::mutex> lock(mu_);
    queued_for_[url].push_back(std::move(answer));
  }
  // Appends answers to the queue.
  void Queue(std::initializer_list<HttpResponse> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.insert(queue_.end(), answers.begin(), answers.end());
  }
  // Replaces the queue.
  void SetQueue(std::initializer_list<HttpResponse> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.assign(answers.begin(), answers.end());
  }
  void SetUnscripted(HttpResponse answer) {
    std::lock_guard<std::mutex> lock(mu_);
    unscripted_ = std::move(answer);
  }
  // Called with each URL before it is answered, outside the lock (it may e.g. stop a clock).
  void SetOnGet(std::function<void(const std::string&)> on_get) {
    std::lock_guard<std::mutex> lock(mu_);
    on_get_ = std::move(on_get);
  }

  HttpResponse Get(const std::string& url) override {
    std::function<void(const std::string&)> on_get;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(url);
      on_get = on_get_;
    }
    if (on_get) on_get(url);
    std::lock_guard<std::mutex> lock(mu_);
    if (auto q = queued_for_.find(url); q != queued_for_.end() && !q->second.empty()) {
      HttpResponse r = std::move(q->second.front());
      q->second.pop_front();
      return r;
    }
    if (auto it = by_url_.find(url); it != by_url_.end()) return it->second;
    if (queue_.empty()) return unscripted_;
    HttpResponse r = std::move(queue_.front());
    queue_.pop_front();
    return r;
  }

  // Every URL asked for, in order.
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
    SetServerTime(base, server_time);
    for (const std::string& s : symbols) {
      for (const std::string& i : intervals) {
        Set(base + "/api/v3/klines?symbol=" + s + "&interval=" + i + "&startTime=0&limit=1", 200,
            "[[" + std::to_string(first_candle) +
                R"(,"1.0","1.0","1.0","1.0","0",1,"0",0,"0","0","0"]])");
      }
    }
  }

  // GET <base>/api/v3/time answers {"serverTime":<ms>}.
  void SetServerTime(const std::string& base, int64_t server_time_ms) {
    Set(base + "/api/v3/time", 200, R"({"serverTime":)" + std::to_string(server_time_ms) + "}");
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, HttpResponse> by_url_;                  // guarded by mu_
  std::deque<HttpResponse> queue_;                              // guarded by mu_
  std::map<std::string, std::deque<HttpResponse>> queued_for_;  // guarded by mu_
  HttpResponse unscripted_;                                     // guarded by mu_
  std::function<void(const std::string&)> on_get_;              // guarded by mu_
  std::vector<std::string> requests_;                           // guarded by mu_
};

}  // namespace qlir::testing
