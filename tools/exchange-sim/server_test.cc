// SimServer over real HTTP on 127.0.0.1 (and 127.0.0.2 for a second client IP), with a manual
// clock so windows, bans and the open candle move without sleeping.
#include "tools/exchange-sim/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <thread>

#include "common/exit_codes.h"
#include "common/json.h"
#include "common/time_util.h"
#include "tools/exchange-sim/api.h"
#include "tools/exchange-sim/tape.h"

namespace qlir::sim {
namespace {

const bool kIgnoreSigpipe = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

int64_t T(const char* iso) { return *ParseTimeUtc(iso); }

class TestServer {
 public:
  explicit TestServer(SimConfig config = {}, int64_t now = T("2024-03-01T12:34:40.250Z"))
      : clock_(now) {
    (void)kIgnoreSigpipe;
    config.host = "127.0.0.1";
    config.port = 0;
    config.threads = 16;
    if (config.symbols.empty()) config.symbols = DefaultSymbols();
    server_ = std::make_unique<SimServer>(std::move(config), &clock_);
    Result<int> port = server_->Start();
    REQUIRE(port.ok());
    port_ = *port;
  }

  ManualClock& clock() { return clock_; }
  int port() const { return port_; }

  // A client whose socket is bound to `ip` (a loopback address), so the server sees that IP.
  std::unique_ptr<httplib::Client> Client(const std::string& ip = "127.0.0.1") {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(20, 0);
    c->set_socket_options([ip](int sock) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
      ::bind(sock, reinterpret_cast<sockaddr*>(&a), sizeof a);
    });
    return c;
  }

  nlohmann::json Counters() {
    httplib::Result r = Client()->Get("/sim/counters");
    REQUIRE(r);
    return nlohmann::json::parse(r->body);
  }

  void SetFaults(const std::string& json) {
    httplib::Result r = Client()->Post("/sim/faults", json, "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }

 private:
  ManualClock clock_;
  std::unique_ptr<SimServer> server_;
  int port_ = 0;
};

struct RawResult {
  std::string data;
  int error = 0;  // errno of the recv that failed; 0 for a clean end of stream
};

// One GET on a fresh connection, read until the server closes it. No Catch2 macros: it also
// runs off the main thread.
RawResult RawGet(int port, const std::string& target) {
  RawResult out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    out.error = errno;
    return out;
  }
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    out.error = errno;
    ::close(fd);
    return out;
  }
  char buf[65536];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      out.data.append(buf, static_cast<size_t>(n));
    } else {
      if (n < 0) out.error = errno;
      break;
    }
  }
  ::close(fd);
  return out;
}

// The exchange-sim binary as a child process, its stdout and stderr on one pipe.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), std::string(QLIR_BINARY_DIR) + "/tools/exchange-sim/exchange-sim");
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(fds[1], STDERR_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  // Output up to and including the first newline, or all of it at EOF; bounded by timeout_ms.
  std::string ReadLine(int timeout_ms) {
    std::string out;
    char c;
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, timeout_ms) == 1 && ::read(fd_, &c, 1) == 1) {
      out.push_back(c);
      if (c == '\n') break;
    }
    return out;
  }
  void Signal(int sig) { ::kill(pid_, sig); }
  // Exit code (128 + signal when killed), or -1 if still running after timeout_ms.
  int Wait(int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; ++waited) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return *status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::optional<int> status_;
};

const char* kKlines = "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=3";

TEST_CASE("ping time and the Date header report the server clock") {
  TestServer s;
  auto c = s.Client();
  httplib::Result t = c->Get("/api/v3/time");
  REQUIRE(t);
  CHECK(t->status == 200);
  CHECK(t->body == "{\"serverTime\":" + std::to_string(s.clock().WallNowMs()) + "}");
  CHECK(t->get_header_value("Date") == "Fri, 01 Mar 2024 12:34:40 GMT");
  CHECK(t->get_header_value("X-MBX-USED-WEIGHT-1M") == "1");
  CHECK(t->get_header_value("Content-Type") == "application/json;charset=UTF-8");
  httplib::Result p = c->Get("/api/v3/ping");
  REQUIRE(p);
  CHECK(p->body == "{}");
  CHECK(p->get_header_value("X-MBX-USED-WEIGHT-1M") == "2");
  httplib::Result info = c->Get("/api/v3/exchangeInfo?symbol=ETHUSDT");
  REQUIRE(info);
  CHECK(info->get_header_value("X-MBX-USED-WEIGHT-1M") == "22");
  CHECK(nlohmann::json::parse(info->body)["symbols"][0]["symbol"] == "ETHUSDT");
  httplib::Result k = c->Get(kKlines);
  REQUIRE(k);
  CHECK(k->get_header_value("X-MBX-USED-WEIGHT-1M") == "24");
}

