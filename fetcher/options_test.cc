#include "fetcher/options.h"

#include <catch2/catch.hpp>

using namespace qlir::fetcher;

TEST_CASE("defaults match the issue", "[options]") {
  auto cl = ParseCommandLine({});
  REQUIRE(cl.ok());
  CHECK(cl->fetcher.planner == "tcp://127.0.0.1:5701");
  CHECK(cl->fetcher.persister == "tcp://127.0.0.1:5702");
  CHECK(cl->fetcher.concurrency == 4);
  CHECK(cl->fetcher.job.base_url == "https://api.binance.com");
  CHECK(cl->fetcher.job.max_attempts == 5);
  CHECK(cl->rate.weight_limit == 6000);
  CHECK(cl->rate.window_ms == 60000);
  CHECK(cl->rate.max_weight == 0);
  CHECK(cl->rate.pace);  // issue #8: leave other programs on the IP their share
  CHECK(cl->rate_state_path.starts_with("/tmp/qlir-rate-"));
}

TEST_CASE("flags in both spellings", "[options]") {
  auto cl = ParseCommandLine({"--planner=ipc:///tmp/p", "--persister", "tcp://10.0.0.1:9",
                              "--concurrency=8", "--base-url", "http://127.0.0.1:1234",
                              "--max-weight-per-minute=1200", "--timeout-ms=700",
                              "--connect-timeout-ms=300", "--rate-state=/tmp/x.state",
                              "--backoff-base-ms=10", "--backoff-max-ms=20", "--max-attempts=3",
                              "--weight-limit=100", "--weight-window-ms=10000"});
  REQUIRE(cl.ok());
  CHECK(cl->fetcher.planner == "ipc:///tmp/p");
  CHECK(cl->fetcher.persister == "tcp://10.0.0.1:9");
  CHECK(cl->fetcher.concurrency == 8);
  CHECK(cl->fetcher.job.base_url == "http://127.0.0.1:1234");
  CHECK(cl->rate.max_weight == 1200);
  CHECK(cl->http.total_timeout_ms == 700);
  CHECK(cl->http.connect_timeout_ms == 300);
  CHECK(cl->rate_state_path == "/tmp/x.state");
  CHECK(cl->fetcher.backoff_base_ms == 10);
  CHECK(cl->fetcher.backoff_max_ms == 20);
  CHECK(cl->fetcher.job.max_attempts == 3);
  CHECK(cl->rate.weight_limit == 100);
  CHECK(cl->rate.window_ms == 10000);
  CHECK(cl->rate.pace);
  auto off = ParseCommandLine({"--pace=off"});
  REQUIRE(off.ok());
  CHECK_FALSE(off->rate.pace);
}

TEST_CASE("bad flags are errors naming the flag", "[options]") {
  struct Case {
    std::vector<std::string> args;
    const char* needle;
  } cases[] = {
      {{"--concurrency=0"}, "--concurrency"},
      {{"--concurrency=four"}, "--concurrency"},
      {{"--concurrency"}, "needs a value"},
      {{"--planner=localhost:5701"}, "--planner"},
      {{"--base-url=ftp://x"}, "--base-url"},
      {{"--bogus=1"}, "--bogus"},
      {{"stray"}, "stray"},
      {{"--backoff-base-ms=100", "--backoff-max-ms=10"}, "--backoff-max-ms"},
      {{"--max-attempts=-1"}, "--max-attempts"},
      {{"--pace=maybe"}, "--pace"},
  };
  for (const auto& c : cases) {
    auto cl = ParseCommandLine(c.args);
    INFO(c.args[0]);
    REQUIRE_FALSE(cl.ok());
    CHECK(cl.error().find(c.needle) != std::string::npos);
  }
}

TEST_CASE("CURVE flags go together", "[options][curve]") {
  auto off = ParseCommandLine({});
  REQUIRE(off.ok());
  CHECK_FALSE(off->curve.any());
  auto on = ParseCommandLine(
      {"--curve-secret-key=/k/a.key_secret", "--curve-server-key", "/k/server.key"});
  REQUIRE(on.ok());
  CHECK(on->curve.secret_key_file == "/k/a.key_secret");
  CHECK(on->curve.server_key_file == "/k/server.key");
  auto alone = ParseCommandLine({"--curve-secret-key", "/k/a.key_secret"});
  REQUIRE_FALSE(alone.ok());
  CHECK(alone.error().find("--curve-server-key") != std::string::npos);
  CHECK_FALSE(ParseCommandLine({"--curve-server-key", "/k/server.key"}).ok());
  CHECK_FALSE(ParseCommandLine({"--curve-allow", "/k"}).ok());  // a server's flag
}

TEST_CASE("fetcher flags: fundingRate's limit for a simulator with another") {
  auto cl = ParseCommandLine({"--funding-limit=40", "--funding-window-ms=20000"});
  REQUIRE(cl.ok());
  CHECK(cl->funding_limit == 40);
  CHECK(cl->funding_window_ms == 20000);
  CHECK(ParseCommandLine({})->funding_limit == 0);
  CHECK_FALSE(ParseCommandLine({"--funding-limit=0"}).ok());
  CHECK_FALSE(ParseCommandLine({"--funding-window-ms=999"}).ok());
}
