#include "fetcher/shared_rate_state.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>
#include <vector>

#include "tests/test_util.h"

using namespace qlir::fetcher;
using qlir::testing::ScratchDir;

namespace {
constexpr int64_t kT0 = 1700000040000;  // a minute boundary
}

TEST_CASE("state survives in the file and is shared by two openers", "[shared_rate_state]") {
  ScratchDir dir;
  const std::string path = (dir.path() / "rate.state").string();
  RateLimiterOptions o{.weight_limit = 10, .window_ms = 60000};
  auto a = SharedRateState::Open(path, o);
  auto b = SharedRateState::Open(path, o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  for (int i = 0; i < 3; ++i) CHECK(*(*a)->Reserve(kT0, 2) == 0);
  for (int i = 0; i < 2; ++i) CHECK(*(*b)->Reserve(kT0, 2) == 0);
  CHECK(*(*a)->Reserve(kT0, 2) == 60000);
  CHECK(*(*b)->Reserve(kT0 + 30000, 2) == 30000);
  REQUIRE((*b)->Observe(kT0 + 1, kT0 + 1, {429, std::nullopt, 5}).ok());
  auto st = (*a)->Read();
  REQUIRE(st.ok());
  CHECK(st->pause_until_ms == kT0 + 5001);
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  CHECK(line == "qlir-rate v2 1700000040000 10 0 1700000045001 0 0");
}

TEST_CASE("a learned limit is shared through the file, and a v1 file still reads",
          "[shared_rate_state]") {
  ScratchDir dir;
  const std::string path = (dir.path() / "rate.state").string();
  std::ofstream(path) << "qlir-rate v1 1700000040000 4 0 0\n";
  RateLimiterOptions o{.weight_limit = 6000, .window_ms = 60000};
  auto a = SharedRateState::Open(path, o);
  auto b = SharedRateState::Open(path, o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto st = (*b)->Read();
  REQUIRE(st.ok());
  CHECK(st->used == 4);
  CHECK(st->limit == 0);
  // One process learns 10 per 10 s; the other one obeys it (4 were used already).
  REQUIRE((*a)->Learn(kT0, 10, 10000).ok());
  for (int i = 0; i < 3; ++i) CHECK(*(*b)->Reserve(kT0 + 1, 2) == 0);
  CHECK(*(*b)->Reserve(kT0 + 1, 2) > 0);
  st = (*a)->Read();
  REQUIRE(st.ok());
  CHECK(st->limit == 10);
  CHECK(st->window_ms == 10000);
  // The used-weight header of a 10 s window is read as such.
  REQUIRE(
      (*a)->ObserveResponse(kT0 + 10000, kT0 + 10000, 200, {{"x-mbx-used-weight-10s", "7"}}).ok());
  st = (*a)->Read();
  REQUIRE(st.ok());
  CHECK(st->used == 7);
}

TEST_CASE("a damaged state file reads as fresh", "[shared_rate_state]") {
  ScratchDir dir;
  const std::string path = (dir.path() / "rate.state").string();
  for (const char* junk :
       {"", "garbage", "qlir-rate v1 1 2", "qlir-rate v1 -5 3 0 4\n", "qlir-rate v2 1 2 0 3\n",
        "qlir-rate v3 1 2 0 3 4 5\n", "qlir-rate v2 1 2 0 3 4 5 6\n"}) {
    std::ofstream(path, std::ios::trunc) << junk;
    auto s = SharedRateState::Open(path, {.weight_limit = 10, .window_ms = 60000});
    REQUIRE(s.ok());
    CHECK(*(*s)->Reserve(kT0, 2) == 0);
    auto st = (*s)->Read();
    REQUIRE(st.ok());
    CHECK(st->used == 2);
  }
}

TEST_CASE("an unopenable path is an error naming it", "[shared_rate_state]") {
  auto s = SharedRateState::Open("/nonexistent-dir/x/rate.state", {});
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().find("/nonexistent-dir/x/rate.state") != std::string::npos);
}

TEST_CASE("threads and processes never over-reserve", "[shared_rate_state]") {
  ScratchDir dir;
  const std::string path = (dir.path() / "rate.state").string();
  RateLimiterOptions o{.weight_limit = 1000, .window_ms = 60000};
  // 3 child processes x 4 threads race for 500 grants of weight 2 in one window.
  std::vector<pid_t> kids;
  for (int p = 0; p < 3; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto s = SharedRateState::Open(path, o);
      if (!s.ok()) ::_exit(100);
      std::atomic<int> granted{0};
      std::vector<std::thread> ts;
      for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&] {
          for (int i = 0; i < 100; ++i) {
            auto w = (*s)->Reserve(kT0 + 10, 2);
            if (w.ok() && *w == 0) ++granted;
          }
        });
      }
      for (auto& t : ts) t.join();
      std::ofstream(dir.path() / ("grants." + std::to_string(p))) << granted.load();
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    REQUIRE(::waitpid(k, &status, 0) == k);
    REQUIRE(WIFEXITED(status));
  }
  int total = 0;
  for (int p = 0; p < 3; ++p) {
    int n = -1;
    std::ifstream(dir.path() / ("grants." + std::to_string(p))) >> n;
    REQUIRE(n >= 0);
    total += n;
  }
  CHECK(total == 500);
  auto s = SharedRateState::Open(path, o);
  REQUIRE(s.ok());
  auto st = (*s)->Read();
  REQUIRE(st.ok());
  // 1200 tries for 500 grants: exactly the budget was handed out, never more.
  CHECK(st->used == 1000);
  CHECK(*(*s)->Reserve(kT0 + 10, 2) > 0);
}