TEST_CASE("klines over HTTP are what KlinesJson computes - the open candle moves") {
  TestServer s;
  const SymbolSpec btc = DefaultSymbols()[0];
  auto c = s.Client();
  const int64_t now = s.clock().WallNowMs();
  httplib::Result r = c->Get(kKlines);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == *KlinesJson(btc, "1m", std::nullopt, std::nullopt, 3, now));
  const nlohmann::json first = nlohmann::json::parse(r->body);
  REQUIRE(first.size() == 3);
  CHECK(first[2][0] == T("2024-03-01T12:34:00Z"));

  s.clock().Advance(10'000);
  const nlohmann::json later = nlohmann::json::parse(c->Get(kKlines)->body);
  CHECK(later[1] == first[1]);        // closed: unchanged
  CHECK(later[2][0] == first[2][0]);  // same open candle...
  CHECK(later[2][5] != first[2][5]);  // ...with more volume

  s.clock().Advance(60'000);
  const nlohmann::json next = nlohmann::json::parse(c->Get(kKlines)->body);
  CHECK(next[2][0] == T("2024-03-01T12:35:00Z"));

  const std::string window =
      "/api/v3/klines?symbol=ETHUSDT&interval=1h&startTime=1609459200000&endTime=1613059199999"
      "&limit=1000";
  httplib::Result w = c->Get(window);
  REQUIRE(w);
  CHECK(w->body ==
        *KlinesJson(DefaultSymbols()[1], "1h", 1609459200000, 1613059199999, 1000, 0x7fffffffffff));
  CHECK(nlohmann::json::parse(w->body).size() == 1000);
}

TEST_CASE("parameter errors over HTTP") {
  TestServer s;
  auto c = s.Client();
  auto code = [&](const std::string& target) {
    httplib::Result r = c->Get(target);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->has_header("X-MBX-USED-WEIGHT-1M"));
    return nlohmann::json::parse(r->body)["code"].get<int>();
  };
  CHECK(code("/api/v3/klines?symbol=NOPE&interval=1m") == -1121);
  CHECK(code("/api/v3/klines?symbol=BTCUSDT&interval=1x") == -1120);
  CHECK(code("/api/v3/klines?interval=1m") == -1102);
  CHECK(code("/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime=None") == -1100);
  CHECK(code("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=") == -1105);
  CHECK(code("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001") == -1130);
  CHECK(code("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTme=5") == -1104);
  CHECK(code("/api/v3/exchangeInfo?symbol=NOPE") == -1121);
  httplib::Result r = c->Get("/api/v3/trades");
  REQUIRE(r);
  CHECK(r->status == 404);
}

