#include "planner/options.h"

#include <catch2/catch.hpp>

namespace qlir::planner {
namespace {

TEST_CASE("Options: defaults") {
  auto o = ParseOptions({"--symbols", "BTCUSDT,ETHUSDT"});
  REQUIRE(o.ok());
  CHECK(o->symbols == std::vector<std::string>{"BTCUSDT", "ETHUSDT"});
  CHECK(o->intervals == std::vector<std::string>{"1m"});
  CHECK(!o->start_ms);  // listing
  CHECK(!o->end_ms);    // now, following
  CHECK(o->base_url == "https://api.binance.com");
  CHECK(o->jobs_bind == "tcp://127.0.0.1:5701");
  CHECK(o->persister == "tcp://127.0.0.1:5703");
  CHECK(!o->once);
  CHECK(o->heartbeat_ms == 1000);
}

TEST_CASE("Options: every flag - both spellings") {
  auto o = ParseOptions({"--symbols=BTCUSDT",
                         "--intervals",
                         "1m,1s,1m",
                         "--start",
                         "2022-01-01",
                         "--end=2022-01-02T00:00:00Z",
                         "--base-url",
                         "http://127.0.0.1:1",
                         "--jobs-bind",
                         "ipc:///tmp/j",
                         "--persister",
                         "tcp://127.0.0.1:9",
                         "--once",
                         "--lease-timeout-ms",
                         "10",
                         "--heartbeat-ms=20",
                         "--progress-ms",
                         "30",
                         "--max-failures",
                         "2",
                         "--refresh-ms",
                         "40",
                         "--retry-base-ms",
                         "5",
                         "--retry-max-ms",
                         "50",
                         "--durable-wait-ms",
                         "60",
                         "--status-retry-ms",
                         "70",
                         "--time-sync-ms",
                         "80"});
  REQUIRE(o.ok());
  CHECK(o->intervals == std::vector<std::string>{"1m", "1s"});
  CHECK(o->start_ms == 1640995200000);
  CHECK(o->end_ms == 1641081600000);
  CHECK(o->once);
  CHECK(o->lease_timeout_ms == 10);
  CHECK(o->heartbeat_ms == 20);
  CHECK(o->max_failures == 2);
  CHECK(o->time_sync_ms == 80);
  CHECK(ParseOptions({"--symbols", "A", "--start", "listing", "--end", "now"}).ok());
  CHECK(ParseOptions({"--symbols", "A", "--log-json", "--verbose"})->log_json);
  CHECK(ParseOptions({"--symbols", "A"})->endpoint == "klines");
  CHECK(ParseOptions({"--symbols", "A", "--endpoint", "klines"})->endpoint == "klines");
  CHECK(ParseOptions({"--symbols", "A", "--stats-file", "/tmp/s.json"})->stats_file ==
        "/tmp/s.json");
}

TEST_CASE("Options: fundingRate defaults to its one series and the futures host") {
  auto o = ParseOptions({"--symbols", "BTCUSDT", "--endpoint", "fundingRate"});
  REQUIRE(o.ok());
  CHECK(o->intervals == std::vector<std::string>{"1h"});
  CHECK(o->base_url == "https://fapi.binance.com");
  CHECK(ParseOptions({"--symbols", "A"})->base_url == "https://api.binance.com");
  CHECK(ParseOptions(
            {"--symbols", "A", "--endpoint", "fundingRate", "--base-url", "http://127.0.0.1:9"})
            ->base_url == "http://127.0.0.1:9");
  auto bad = ParseOptions({"--symbols", "A", "--endpoint", "fundingRate", "--intervals", "8h"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().find("unsupported interval '8h'") != std::string::npos);
}

TEST_CASE("Options: an unknown endpoint is refused with the known ones named") {
  auto o = ParseOptions({"--symbols", "A", "--endpoint", "trades"});
  REQUIRE_FALSE(o.ok());
  CHECK(o.error().find("unknown endpoint 'trades' (known: klines, fundingRate, aggTrades)") !=
        std::string::npos);
  CHECK_FALSE(ParseOptions({"--symbols", "A", "--stats-file", ""}).ok());
}

TEST_CASE("Options: bad flags are clear errors naming the flag") {
  auto err = [](std::vector<std::string> args) {
    auto o = ParseOptions(args);
    REQUIRE(!o.ok());
    return o.error();
  };
  CHECK(err({}).find("--symbols") != std::string::npos);
  CHECK(err({"--symbols", "A", "--intervals", "1M"}).find("1M") != std::string::npos);
  CHECK(err({"--symbols", "A", "--start", "yesterday"}).find("--start") != std::string::npos);
  CHECK(err({"--symbols", "A", "--heartbeat-ms", "0"}).find("--heartbeat-ms") != std::string::npos);
  CHECK(err({"--symbols", "A", "--heartbeat-ms", "1x"}).find("--heartbeat-ms") !=
        std::string::npos);
  CHECK(err({"--symbols", "A", "--jobs-bind", "127.0.0.1:1"}).find("--jobs-bind") !=
        std::string::npos);
  CHECK(err({"--symbols", "A", "--bogus", "1"}).find("--bogus") != std::string::npos);
  CHECK(err({"--symbols"}).find("needs a value") != std::string::npos);
  CHECK(err({"--symbols", "A", "--once=1"}).find("--once") != std::string::npos);
  CHECK(err({"--symbols", "A", "--start", "2022-02-01", "--end", "2022-01-01"}).find("after") !=
        std::string::npos);
  CHECK(err({"--symbols", "A/B"}).find("--symbols") != std::string::npos);
  CHECK(err({"stray"}).find("stray") != std::string::npos);
  CHECK(ParseOptions({"--help"})->help);
}

TEST_CASE("Options: CURVE flags") {
  auto off = ParseOptions({"--symbols", "BTCUSDT"});
  REQUIRE(off);
  CHECK_FALSE(off->curve.any());
  auto on = ParseOptions({"--symbols", "BTCUSDT", "--curve-secret-key", "/k/server.key_secret",
                          "--curve-allow=/k/fetchers"});
  REQUIRE(on);
  CHECK(on->curve.secret_key_file == "/k/server.key_secret");
  CHECK(on->curve.allow_path == "/k/fetchers");
  auto alone = ParseOptions({"--symbols", "BTCUSDT", "--curve-secret-key", "/k/s.key_secret"});
  REQUIRE_FALSE(alone);
  CHECK(alone.error().find("--curve-allow") != std::string::npos);
  auto server_key = ParseOptions({"--symbols", "BTCUSDT", "--curve-server-key", "/k/server.key"});
  REQUIRE_FALSE(server_key);
  CHECK(server_key.error().find("--curve-server-key") != std::string::npos);
}

}  // namespace
}  // namespace qlir::planner
