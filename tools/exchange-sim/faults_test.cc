#include "tools/exchange-sim/faults.h"

#include <catch2/catch.hpp>
#include <map>

#include "common/json.h"

namespace qlir::sim {
namespace {

TEST_CASE("fault decisions are reproducible from seed key and attempt") {
  FaultConfig c;
  c.server_error = 0.2;
  c.reset = 0.2;
  c.jitter_ms = 50;
  for (uint64_t attempt = 0; attempt < 50; ++attempt) {
    const FaultDecision a = DecideFault(c, "klines?symbol=BTCUSDT", attempt);
    const FaultDecision b = DecideFault(c, "klines?symbol=BTCUSDT", attempt);
    CHECK(a.kind == b.kind);
    CHECK(a.latency_ms == b.latency_ms);
    CHECK(a.latency_ms <= 50);
  }
  // Roughly the configured share, and a different seed gives a different sequence.
  std::map<FaultKind, int> counts;
  int differ = 0;
  FaultConfig other = c;
  other.seed = 2;
  for (uint64_t attempt = 0; attempt < 4000; ++attempt) {
    const FaultKind k = DecideFault(c, "k", attempt).kind;
    ++counts[k];
    if (DecideFault(other, "k", attempt).kind != k) ++differ;
  }
  CHECK(counts[FaultKind::kServerError] > 600);
  CHECK(counts[FaultKind::kServerError] < 1000);
  CHECK(counts[FaultKind::kReset] > 600);
  CHECK(counts[FaultKind::kNone] > 2000);
  CHECK(counts[FaultKind::kHang] == 0);
  CHECK(differ > 1000);
}

TEST_CASE("probability 1 always picks that kind - 0 never faults") {
  FaultConfig c;
  CHECK(DecideFault(c, "k", 0).kind == FaultKind::kNone);
  c.hang = 1;
  for (uint64_t i = 0; i < 100; ++i) CHECK(DecideFault(c, "k", i).kind == FaultKind::kHang);
}

TEST_CASE("fault settings are validated and applied all or nothing") {
  FaultConfig c;
  CHECK(ApplyFaultsJson(R"({"truncated":0.5,"latency_ms":5,"endpoints":["klines","time"]})", &c)
            .ok());
  CHECK(c.truncated == 0.5);
  CHECK(c.latency_ms == 5);
  CHECK(c.endpoints == std::set<std::string>{"klines", "time"});
  const FaultConfig before = c;
  CHECK_FALSE(ApplyFaultsJson(R"({"html":0.6})", &c).ok());  // sum > 1
  CHECK_FALSE(ApplyFaultsJson(R"({"reset":-0.1})", &c).ok());
  CHECK_FALSE(ApplyFaultsJson(R"({"latency_ms":1,"bogus":1})", &c).ok());
  CHECK_FALSE(ApplyFaultsJson(R"({"endpoints":["trades"]})", &c).ok());
  CHECK_FALSE(ApplyFaultsJson("not json", &c).ok());
  CHECK_FALSE(ApplyFaultsJson("[1]", &c).ok());
  CHECK(c.latency_ms == before.latency_ms);
  CHECK(c.html == 0);
  const nlohmann::json j = nlohmann::json::parse(FaultsToJson(c));
  CHECK(j["truncated"] == 0.5);
  CHECK(j["seed"] == 1);
}

TEST_CASE("a malformed body is never valid JSON") {
  for (std::string body : {"[]", "{}", "[[1,\"2.00000000\",3]]", R"({"serverTime":1})", ""}) {
    CHECK_FALSE(nlohmann::json::accept(MalformBody(body)));
  }
  CHECK(ErrorPageHtml(503).find("503") != std::string::npos);
  CHECK(MaintenancePageHtml().starts_with("<!DOCTYPE html>"));
}

}  // namespace
}  // namespace qlir::sim