TEST_CASE("over the weight limit: 429 with Retry-After then a ban (418) - per IP") {
  SimConfig config;
  config.limits.weight_limit = 10;
  config.limits.ban_after = 2;
  config.limits.ban_ms = 120'000;
  TestServer s(config, T("2024-03-01T12:34:40.250Z"));
  auto c = s.Client();
  for (int i = 0; i < 5; ++i) REQUIRE(c->Get(kKlines)->status == 200);
  httplib::Result limited = c->Get(kKlines);
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(limited->get_header_value("Retry-After") == "20");
  CHECK(limited->get_header_value("X-MBX-USED-WEIGHT-1M") == "12");
  CHECK(nlohmann::json::parse(limited->body)["code"] == -1003);

  // Another client IP has its own budget.
  auto other = s.Client("127.0.0.2");
  httplib::Result o = other->Get("/api/v3/ping");
  REQUIRE(o);
  CHECK(o->status == 200);
  CHECK(o->get_header_value("X-MBX-USED-WEIGHT-1M") == "1");

  CHECK(c->Get(kKlines)->status == 429);
  httplib::Result banned = c->Get(kKlines);
  REQUIRE(banned);
  CHECK(banned->status == 418);
  CHECK(banned->get_header_value("Retry-After") == "120");
  CHECK(nlohmann::json::parse(banned->body)["msg"].get<std::string>().find("IP banned until") !=
        std::string::npos);
  s.clock().Advance(60'000);  // a new window does not lift the ban
  httplib::Result still = c->Get("/api/v3/ping");
  REQUIRE(still);
  CHECK(still->status == 418);
  CHECK(still->get_header_value("Retry-After") == "60");
  s.clock().Advance(60'000);
  CHECK(c->Get(kKlines)->status == 200);

  const nlohmann::json counters = s.Counters();
  const nlohmann::json& ip = counters["ips"]["127.0.0.1"];
  CHECK(ip["429"] == 2);
  CHECK(ip["418"] == 2);
  CHECK(ip["bans"] == 1);
  CHECK(ip["statuses"]["200"] == 6);
  CHECK(counters["ips"]["127.0.0.2"]["requests"] == 1);
  CHECK(counters["windows"]["BTCUSDT:1m:-:3"]["limited"] == 3);
}

TEST_CASE("fault: server error with an HTML body") {
  TestServer s;
  s.SetFaults(R"({"server_error":1})");
  httplib::Result r = s.Client()->Get(kKlines);
  REQUIRE(r);
  CHECK((r->status == 502 || r->status == 503));
  CHECK(r->get_header_value("Content-Type") == "text/html");
  CHECK(r->body.find("<html>") != std::string::npos);
  CHECK(s.Counters()["ips"]["127.0.0.1"]["faults"]["server_error"] == 1);
}

TEST_CASE("fault: 504 with the exchange's -1007 body") {
  TestServer s;
  s.SetFaults(R"({"timeout":1})");
  httplib::Result r = s.Client()->Get(kKlines);
  REQUIRE(r);
  CHECK(r->status == 504);
  CHECK(r->body == BackendTimeout().Json());
}

TEST_CASE("fault: body cut off before the declared Content-Length") {
  TestServer s;
  s.SetFaults(R"({"truncated":1})");
  const RawResult r = RawGet(s.port(), kKlines);
  const size_t end = r.data.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  const std::string head = r.data.substr(0, end);
  CHECK(head.starts_with("HTTP/1.1 200"));
  const size_t cl = head.find("Content-Length: ");
  REQUIRE(cl != std::string::npos);
  const size_t declared = std::stoul(head.substr(cl + 16));
  const std::string body = r.data.substr(end + 4);
  CHECK(declared > 100);
  CHECK(body.size() < declared);
  CHECK(body.starts_with("[["));
  CHECK_FALSE(nlohmann::json::accept(body));
  // A client sees a failed read.
  CHECK_FALSE(s.Client()->Get(kKlines));
}

TEST_CASE("fault: malformed JSON with status 200") {
  TestServer s;
  s.SetFaults(R"({"malformed":1})");
  httplib::Result r = s.Client()->Get(kKlines);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK_FALSE(nlohmann::json::accept(r->body));
}

TEST_CASE("fault: an HTML page with status 200") {
  TestServer s;
  s.SetFaults(R"({"html":1})");
  httplib::Result r = s.Client()->Get(kKlines);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Type") == "text/html");
  CHECK(r->body.starts_with("<!DOCTYPE html>"));
}

TEST_CASE("fault: connection reset without a response") {
  TestServer s;
  s.SetFaults(R"({"reset":1})");
  const RawResult r = RawGet(s.port(), kKlines);
  CHECK(r.data.empty());
  CHECK(r.error == ECONNRESET);
  CHECK_FALSE(s.Client()->Get(kKlines));
  // Only klines is faulty by default.
  httplib::Result p = s.Client()->Get("/api/v3/ping");
  REQUIRE(p);
  CHECK(p->status == 200);
  CHECK(s.Counters()["ips"]["127.0.0.1"]["faults"]["reset"] == 2);
}

TEST_CASE("fault: a hanging request is closed after hang_ms without a response") {
  TestServer s;
  s.SetFaults(R"({"hang":1,"hang_ms":100})");
  const RawResult r = RawGet(s.port(), kKlines);
  CHECK(r.data.empty());
  CHECK(s.Counters()["ips"]["127.0.0.1"]["faults"]["hang"] == 1);
}

TEST_CASE("fault: a hang ends when the client gives up") {
  TestServer s;
  s.SetFaults(R"({"hang":1,"hang_ms":600000})");
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(s.port()));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const std::string req = std::string("GET ") + kKlines + " HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  auto in_flight = [&] {
    httplib::Client c("127.0.0.1", s.port());
    httplib::Result r = c.Get("/sim/counters");
    return r ? nlohmann::json::parse(r->body)["in_flight"].get<int>() : -1;
  };
  int n = -1;
  for (int i = 0; i < 20'000 && (n = in_flight()) != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(n == 1);
  ::close(fd);  // the client times out
  for (int i = 0; i < 20'000 && (n = in_flight()) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(n == 0);  // well before the 10 minutes
  CHECK(s.Counters()["ips"]["127.0.0.1"]["faults"]["hang"] == 1);
}

TEST_CASE("fault: latency still gives the right answer - faults on other endpoints") {
  TestServer s;
  s.SetFaults(R"({"latency_ms":5,"jitter_ms":5,"timeout":1,"endpoints":["time"]})");
  httplib::Result k = s.Client()->Get(kKlines);
  REQUIRE(k);
  CHECK(k->status == 200);
  httplib::Result t = s.Client()->Get("/api/v3/time");
  REQUIRE(t);
  CHECK(t->status == 504);
}

TEST_CASE("faults are reproducible from the seed") {
  TestServer s;
  s.SetFaults(R"({"server_error":0.5,"seed":42})");
  auto run = [&] {
    std::string statuses;
    auto c = s.Client();
    for (int i = 0; i < 40; ++i) statuses += std::to_string(c->Get(kKlines)->status) + " ";
    return statuses;
  };
  const std::string a = run();
  CHECK(a.find("200") != std::string::npos);
  CHECK(a.find("50") != std::string::npos);
  REQUIRE(s.Client()->Post("/sim/reset", "", "application/json")->status == 200);
  CHECK(run() == a);
  s.SetFaults(R"({"seed":43})");
  REQUIRE(s.Client()->Post("/sim/reset", "", "application/json")->status == 200);
  CHECK(run() != a);
}

TEST_CASE("runtime fault settings are validated") {
  TestServer s;
  auto c = s.Client();
  httplib::Result bad = c->Post("/sim/faults", R"({"reset":2})", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(nlohmann::json::parse(bad->body)["error"].get<std::string>().find("reset") !=
        std::string::npos);
  httplib::Result ok = c->Post("/sim/faults", R"({"reset":0.1})", "application/json");
  REQUIRE(ok);
  CHECK(nlohmann::json::parse(c->Get("/sim/faults")->body)["reset"] == 0.1);
  const nlohmann::json config = nlohmann::json::parse(c->Get("/sim/config")->body);
  CHECK(config["weight_limit"] == 6000);
  CHECK(config["symbols"][0]["symbol"] == "BTCUSDT");
}

TEST_CASE("rate limits can be changed at run time") {
  TestServer s;
  auto c = s.Client();
  REQUIRE(c->Get(kKlines)->status == 200);  // weight 2
  httplib::Result bad = c->Post("/sim/limits", R"({"weight_limit":0})", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  httplib::Result ok = c->Post("/sim/limits", R"({"weight_limit":3})", "application/json");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(nlohmann::json::parse(c->Get("/sim/limits")->body)["weight_limit"] == 3);
  CHECK(nlohmann::json::parse(c->Get("/sim/config")->body)["weight_limit"] == 3);
  httplib::Result limited = c->Get(kKlines);  // weight 4 > 3
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(nlohmann::json::parse(limited->body)["msg"].get<std::string>().find("limit is 3 ") !=
        std::string::npos);
}

TEST_CASE("counters per window and per IP - reset clears them") {
  TestServer s;
  auto c = s.Client();
  const std::string w =
      "/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1609459200000&endTime=1609519199999"
      "&limit=1000";
  REQUIRE(c->Get(w)->status == 200);
  REQUIRE(c->Get(w)->status == 200);
  REQUIRE(c->Get(kKlines)->status == 200);
  nlohmann::json j = s.Counters();
  const nlohmann::json& win = j["windows"]["BTCUSDT:1m:1609459200000-1609519199999:1000"];
  CHECK(win["requests"] == 2);
  CHECK(win["ok"] == 2);
  CHECK(j["windows"]["BTCUSDT:1m:-:3"]["ok"] == 1);
  CHECK(j["duplicate_ok_windows"] == 1);
  CHECK(j["ips"]["127.0.0.1"]["weight"] == 6);
  CHECK(j["ips"]["127.0.0.1"]["requests"] == 3);
  REQUIRE(c->Post("/sim/reset", "", "application/json")->status == 200);
  j = s.Counters();
  CHECK(j["windows"].empty());
  CHECK(j["ips"].empty());
  CHECK(c->Get(kKlines)->get_header_value("X-MBX-USED-WEIGHT-1M") == "2");
}

TEST_CASE("non-ASCII symbols and bytes that are not UTF-8") {
  // The testnet's test symbol (docs/exchange-rules.md, "Non-ASCII symbols"), in UTF-8.
  const std::string name =
      "\xe8\xbf\x99\xe6\x98\xaf\xe6\xb5\x8b\xe8\xaf\x95\xe5\xb8\x81"
      "456";
  SimConfig config;
  config.symbols = {*ParseSymbolFlag(name + ",listing=2024-01-01,quote=456")};
  TestServer s(config);
  auto c = s.Client();
  httplib::Result r = c->Get(
      "/api/v3/klines?symbol=%E8%BF%99%E6%98%AF%E6%B5%8B%E8%AF%95%E5%B8%81456&interval=1d&limit=2");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(nlohmann::json::parse(r->body).size() == 2);
  httplib::Result bad = c->Get("/api/v3/klines?symbol=%FF%FE&interval=1d");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  const nlohmann::json j = s.Counters();  // still valid JSON
  CHECK(j["windows"].size() == 2);
  CHECK(j["windows"][name + ":1d:-:2"]["ok"] == 1);
}

TEST_CASE("concurrent clients with mixed faults are all counted and served right") {
  TestServer s;
  s.SetFaults(
      R"({"server_error":0.1,"timeout":0.1,"truncated":0.1,"malformed":0.1,"html":0.1,"reset":0.1})");
  const SymbolSpec eth = DefaultSymbols()[1];
  constexpr int kThreads = 8;
  constexpr int kEach = 40;
  struct Outcome {
    int status = 0;  // 0: no response
    bool body_right = false;
  };
  std::vector<std::vector<Outcome>> outcomes(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", s.port());
      c.set_read_timeout(20, 0);
      for (int i = 0; i < kEach; ++i) {
        const int64_t start = 1609459200000 + int64_t{(t * kEach + i) % 50} * 60'000'000;
        const std::string target =
            "/api/v3/klines?symbol=ETHUSDT&interval=1m&startTime=" + std::to_string(start) +
            "&limit=1000";
        Outcome o;
        if (httplib::Result r = c.Get(target.c_str())) {
          o.status = r->status;
          o.body_right =
              r->body == *KlinesJson(eth, "1m", start, std::nullopt, 1000, 0x7fffffffffff);
        }
        outcomes[t].push_back(o);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int ok = 0;
  int none = 0;
  for (const auto& list : outcomes) {
    for (const Outcome& o : list) {
      if (o.body_right) ++ok;
      if (o.status == 0) ++none;
    }
  }
  const nlohmann::json j = s.Counters();
  CHECK(j["requests"] == kThreads * kEach);
  int64_t served_ok = 0;
  for (const auto& [key, w] : j["windows"].items()) served_ok += w["ok"].get<int64_t>();
  CHECK(served_ok == ok);
  CHECK(ok > kThreads * kEach / 4);
  const nlohmann::json& ip = j["ips"]["127.0.0.1"];
  const int64_t no_status = ip["faults"].value("reset", 0) + ip["faults"].value("truncated", 0);
  CHECK(none == no_status);
}

TEST_CASE("Stop ends idle keep-alive connections and hanging requests") {
  auto s = std::make_unique<TestServer>();
  const int port = s->port();
  auto idle = s->Client();
  REQUIRE(idle->Get("/api/v3/ping"));  // leaves a keep-alive connection open
  s->SetFaults(R"({"hang":1,"hang_ms":600000})");
  RawResult hung;
  std::thread hanging([&] { hung = RawGet(port, kKlines); });
  // Wait (bounded) until the hanging request is inside the server.
  for (int i = 0; i < 20'000 && s->Counters()["in_flight"] != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(s->Counters()["in_flight"] == 1);
  s.reset();  // Stop() returns although a request would hang for 10 minutes
  hanging.join();
  CHECK(hung.data.empty());
}

TEST_CASE("binary: prints the port serves exits 0 on SIGTERM - bad flags exit 64") {
  Child sim({"--listen", "127.0.0.1:0", "--window-ms", "1000"});
  const std::string line = sim.ReadLine(20'000);
  REQUIRE(line.starts_with("listening on 127.0.0.1:"));
  REQUIRE(line.ends_with("\n"));
  const int port = std::stoi(line.substr(line.rfind(':') + 1));
  httplib::Client c("127.0.0.1", port);
  httplib::Result r = c.Get("/api/v3/time");
  REQUIRE(r);
  CHECK(r->status == 200);
  sim.Signal(SIGTERM);
  CHECK(sim.Wait(20'000) == 0);

  Child bad({"--bogus"});
  CHECK(bad.ReadLine(20'000).find("unknown flag --bogus") != std::string::npos);
  CHECK(bad.Wait(20'000) == kExitUsage);
}

}  // namespace
}  // namespace qlir::sim

namespace qlir::sim {
namespace {

TEST_CASE("futures: exchangeInfo and fundingRate over HTTP, funding's own limit of requests") {
  SimConfig config;
  config.funding_limits.weight_limit = 3;
  config.funding_limits.window_ms = 300'000;
  config.funding_limits.ban_after = 2;
  config.limits.weight_limit = 1;  // the spot budget is not the futures' nor funding's
  TestServer s(config, T("2026-09-01T00:02:00Z"));
  auto c = s.Client();
  httplib::Result info = c->Get("/fapi/v1/exchangeInfo");
  REQUIRE(info);
  CHECK(info->status == 200);
  const auto j = nlohmann::json::parse(info->body);
  CHECK(j["rateLimits"][0]["limit"] == 2400);
  CHECK(j["symbols"][0]["contractType"] == "PERPETUAL");
  httplib::Result t = c->Get("/fapi/v1/time");
  REQUIRE(t);
  CHECK(t->status == 200);
  CHECK(t->get_header_value("X-MBX-USED-WEIGHT-1M") == "2");  // futures weight: 1 + 1

  const std::string url =
      "/fapi/v1/fundingRate?symbol=BTCUSDT&startTime=1785600000000&endTime=1789199999999"
      "&limit=1000";
  for (int i = 0; i < 3; ++i) {
    httplib::Result r = c->Get(url);
    REQUIRE(r);
    CHECK(r->status == 200);
    // The header carries the futures weight, not the funding requests.
    CHECK(r->get_header_value("X-MBX-USED-WEIGHT-1M") == "2");
    const auto rows = nlohmann::json::parse(r->body);
    CHECK(rows.size() == 92);  // every 8 h from 2026-08-01T16:00 up to now, 2026-09-01T00:00
  }
  httplib::Result limited = c->Get(url);
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(limited->get_header_value("Retry-After") == "180");  // to the end of the 5-minute window
  CHECK(nlohmann::json::parse(limited->body)["code"] == -1003);
  // Other endpoints are not limited by it.
  CHECK(c->Get("/fapi/v1/ping")->status == 200);
  CHECK(c->Get(url)->status == 429);
  CHECK(c->Get(url)->status == 418);  // kept going after two 429s
  s.clock().Advance(120'000 + 180'000);
  CHECK(c->Get(url)->status == 200);
  const nlohmann::json counters = s.Counters();
  CHECK(counters["ips"]["127.0.0.1"]["429"] == 2);
  CHECK(counters["ips"]["127.0.0.1"]["418"] == 1);
  CHECK(counters["windows"]["BTCUSDT:1h:1785600000000-1789199999999:1000"]["ok"] == 4);
}

TEST_CASE("aggTrades over HTTP: the three query forms, weight 4, what AggTradesJson computes") {
  TestServer s;
  auto c = s.Client();
  const SymbolSpec btc = DefaultSymbols()[0];
  const int64_t now = s.clock().WallNowMs();
  const Tape tape(btc);
  const int64_t newest = tape.CountUpTo(now) - 1;
  // fromId: a whole grid slice of 1000 ids.
  httplib::Result r = c->Get("/api/v3/aggTrades?symbol=BTCUSDT&fromId=5000000&limit=1000");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("X-MBX-USED-WEIGHT-1M") == "4");
  CHECK(r->get_header_value("Content-Type") == "application/json;charset=UTF-8");
  CHECK(r->body == *AggTradesJson(btc, 5'000'000, {}, {}, 1000, now));
  const nlohmann::json page = nlohmann::json::parse(r->body);
  REQUIRE(page.size() == 1000);
  CHECK(page.front()["a"] == 5'000'000);
  CHECK(page.back()["a"] == 5'000'999);
  // startTime alone: the oldest trades from it; the default limit is 500.
  const int64_t t0 = T("2020-11-30T05:59:00Z");  // a minute before the gap of an hour
  r = c->Get("/api/v3/aggTrades?symbol=BTCUSDT&startTime=" + std::to_string(t0));
  REQUIRE(r);
  const nlohmann::json from_time = nlohmann::json::parse(r->body);
  REQUIRE(from_time.size() == 500);
  CHECK(from_time.front()["a"] == tape.CountBefore(t0));
  CHECK(from_time.front()["T"].get<int64_t>() >= t0);
  // Across the gap: the minute before it, then from its end on.
  CHECK(from_time[0]["T"].get<int64_t>() < T("2020-11-30T06:00:00Z"));
  for (const auto& row : from_time) {
    const int64_t t = row["T"].get<int64_t>();
    CHECK((t < T("2020-11-30T06:00:00Z") || t >= T("2020-11-30T07:00:00Z")));
  }
  // Both times: inside the window only (the gap: nothing).
  r = c->Get(
      "/api/v3/aggTrades?symbol=BTCUSDT&startTime=" + std::to_string(T("2020-11-30T06:00:00Z")) +
      "&endTime=" + std::to_string(T("2020-11-30T06:59:59.999Z")) + "&limit=1000");
  REQUIRE(r);
  CHECK(r->body == "[]");
  // Neither: the newest trades, up to now.
  r = c->Get("/api/v3/aggTrades?symbol=BTCUSDT&limit=3");
  REQUIRE(r);
  const nlohmann::json recent = nlohmann::json::parse(r->body);
  REQUIRE(recent.size() == 3);
  CHECK(recent.back()["a"] == newest);
  CHECK(recent.back()["T"].get<int64_t>() <= now);
  // The tail moves with the clock: the same fromId page grows.
  const std::string tail =
      "/api/v3/aggTrades?symbol=BTCUSDT&fromId=" + std::to_string(newest / 1000 * 1000) +
      "&limit=1000";
  const size_t before = nlohmann::json::parse(c->Get(tail)->body).size();
  s.clock().Advance(120'000);
  const size_t after = nlohmann::json::parse(c->Get(tail)->body).size();
  CHECK(before == static_cast<size_t>(newest % 1000 + 1));
  CHECK(after > before);
  // Weight 4 a request, in the spot budget with klines (2): the window turned before the last
  // aggTrades request.
  r = c->Get(kKlines);
  REQUIRE(r);
  CHECK(r->get_header_value("X-MBX-USED-WEIGHT-1M") == "6");
}

TEST_CASE("aggTrades parameter errors over HTTP") {
  TestServer s;
  auto c = s.Client();
  auto err = [&](const std::string& query) {
    httplib::Result r = c->Get("/api/v3/aggTrades?" + query);
    REQUIRE(r);
    CHECK(r->status == 400);
    return nlohmann::json::parse(r->body)["code"].get<int>();
  };
  CHECK(err("symbol=BTCUSDT&symbol=ETHUSDT") == -1101);
  CHECK(err("symbol=BTCUSDT&interval=1m") == -1104);
  CHECK(err("fromId=3") == -1102);
  CHECK(err("symbol=") == -1102);
  CHECK(err("symbol=BTCUSDT&fromId=") == -1105);
  CHECK(err("symbol=BTCUSDT&limit=-1") == -1100);
  CHECK(err("symbol=BTCUSDT&startTime=None") == -1100);
  CHECK(err("symbol=NOPEUSDT&fromId=3") == -1121);
  CHECK(err("symbol=btcusdt") == -1121);
  CHECK(err("symbol=BTCUSDT&limit=0") == -1130);
  CHECK(err("symbol=BTCUSDT&limit=1001") == -1130);
  CHECK(err("symbol=BTCUSDT&fromId=99999999999999999999") == -1130);
  CHECK(err("symbol=BTCUSDT&fromId=3&startTime=5") == -1128);
  CHECK(err("symbol=BTCUSDT&fromId=3&endTime=5") == -1128);
  CHECK(err("symbol=BTCUSDT&startTime=6&endTime=5") == -1023);
  httplib::Result ok = c->Get("/api/v3/aggTrades?symbol=BTCUSDT&fromId=0&limit=1");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  const nlohmann::json counters = s.Counters();
  CHECK(counters["windows"]["BTCUSDT:id:0-0:1"]["ok"] == 1);
  CHECK(counters["windows"]["BTCUSDT:id:3-:"]["errors"] == 2);
  CHECK(counters["ips"]["127.0.0.1"]["weight"] == 4 * 16);
}

TEST_CASE("aggTrades: the spot weight limit, 429 and 418, and faults when named") {
  SimConfig config;
  config.limits.weight_limit = 10;
  config.limits.ban_after = 1;
  TestServer s(std::move(config));
  auto c = s.Client();
  const std::string url = "/api/v3/aggTrades?symbol=ETHUSDT&fromId=1000&limit=1000";
  CHECK(c->Get(url)->status == 200);      // 4
  CHECK(c->Get(url)->status == 200);      // 8
  httplib::Result limited = c->Get(url);  // 12 > 10
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(nlohmann::json::parse(limited->body)["code"] == -1003);
  CHECK_FALSE(limited->get_header_value("Retry-After").empty());
  CHECK(c->Get(url)->status == 418);
  s.clock().Advance(3'600'000);  // past the ban

  // Faults apply to aggTrades only when it is named.
  s.SetFaults(R"({"timeout":1})");
  CHECK(c->Get(url)->status == 200);
  s.SetFaults(R"({"timeout":1,"endpoints":["aggTrades"]})");
  httplib::Result timeout = c->Get(url);
  REQUIRE(timeout);
  CHECK(timeout->status == 504);
  CHECK(c->Get(kKlines)->status == 200);
  const nlohmann::json counters = s.Counters();
  CHECK(counters["windows"]["ETHUSDT:id:1000-1999:1000"]["faulted"] == 1);
  CHECK(counters["windows"]["ETHUSDT:id:1000-1999:1000"]["limited"] == 2);
}

// Sums of the served trades of [open, end), as qlir-status reconcile computes them.
struct TradeSums {
  int64_t count = 0, volume = 0, trades = 0;
  std::string open, close, high, low;
};

TradeSums SumTrades(const nlohmann::json& rows, int64_t open, int64_t end) {
  TradeSums s;
  int64_t hi = -1;
  int64_t lo = INT64_MAX;
  for (const auto& r : rows) {
    const int64_t t = r["T"].get<int64_t>();
    if (t < open || t >= end || r["f"].get<int64_t>() == -1) continue;
    const int64_t p = *ParseDecimal8(r["p"].get<std::string>());
    if (s.count++ == 0) s.open = r["p"];
    s.close = r["p"];
    if (p > hi) {
      hi = p;
      s.high = r["p"];
    }
    if (p < lo) {
      lo = p;
      s.low = r["p"];
    }
    s.volume += *ParseDecimal8(r["q"].get<std::string>());
    s.trades += r["l"].get<int64_t>() - r["f"].get<int64_t>() + 1;
  }
  return s;
}

TEST_CASE("klines and aggTrades served over HTTP agree, next to a gap and an invalidated row") {
  TestServer s;
  auto c = s.Client();
  // From half an hour before BTCUSDT's 2020-11-30 gap [06:00, 07:00) to half an hour after it,
  // or to the minute after the next invalidated row, in trades and in 1m candles.
  const int64_t a = T("2020-11-30T05:30:00Z");
  const Tape tape(DefaultSymbols()[0]);
  int64_t x = tape.CountBefore(a);
  while (!tape.Invalidated(x)) ++x;
  const int64_t b =
      std::max(T("2020-11-30T07:30:00Z"), tape.Row(x).time / 60'000 * 60'000 + 120'000);
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t start = a;;) {
    httplib::Result r =
        c->Get("/api/v3/aggTrades?symbol=BTCUSDT&limit=1000&startTime=" + std::to_string(start) +
               "&endTime=" + std::to_string(b - 1));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const nlohmann::json page = nlohmann::json::parse(r->body);
    for (const auto& row : page) rows.push_back(row);
    if (page.size() < 1000) break;
    start = page.back()["T"].get<int64_t>() + 1;
  }
  REQUIRE(rows.size() > 150);
  bool invalidated = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i]["a"] == rows[0]["a"].get<int64_t>() + static_cast<int64_t>(i));
    invalidated |= rows[i]["f"] == -1;
  }
  CHECK(invalidated);
  httplib::Result k =
      c->Get("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000&startTime=" + std::to_string(a) +
             "&endTime=" + std::to_string(b - 1));
  REQUIRE(k);
  const nlohmann::json candles = nlohmann::json::parse(k->body);
  CHECK(static_cast<int64_t>(candles.size()) == (b - a) / 60'000 - 60);  // all but the gap
  int with_invalidated = 0;
  for (const auto& candle : candles) {
    const int64_t open = candle[0].get<int64_t>();
    CAPTURE(candle.dump());
    const TradeSums sums = SumTrades(rows, open, open + 60'000);
    REQUIRE(sums.count > 0);  // a minute without trades has no candle
    CHECK(candle[1] == sums.open);
    CHECK(candle[2] == sums.high);
    CHECK(candle[3] == sums.low);
    CHECK(candle[4] == sums.close);
    CHECK(*ParseDecimal8(candle[5].get<std::string>()) == sums.volume);
    CHECK(candle[8].get<int64_t>() == sums.trades);
    for (const auto& row : rows) {
      const int64_t t = row["T"].get<int64_t>();
      with_invalidated += (t >= open && t < open + 60'000 && row["f"] == -1) ? 1 : 0;
    }
  }
  CHECK(with_invalidated >= 1);
  // And every trade lies in some candle's minute.
  int64_t covered = 0;
  for (const auto& candle : candles) {
    covered += SumTrades(rows, candle[0], candle[0].get<int64_t>() + 60'000).count;
  }
  int64_t valid = 0;
  for (const auto& row : rows) valid += row["f"] == -1 ? 0 : 1;
  CHECK(covered == valid);
}

}  // namespace
}  // namespace qlir::sim
