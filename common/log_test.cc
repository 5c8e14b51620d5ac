#include "common/log.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/json.h"

namespace qlir {
namespace {

TEST_CASE("Log lines: text or JSON - key extracted - level filter - one line per event") {
  std::vector<std::string> lines;
  SetLogProcess("planner");
  SetLogSink([&](std::string_view l) { lines.emplace_back(l); });
  SetLogLevel(LogLevel::kInfo);
  Log(LogLevel::kDebug, {}, "hidden");
  Log(LogLevel::kWarn, {}, "re-handing job 7 key=BTCUSDT:1m:0-59999999:1000");
  Log(LogLevel::kWarn, "ETHUSDT:1s:0-999999:1000", "two\nlines");
  SetLogJson(true);
  Log(LogLevel::kError, {}, "failed for good key=BTCUSDT:1m:0-59999999:1000 after 5");
  Log(LogLevel::kInfo, {}, std::string("bad bytes \xff here"));
  Log(LogLevel::kInfo, "ETHUSDT:1s:0-999999:1000", "stored");
  SetLogJson(false);
  SetLogSink({});
  SetLogProcess("qlir");
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].find(" WARN planner: re-handing job 7 key=BTCUSDT") != std::string::npos);
  CHECK(lines[0].back() == '0');  // no newline in what the sink gets
  CHECK(lines[1].find(" WARN planner: key=ETHUSDT:1s:0-999999:1000 two lines") !=
        std::string::npos);
  auto j = nlohmann::json::parse(lines[2]);
  CHECK(j["level"] == "ERROR");
  CHECK(j["process"] == "planner");
  CHECK(j["key"] == "BTCUSDT:1m:0-59999999:1000");
  CHECK(j["ts"].get<std::string>().back() == 'Z');
  auto j2 = nlohmann::json::parse(lines[3]);
  CHECK(!j2.contains("key"));
  CHECK(nlohmann::json::parse(lines[4])["key"] == "ETHUSDT:1s:0-999999:1000");
}

}  // namespace
}  // namespace qlir
