#include "planner/log.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qlir::planner {
namespace {

TEST_CASE("Log lines: text or JSON - key extracted - level filter") {
  std::vector<std::string> lines;
  SetLogSink([&](std::string_view l) { lines.emplace_back(l); });
  SetLogLevel(LogLevel::kInfo);
  LogDebug("hidden");
  LogWarn("re-handing job 7 key=BTCUSDT:1m:0-59999999:1000");
  SetLogJson(true);
  LogError("failed for good key=BTCUSDT:1m:0-59999999:1000 after 5");
  LogInfo(std::string("bad bytes \xff here"));
  SetLogJson(false);
  SetLogSink({});
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find(" WARN planner: re-handing job 7 key=BTCUSDT") != std::string::npos);
  CHECK(lines[0].back() == '0');  // no newline in what the sink gets
  auto j = nlohmann::json::parse(lines[1]);
  CHECK(j["level"] == "ERROR");
  CHECK(j["process"] == "planner");
  CHECK(j["key"] == "BTCUSDT:1m:0-59999999:1000");
  CHECK(j["ts"].get<std::string>().back() == 'Z');
  auto j2 = nlohmann::json::parse(lines[2]);
  CHECK(!j2.contains("key"));
}

}  // namespace
}  // namespace qlir::planner