TEST_CASE("rate state per exchange host and per limit: spot weight, futures weight, funding",
          "[shared_rate_state]") {
  ScratchDir dir;
  const std::string base = (dir.path() / "rate.state").string();
  CHECK(HostOf("https://fapi.binance.com") == "fapi.binance.com");
  CHECK(HostOf("http://127.0.0.1:8080/x") == "127.0.0.1:8080");
  CHECK(RateStatePath(base, "api.binance.com", "weight") == base);
  CHECK(RateStatePath(base, "fapi.binance.com", "weight") == base + ".fapi.binance.com.weight");
  CHECK(RateStatePath(base, "fapi.binance.com", "fundingRate") ==
        base + ".fapi.binance.com.fundingRate");

  const qlir::Endpoint& klines = *qlir::FindEndpoint("klines");
  const qlir::Endpoint& funding = *qlir::FindEndpoint("fundingRate");
  RateLimiterOptions o{.weight_limit = 6000, .window_ms = 60000};
  auto spot = SharedRateState::Open(base, o);
  REQUIRE(spot.ok());
  RateStateSet set(base, o, spot->get());
  // klines spends the spot host's weight: the state already open at --rate-state.
  CHECK(*set.Weight(klines) == spot->get());
  CHECK(*set.Requests(klines) == spot->get());
  // fundingRate spends its own limit; the futures host's weight is a third state.
  SharedRateState* own = *set.Requests(funding);
  SharedRateState* futures = *set.Weight(funding);
  CHECK(own->path() == base + ".fapi.binance.com.fundingRate");
  CHECK(futures->path() == base + ".fapi.binance.com.weight");
  CHECK(*set.Requests(funding) == own);  // opened once
  CHECK(own->limiter().options().weight_limit == 500);
  CHECK(own->limiter().options().window_ms == 300000);
  CHECK_FALSE(own->limiter().options().read_used_weight);

  // 500 funding requests in a 5-minute window (unpaced options here), then a wait; the spot
  // and futures budgets are untouched.
  const int64_t t = kT0 / 300000 * 300000;
  for (int i = 0; i < 500; ++i) REQUIRE(*own->Reserve(t, 1) == 0);
  CHECK(*own->Reserve(t, 1) == 300000);
  CHECK((*spot)->Read()->used == 0);
  CHECK(futures->Read()->used == 0);
  // Another process sees the same funding count (the file).
  RateStateSet other(base, o);
  CHECK(*(*other.Requests(funding))->Reserve(t + 1, 1) == 299999);
  REQUIRE(futures->Learn(t, 2400, 60000).ok());
  CHECK((*spot)->Read()->limit == 0);  // the futures limit stays on the futures host
  CHECK(futures->Read()->limit == 2400);
}
